"""Telling members about their jobs on Discord: the progress message, the finished video, failures,
and audit lines. Implements `JobPublisher` for the engine.

Routes for the video, in order: the channel with the bot's token (idempotent thanks to Discord's
message nonce, and not limited to the interaction's 15 minutes); the interaction followup while the
token is young, when the channel refuses the bot or the file only fits the member's own larger limit;
a DM to the requester; and, when all fail, the result stays reachable with /job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import discord

from bot.custom_ids import button_id
from bot.jobs.publisher import DeliveryResult, DeliveryRetry
from bot.metrics import Metrics
from db.records import AuditEntry, JobRecord, JobState
from db.store import Store

log = logging.getLogger(__name__)

DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024
MAX_RESULT_DOWNLOAD = 512 * 1024 * 1024  # a generated clip is far smaller; refuse anything silly
PROGRESS_MIN_INTERVAL = 5.0  # seconds between edits of one progress message (Discord allows 5 per 5 s)
TOKEN_SAFETY_MARGIN = 60.0  # treat an interaction token as expired a minute early
_GONE = {10003, 10008, 50001, 50013}  # unknown channel/message, missing access/permissions

KIND_TITLES = {
    "motion": "Motion control",
    "text2video": "Text to video",
    "image2video": "Image to video",
    "extend": "Extended video",
}
STAGE_LINES = {
    "queued": "⏳ Queued",
    "generating": "🎬 Generating",
    "uploading": "📤 Uploading",
    "done": "✅ Done",
    "failed": "❌ Failed",
}
FAILURE_TEXT = {
    "invalid_request": "The provider refused the request: {message}",
    "content_policy": "The provider's content policy blocked this video: {message}",
    "auth": "The bot is misconfigured (the video provider refused its credentials); the moderators have "
    "been told.",
    "insufficient_credits": "The bot's video provider account has run out of credits; the moderators have "
    "been told.",
    "rate_limited": "The video provider is too busy right now: {message}",
    "transient": "The video provider did not answer properly: {message}",
    "failed": "The generation failed: {message}",
}

NO_MENTIONS = discord.AllowedMentions.none()


def failure_sentence(job: JobRecord) -> str:
    template = FAILURE_TEXT.get(job.error_category or "failed", FAILURE_TEXT["failed"])
    text = template.format(message=(job.error_message or "no reason given").rstrip("."))
    refund = f" Your {job.credits} credit{'s' if job.credits != 1 else ''} came back." if job.credits else ""
    return f"{text.rstrip('.')}.{refund}"


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def progress_text(job: JobRecord) -> str:
    title = KIND_TITLES.get(job.kind, job.kind)
    stage = "failed" if job.status is JobState.FAILED else job.progress_stage
    line = STAGE_LINES.get(stage, stage)
    if stage == "generating":
        started = job.submitted_at or job.created_at
        line += f" · started <t:{int(started)}:R>"
    elif stage == "done" and job.delivered_at and job.finished_at:
        line += f" · took {format_duration(job.finished_at - job.created_at)}"
    elif stage == "failed":
        line += f": {failure_sentence(job)}"
    return f"**{title}** `{job.id}` for <@{job.user_id}> — {line}"


def result_embed(job: JobRecord) -> discord.Embed:
    p = job.params
    embed = discord.Embed(title=KIND_TITLES.get(job.kind, job.kind), colour=discord.Colour.blurple())
    if p.get("prompt"):
        embed.description = str(p["prompt"])[:1000]
    for key, label in (
        ("mode", "Mode"),
        ("orientation", "Orientation"),
        ("aspect_ratio", "Aspect ratio"),
        ("duration", "Duration"),
        ("model", "Model"),
        ("cfg_scale", "CFG scale"),
    ):
        if p.get(key) not in (None, ""):
            embed.add_field(name=label, value=str(p[key]), inline=True)
    if job.result_duration:
        embed.add_field(name="Length", value=f"{job.result_duration:.1f}s", inline=True)
    timing = []
    if job.submitted_at is not None and job.finished_at is not None:
        timing.append(f"generated in {format_duration(job.finished_at - job.submitted_at)}")
    if job.finished_at is not None:
        timing.append(f"total {format_duration(job.finished_at - job.created_at)}")
    if timing:
        embed.add_field(name="Timing", value=", ".join(timing), inline=False)
    embed.set_footer(text=f"Job {job.id} · {job.credits} credit{'s' if job.credits != 1 else ''}")
    return embed


def result_buttons(job: JobRecord) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(discord.ui.Button(label="Extend", emoji="➕", custom_id=button_id("extend", job.id)))
    view.add_item(discord.ui.Button(label="Re-run", emoji="🔁", custom_id=button_id("rerun", job.id)))
    view.add_item(
        discord.ui.Button(
            label="Delete", emoji="🗑️", style=discord.ButtonStyle.danger, custom_id=button_id("delete", job.id)
        )
    )
    return view


@dataclass
class _Upload:
    path: Path
    note: str | None = None


class DiscordPublisher:
    def __init__(
        self,
        client: discord.Client,
        store: Store,
        metrics: Metrics,
        media_dir: Path,
        *,
        public_base_url: str | None = None,
        clock: Callable[[], float] = time.time,
        fit_video: Callable[[Path, Path, int], bool] | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self.metrics = metrics
        self.results_dir = media_dir / "results"
        self.public_base_url = public_base_url
        self.clock = clock
        self._fit_video = fit_video
        self._last_edit: dict[str, float] = {}
        self._progress_locks: dict[str, asyncio.Lock] = {}
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600, sock_read=60))
        return self._session

    # ---- progress --------------------------------------------------------------------------

    async def progress(self, job: JobRecord, *, force: bool = False) -> None:
        lock = self._progress_locks.setdefault(job.id, asyncio.Lock())
        async with lock:
            now = time.monotonic()
            terminal = job.status in (JobState.DELIVERED, JobState.FAILED)
            last = self._last_edit.get(job.id)
            if last is not None and not (force or terminal) and now - last < PROGRESS_MIN_INTERVAL:
                return
            self._last_edit[job.id] = now
            content = progress_text(job)
            channel = self.client.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
            if job.progress_message_id is None:
                if terminal:
                    return  # the result or failure message says it all
                try:
                    message = await channel.send(content, allowed_mentions=NO_MENTIONS)
                except discord.HTTPException as exc:
                    self.metrics.discord_errors.labels(status=str(exc.status)).inc()
                    return
                await self.store.set_progress_message(job.id, message.id)
            else:
                try:
                    await channel.get_partial_message(job.progress_message_id).edit(
                        content=content, allowed_mentions=NO_MENTIONS
                    )
                except discord.HTTPException as exc:
                    self.metrics.discord_errors.labels(status=str(exc.status)).inc()
            if terminal:
                self._last_edit.pop(job.id, None)
                self._progress_locks.pop(job.id, None)

    # ---- failure ---------------------------------------------------------------------------

    async def failed(self, job: JobRecord) -> None:
        if job.progress_message_id is not None:
            await self.progress(job, force=True)
            return
        channel = self.client.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
        try:
            await channel.send(
                progress_text(job),
                allowed_mentions=discord.AllowedMentions(
                    everyone=False, roles=False, users=[discord.Object(job.user_id)]
                ),
            )
        except discord.HTTPException as exc:
            self.metrics.discord_errors.labels(status=str(exc.status)).inc()

    # ---- delivery --------------------------------------------------------------------------

    def _token_is_young(self, job: JobRecord) -> bool:
        return bool(
            job.interaction_token
            and job.application_id
            and job.interaction_expires_at
            and job.interaction_expires_at - TOKEN_SAFETY_MARGIN > self.clock()
        )

    def _channel_limit(self, job: JobRecord) -> int:
        guild = self.client.get_guild(job.guild_id) if job.guild_id else None
        return guild.filesize_limit if guild is not None else DEFAULT_UPLOAD_LIMIT

    async def deliver(self, job: JobRecord) -> DeliveryResult:
        assert job.result_url is not None
        path = await self._download(job)
        try:
            return await self._post(job, path)
        finally:
            await asyncio.to_thread(_cleanup, path)

    async def _download(self, job: JobRecord) -> Path:
        """Stream the result to disk, never holding it whole in memory."""
        assert job.result_url is not None
        self.results_dir.mkdir(parents=True, exist_ok=True)
        path = self.results_dir / f"{job.id}.mp4"
        size = 0
        try:
            async with self.session.get(job.result_url) as resp:
                if resp.status >= 500 or resp.status == 429:
                    raise DeliveryRetry(f"result download answered {resp.status}")
                if resp.status != 200:
                    raise DeliveryRetry(f"result download answered {resp.status}")
                if (resp.content_length or 0) > MAX_RESULT_DOWNLOAD:
                    raise DeliveryRetry("result is larger than the download cap")
                with path.open("wb") as out:
                    async for chunk in resp.content.iter_chunked(256 * 1024):
                        size += len(chunk)
                        if size > MAX_RESULT_DOWNLOAD:
                            raise DeliveryRetry("result is larger than the download cap")
                        await asyncio.to_thread(out.write, chunk)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryRetry(f"result download failed ({type(exc).__name__})") from exc
        return path

    async def _fit(self, job: JobRecord, path: Path, limit: int) -> Path | None:
        """A copy re-encoded under `limit`, or None when that would not be watchable."""
        if self._fit_video is None:
            from bot.media import fit_video_to_size

            fit: Callable[[Path, Path, int], bool] = fit_video_to_size
        else:
            fit = self._fit_video
        target = path.with_name(f"{job.id}.fit.mp4")
        ok = await asyncio.to_thread(fit, path, target, limit)
        return target if ok and target.exists() and target.stat().st_size <= limit else None

    async def _post(self, job: JobRecord, path: Path) -> DeliveryResult:
        size = await file_size(path)
        channel_limit = self._channel_limit(job)
        young = self._token_is_young(job)
        interaction_limit = int(job.params.get("attachment_size_limit") or DEFAULT_UPLOAD_LIMIT)
        upload = path
        note: str | None = None
        route = "channel"
        if size > channel_limit:
            if young and size <= interaction_limit:
                route = "interaction"
            else:
                target_limit = max(channel_limit, interaction_limit if young else 0)
                fitted = await self._fit(job, path, int(target_limit * 0.97))
                if fitted is None:
                    return await self._post_link(job, size, channel_limit)
                upload = fitted
                note = f"re-encoded from {size / 1048576:.1f} MiB to fit the upload limit"
                route = "interaction" if young and await file_size(fitted) > channel_limit else "channel"
        try:
            if route == "channel":
                try:
                    return await self._post_to_channel(job, upload, note)
                except discord.HTTPException as exc:
                    if not (exc.status in (403, 404) or exc.code in _GONE) or not young:
                        raise
                    log.info("job %s: the channel refused the bot; using the interaction", job.id)
            return await self._post_by_interaction(job, upload, note)
        except discord.HTTPException as exc:
            self.metrics.discord_errors.labels(status=str(exc.status)).inc()
            if exc.status == 413:
                smaller = int(min(channel_limit, await file_size(upload)) * 0.8)
                fitted = await self._fit(job, upload, smaller)
                if fitted is not None:
                    return await self._post_to_channel(job, fitted, "re-encoded to fit the upload limit")
                return await self._post_link(job, size, channel_limit)
            if exc.status in (403, 404) or exc.code in _GONE or exc.code == 50027:
                return await self._post_to_dm(job, upload, note)
            if exc.status >= 500 or exc.status == 429:
                raise DeliveryRetry(f"Discord answered {exc.status}") from exc
            raise

    def _content(self, job: JobRecord) -> str:
        return f"<@{job.user_id}> your video is ready!"

    def _mention_requester(self, job: JobRecord) -> discord.AllowedMentions:
        return discord.AllowedMentions(everyone=False, roles=False, users=[discord.Object(job.user_id)])

    async def _post_to_channel(self, job: JobRecord, path: Path, note: str | None) -> DeliveryResult:
        channel = self.client.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
        message = await channel.send(
            self._content(job),
            embed=result_embed(job),
            file=discord.File(path, filename=f"{job.id}.mp4"),
            view=result_buttons(job),
            allowed_mentions=self._mention_requester(job),
            nonce=job.delivery_nonce or job.id,  # Discord drops a repeat of this post after a crash
        )
        await self._finish_progress(job)
        return DeliveryResult(message.id, job.channel_id, "channel", note)

    async def _post_by_interaction(self, job: JobRecord, path: Path, note: str | None) -> DeliveryResult:
        assert job.interaction_token is not None and job.application_id is not None
        webhook = discord.Webhook.partial(job.application_id, job.interaction_token, client=self.client)
        message = await webhook.send(
            self._content(job),
            embed=result_embed(job),
            file=discord.File(path, filename=f"{job.id}.mp4"),
            view=result_buttons(job),
            allowed_mentions=self._mention_requester(job),
            wait=True,
        )
        await self._finish_progress(job)
        return DeliveryResult(message.id, job.channel_id, "interaction", note)

    async def _post_to_dm(self, job: JobRecord, path: Path, note: str | None) -> DeliveryResult:
        try:
            user = await self.client.fetch_user(job.user_id)
            dm = await user.create_dm()
            if await file_size(path) > DEFAULT_UPLOAD_LIMIT:
                fitted = await self._fit(job, path, int(DEFAULT_UPLOAD_LIMIT * 0.97))
                if fitted is None:
                    return DeliveryResult(None, None, "none", "too large for a DM; kept on /job")
                path = fitted
            message = await dm.send(
                f"I couldn't post in <#{job.channel_id}>, so here is your video.",
                embed=result_embed(job),
                file=discord.File(path, filename=f"{job.id}.mp4"),
                view=result_buttons(job),
            )
        except discord.HTTPException as exc:
            self.metrics.discord_errors.labels(status=str(exc.status)).inc()
            if exc.status >= 500 or exc.status == 429:
                raise DeliveryRetry(f"Discord answered {exc.status}") from exc
            log.info("job %s: channel and DMs closed; the result stays on /job", job.id)
            return DeliveryResult(None, None, "none", "channel and DMs unavailable; see /job")
        return DeliveryResult(message.id, dm.id, "dm", note)

    async def _post_link(self, job: JobRecord, size: int, limit: int) -> DeliveryResult:
        """Too big to upload even re-encoded: post the result's address instead."""
        channel = self.client.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
        text = (
            f"<@{job.user_id}> your video is ready, but at {size / 1048576:.1f} MiB it is over this "
            f"server's {limit / 1048576:.0f} MiB upload limit. Use `/job {job.id}` to get it."
        )
        message = await channel.send(
            text,
            embed=result_embed(job),
            view=result_buttons(job),
            allowed_mentions=self._mention_requester(job),
            nonce=job.delivery_nonce or job.id,
        )
        await self._finish_progress(job)
        return DeliveryResult(message.id, job.channel_id, "channel", "too large to upload; linked")

    async def _finish_progress(self, job: JobRecord) -> None:
        if job.progress_message_id is None:
            return
        channel = self.client.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
        title = KIND_TITLES.get(job.kind, job.kind)
        with contextlib.suppress(discord.HTTPException):
            await channel.get_partial_message(job.progress_message_id).edit(
                content=f"**{title}** `{job.id}` for <@{job.user_id}> — {STAGE_LINES['done']}",
                allowed_mentions=NO_MENTIONS,
            )

    # ---- audit -----------------------------------------------------------------------------

    async def audit(self, entry: AuditEntry) -> bool:
        if entry.guild_id is None:
            return True
        settings = await self.store.get_guild_settings(entry.guild_id)
        if settings.log_channel_id is None:
            return True
        actor = f"<@{entry.actor_id}>" if entry.actor_id else "the bot"
        line = f"<t:{int(entry.created_at)}:f> **{entry.action}** · {actor} · {entry.detail}"
        channel = self.client.get_partial_messageable(settings.log_channel_id, guild_id=entry.guild_id)
        try:
            await channel.send(line[:2000], allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as exc:
            if exc.status >= 500 or exc.status == 429:
                return False
            log.warning("cannot post to the audit log channel of guild %s (%s)", entry.guild_id, exc.status)
        return True


async def file_size(path: Path) -> int:
    return (await asyncio.to_thread(path.stat)).st_size


def _cleanup(path: Path) -> None:
    for candidate in (path, path.with_name(path.stem + ".fit.mp4")):
        candidate.unlink(missing_ok=True)
