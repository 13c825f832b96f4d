"""Telling members about their jobs on Discord: the progress message, the finished video, failures,
and audit lines. Implements `JobPublisher` for the engine.

Routes for the video, in order: the channel with the bot's token (idempotent thanks to Discord's
message nonce, and not limited to the interaction's 15 minutes); the interaction followup while the
token is young, when the channel refuses the bot or the file only fits the member's own larger limit;
a DM to the requester; and, when all fail, the result stays reachable with /job. A video over the
upload limit is re-encoded to fit; one that cannot be shrunk and stay watchable is posted as a link to
the bot's own copy (PUBLIC_BASE_URL), with the link's expiry. A delivery retried after an interruption
first looks for the post it may already have made.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import discord

from bot.custom_ids import button_id
from bot.jobs.hosting import HOSTED_RESULTS_DIR, RESULT_LINK_LIFETIME, result_link_token
from bot.jobs.publisher import DeliveryResult, DeliveryRetry
from bot.metrics import Metrics
from db.records import AuditEntry, JobRecord, JobState
from db.store import Store

log = logging.getLogger(__name__)

MIB = 1024 * 1024
DEFAULT_UPLOAD_LIMIT = 10 * MIB
KNOWN_UPLOAD_LIMITS = (10 * MIB, 50 * MIB, 100 * MIB)  # every user and bot; boost tiers 2 and 3
FIT_HEADROOM = 0.97  # re-encode to a little under the limit: multipart overhead, rounding
READY_WAIT = 30.0  # seconds a delivery resumed at start-up waits for the gateway's view of the server
HISTORY_SEARCH_LIMIT = 50  # recent messages searched for an earlier post of a retried delivery
MAX_RESULT_DOWNLOAD = 512 * 1024 * 1024  # a generated clip is far smaller; refuse anything silly
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
    elif stage == "done" and job.delivered_via == "none":
        line += f" · the video could not be posted here; `/job {job.id}` has the details"
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
        self.hosted_dir = media_dir / HOSTED_RESULTS_DIR
        self.public_base_url = public_base_url
        self.clock = clock
        self._fit_video = fit_video
        self._shown: dict[str, str] = {}  # the progress text last shown, per job
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

    def _count(self, exc: discord.HTTPException) -> None:
        self.metrics.discord_errors.labels(status=str(exc.status)).inc()

    # ---- progress --------------------------------------------------------------------------

    async def progress(self, job: JobRecord, *, force: bool = False) -> None:
        """Show the job's stage in its one progress message.

        Only a change on screen is sent: a job moves through a handful of stages (queued, generating,
        uploading, done or failed), so however often a provider reports, a message is edited a few
        times at most, far inside Discord's rate limits.
        """
        lock = self._progress_locks.setdefault(job.id, asyncio.Lock())
        async with lock:
            # The caller's record may be stale (a concurrent call may have posted the progress message or
            # the job may have moved on): always show what the store says now.
            job = await self.store.get_job(job.id) or job
            terminal = job.status in (JobState.DELIVERED, JobState.FAILED)
            content = progress_text(job)
            if not force and self._shown.get(job.id) == content:
                return
            self._shown[job.id] = content
            channel = self.client.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
            if job.progress_message_id is None:
                if terminal:
                    return  # the result or failure message says it all
                try:
                    message = await channel.send(content, allowed_mentions=NO_MENTIONS)
                except discord.HTTPException as exc:
                    self._count(exc)
                    return
                await self.store.set_progress_message(job.id, message.id)
            else:
                try:
                    await channel.get_partial_message(job.progress_message_id).edit(
                        content=content, allowed_mentions=NO_MENTIONS
                    )
                except discord.HTTPException as exc:
                    self._count(exc)
            if terminal:
                self._shown.pop(job.id, None)

    # ---- failure ---------------------------------------------------------------------------

    async def failed(self, job: JobRecord) -> None:
        """Show the failure in the progress message, and tell the member (a mention, so they hear of it)."""
        await self.progress(job, force=True)
        current = await self.store.get_job(job.id) or job
        text = f"<@{job.user_id}> {failure_sentence(current)}"
        reference = None
        if current.progress_message_id is not None:
            reference = discord.MessageReference(
                message_id=current.progress_message_id, channel_id=job.channel_id, fail_if_not_exists=False
            )
        channel = self.client.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
        try:
            if reference is not None:
                await channel.send(text, reference=reference, allowed_mentions=self._mention_requester(job))
            else:
                await channel.send(text, allowed_mentions=self._mention_requester(job))
            return
        except discord.HTTPException as exc:
            self._count(exc)
            if not _refused(exc):
                return
        try:  # the channel is gone or closed to the bot: a DM, when the member accepts them
            user = await self.client.fetch_user(job.user_id)
            await user.send(
                f"Your video job `{job.id}` in <#{job.channel_id}> failed. {failure_sentence(current)}"
            )
        except discord.HTTPException as exc:
            self._count(exc)

    # ---- delivery --------------------------------------------------------------------------

    def _token_is_young(self, job: JobRecord) -> bool:
        return bool(
            job.interaction_token
            and job.application_id
            and job.interaction_expires_at
            and job.interaction_expires_at - TOKEN_SAFETY_MARGIN > self.clock()
        )

    async def _channel_limit(self, job: JobRecord) -> int:
        """The server's upload limit for the bot, read now (boosts change it)."""
        if job.guild_id is None:
            return DEFAULT_UPLOAD_LIMIT
        guild = self.client.get_guild(job.guild_id)
        if guild is None and not self.client.is_ready():
            # Deliveries resumed at start-up run before the gateway has told us about the server.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.client.wait_until_ready(), READY_WAIT)
            guild = self.client.get_guild(job.guild_id)
        return guild.filesize_limit if guild is not None else DEFAULT_UPLOAD_LIMIT

    async def deliver(self, job: JobRecord) -> DeliveryResult:
        assert job.result_url is not None
        if job.delivery_attempts > 1:
            # An earlier attempt may have posted and then been cut short (a crash, a lost answer)
            # before the store heard of it: look before posting again.
            found = await self._find_existing(job)
            if found is not None:
                await self._finish_progress(job)
                return found
        path = await self._download(job)
        try:
            return await self._post(job, path)
        finally:
            await asyncio.to_thread(_cleanup, self.results_dir, job.id)

    @contextlib.asynccontextmanager
    async def result_for_upload(self, job: JobRecord, limit: int) -> AsyncIterator[Path | str]:
        """The job's video ready to upload under `limit` (a file, removed afterwards), or, when it
        cannot be made to fit, a sentence with a link to the bot's own copy. For /job's re-post.

        Raises DeliveryRetry when the provider no longer serves the result.
        """
        path = await self._download(job)
        try:
            size = await file_size(path)
            if size <= limit:
                yield path
                return
            fitted = await self._fit(job, path, int(limit * FIT_HEADROOM))
            if fitted is not None:
                yield fitted
                return
            link = await self._host(job, path)
            over = f"The video is {size / MIB:.1f} MiB, over the {limit / MIB:.0f} MiB upload limit here"
            yield f"{over}; it is here instead: {link}" if link else f"{over}, so it can't be shown again."
        finally:
            await asyncio.to_thread(_cleanup, self.results_dir, job.id)

    async def _find_existing(self, job: JobRecord) -> DeliveryResult | None:
        channel = self.client.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
        message = await self._search(channel, job)
        if message is not None:
            via = "interaction" if message.webhook_id is not None else "channel"
            log.info("job %s: its video was already posted (message %s)", job.id, message.id)
            return DeliveryResult(message.id, job.channel_id, via, "found after an interrupted delivery")
        return None

    async def _search(self, channel: discord.abc.Messageable, job: JobRecord) -> discord.Message | None:
        """The bot's result message for `job` among the channel's recent messages, if there is one."""
        me = self.client.user
        try:
            async for message in channel.history(limit=HISTORY_SEARCH_LIMIT):
                if me is not None and message.author.id != me.id:
                    continue
                if _is_result_of(message, job):
                    return message
        except discord.HTTPException as exc:
            self._count(exc)
        return None

    async def _download(self, job: JobRecord) -> Path:
        """Stream the result to disk, never holding it whole in memory."""
        assert job.result_url is not None
        self.results_dir.mkdir(parents=True, exist_ok=True)
        path = self.results_dir / f"{job.id}.mp4"
        size = 0
        try:
            async with self.session.get(job.result_url) as resp:
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
        target = path.with_name(f"{job.id}.fit{limit}.mp4")  # never the file being read
        started = time.monotonic()
        ok = await asyncio.to_thread(fit, path, target, limit)
        fitted = target if ok and target.exists() and target.stat().st_size <= limit else None
        log.info(
            "job %s: re-encoding for a %d-byte limit %s in %.1fs",
            job.id,
            limit,
            f"gave {fitted.stat().st_size} bytes" if fitted else "did not fit",
            time.monotonic() - started,
        )
        return fitted

    async def _post(self, job: JobRecord, path: Path) -> DeliveryResult:
        size = await file_size(path)
        channel_limit = await self._channel_limit(job)
        young = self._token_is_young(job)
        interaction_limit = int(job.params.get("attachment_size_limit") or DEFAULT_UPLOAD_LIMIT)
        upload = path
        note: str | None = None
        route = "channel"
        if size > channel_limit:
            if young and size <= interaction_limit:
                route = "interaction"  # fits the member's own larger limit as it is
            else:
                target_limit = max(channel_limit, interaction_limit if young else 0)
                fitted = await self._fit(job, path, int(target_limit * FIT_HEADROOM))
                if fitted is None:
                    return await self._post_link(job, path, size, channel_limit)
                upload = fitted
                note = f"re-encoded from {size / MIB:.1f} MiB to fit the upload limit"
                route = "interaction" if young and await file_size(fitted) > channel_limit else "channel"
        try:
            return await self._post_file(job, upload, note, route, young)
        except discord.HTTPException as exc:
            self._count(exc)
            if exc.status != 413:
                return await self._after_refusal(job, exc, upload, note, path, size)
        # 413: Discord's real limit is below what it told us (a boost just lapsed, an optimistic
        # attachment_size_limit); aim for the next known limit under the refused size, else link.
        fitted = await self._fit(job, path, limit_below(await file_size(upload)))
        if fitted is None:
            return await self._post_link(job, path, size, channel_limit)
        note = f"re-encoded from {size / MIB:.1f} MiB to fit the upload limit"
        try:
            return await self._post_to_channel(job, fitted, note)
        except discord.HTTPException as exc:
            self._count(exc)
            return await self._after_refusal(job, exc, fitted, note, path, size)

    async def _post_file(
        self, job: JobRecord, path: Path, note: str | None, route: str, young: bool
    ) -> DeliveryResult:
        if route == "channel":
            try:
                return await self._post_to_channel(job, path, note)
            except discord.HTTPException as exc:
                if not (young and _refused(exc)):
                    raise
                self._count(exc)
                log.info("job %s: the channel refused the bot (%s); using the interaction", job.id, exc.code)
        return await self._post_by_interaction(job, path, note)

    async def _after_refusal(
        self,
        job: JobRecord,
        exc: discord.HTTPException,
        upload: Path,
        note: str | None,
        original: Path,
        size: int,
    ) -> DeliveryResult:
        """Where to go after Discord said no to a post: a DM, a retry later, or nowhere."""
        if _refused(exc) or exc.code in (50027, 10015):
            return await self._post_to_dm(job, upload, note, original, size)
        if exc.status >= 500 or exc.status == 429:
            raise DeliveryRetry(f"Discord answered {exc.status}") from exc
        raise exc

    def _content(self, job: JobRecord) -> str:
        return f"<@{job.user_id}> your video is ready!"

    def _mention_requester(self, job: JobRecord) -> discord.AllowedMentions:
        return discord.AllowedMentions(
            everyone=False, roles=False, users=[discord.Object(job.user_id)], replied_user=False
        )

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

    async def _post_to_dm(
        self, job: JobRecord, path: Path, note: str | None, original: Path, size: int
    ) -> DeliveryResult:
        try:
            user = await self.client.fetch_user(job.user_id)
            dm = await user.create_dm()
            if job.delivery_attempts > 1:
                earlier = await self._search(dm, job)
                if earlier is not None:
                    return DeliveryResult(earlier.id, dm.id, "dm", "found after an interrupted delivery")
            intro = f"I couldn't post in <#{job.channel_id}>, so here is your video."
            if await file_size(path) > DEFAULT_UPLOAD_LIMIT:
                fitted = await self._fit(job, original, int(DEFAULT_UPLOAD_LIMIT * FIT_HEADROOM))
                if fitted is None:
                    link = await self._host(job, original)
                    if link is None:
                        return DeliveryResult(None, None, "none", "too large for a DM; kept on /job")
                    message = await dm.send(
                        f"{intro[:-1]}: it is too large to upload, so here is a link. {link}",
                        embed=result_embed(job),
                        view=result_buttons(job),
                        nonce=job.delivery_nonce or job.id,
                    )
                    return DeliveryResult(message.id, dm.id, "dm", "too large to upload; linked")
                path = fitted
            message = await dm.send(
                intro,
                embed=result_embed(job),
                file=discord.File(path, filename=f"{job.id}.mp4"),
                view=result_buttons(job),
                nonce=job.delivery_nonce or job.id,
            )
        except discord.HTTPException as exc:
            self._count(exc)
            if exc.status >= 500 or exc.status == 429:
                raise DeliveryRetry(f"Discord answered {exc.status}") from exc
            log.info("job %s: channel and DMs closed; the result stays on /job", job.id)
            return DeliveryResult(None, None, "none", "channel and DMs unavailable; see /job")
        return DeliveryResult(message.id, dm.id, "dm", note)

    async def _host(self, job: JobRecord, original: Path) -> str | None:
        """Keep the original where the listener serves it; the link and its expiry, or None when the bot
        has no public address (PUBLIC_BASE_URL unset)."""
        if self.public_base_url is None:
            return None
        target = self.hosted_dir / job.id / f"{job.id}.mp4"

        def keep() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(original, target)

        await asyncio.to_thread(keep)
        expires = int((job.finished_at or self.clock()) + RESULT_LINK_LIFETIME)
        token = result_link_token(job.callback_token)
        url = f"{self.public_base_url}/results/{job.id}/{token}/{job.id}.mp4"
        return f"{url} (the link works until <t:{expires}:f>)"

    async def _post_link(self, job: JobRecord, original: Path, size: int, limit: int) -> DeliveryResult:
        """Too big to upload even re-encoded: post a link to our own copy (never the provider's signed
        URL), or say where to find the job when the bot has no public address."""
        link = await self._host(job, original)
        over = f"{size / MIB:.1f} MiB, over this server's {limit / MIB:.0f} MiB upload limit"
        if link is not None:
            text = (
                f"<@{job.user_id}> your video is ready! At {over} and too large to shrink without "
                f"ruining it, it is here instead: {link}"
            )
            note = "too large to upload; linked"
        else:
            text = (
                f"<@{job.user_id}> your video is ready, but at {over} it could not be shrunk to fit "
                f"without ruining it. `/job {job.id}` has its details."
            )
            note = "too large to upload; not posted"
        channel = self.client.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
        try:
            message = await channel.send(
                text,
                embed=result_embed(job),
                view=result_buttons(job),
                allowed_mentions=self._mention_requester(job),
                nonce=job.delivery_nonce or job.id,
            )
        except discord.HTTPException as exc:
            self._count(exc)
            if _refused(exc):
                return await self._post_to_dm(job, original, note, original, size)
            if exc.status >= 500 or exc.status == 429:
                raise DeliveryRetry(f"Discord answered {exc.status}") from exc
            raise
        await self._finish_progress(job)
        return DeliveryResult(message.id, job.channel_id, "channel", note)

    async def _finish_progress(self, job: JobRecord) -> None:
        current = await self.store.get_job(job.id) or job  # the progress message may be newer than `job`
        if current.progress_message_id is None:
            return
        channel = self.client.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
        title = KIND_TITLES.get(job.kind, job.kind)
        try:
            await channel.get_partial_message(current.progress_message_id).edit(
                content=f"**{title}** `{job.id}` for <@{job.user_id}> — {STAGE_LINES['done']}",
                allowed_mentions=NO_MENTIONS,
            )
        except discord.HTTPException as exc:
            self._count(exc)  # the video is posted; a stale progress line is not worth failing for

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


def limit_below(refused_size: int) -> int:
    """The byte budget to re-encode for after Discord refused a file of `refused_size` bytes: the
    largest upload limit Discord knows (10, 50, 100 MiB) under that size, with headroom."""
    known = [limit for limit in KNOWN_UPLOAD_LIMITS if limit < refused_size]
    return int(max(known) * FIT_HEADROOM) if known else int(refused_size * 0.8)


def _refused(exc: discord.HTTPException) -> bool:
    """The destination is gone or closed to the bot (as opposed to a passing or a request problem)."""
    return exc.status in (403, 404) or exc.code in _GONE


def _is_result_of(message: discord.Message, job: JobRecord) -> bool:
    """A result post carries the job's buttons (custom ids hold the job id) and its embed footer."""
    wanted = button_id("extend", job.id)
    for row in message.components:
        for child in getattr(row, "children", ()):
            if getattr(child, "custom_id", None) == wanted:
                return True
    return any((embed.footer.text or "").startswith(f"Job {job.id} ") for embed in message.embeds)


async def file_size(path: Path) -> int:
    return (await asyncio.to_thread(path.stat)).st_size


def _cleanup(directory: Path, job_id: str) -> None:
    """The download and every re-encoded copy of it."""
    for candidate in directory.glob(f"{job_id}.*"):
        candidate.unlink(missing_ok=True)
