"""Single posts of a finished video: to the channel, through the interaction, as a link, in a DM, and
finding a post an interrupted delivery may already have made."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import discord

from bot.custom_ids import button_id
from bot.discord_ui import render
from bot.jobs.publisher import DeliveryResult, DeliveryRetry
from bot.results import HostedLink, ResultFiles, file_size, with_headroom
from db.records import JobRecord

log = logging.getLogger(__name__)

DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024
HISTORY_SEARCH_LIMIT = 50  # recent messages searched for an earlier post of a retried delivery
FOUND_NOTE = "found after an interrupted delivery"
_GONE = {10003, 10008, 50001, 50013}  # unknown channel/message, missing access/permissions
_WEBHOOK_GONE = {50027, 10015}  # invalid webhook token, unknown webhook


def refused(exc: discord.HTTPException) -> bool:
    """The destination is gone or closed to the bot (as opposed to a passing or a request problem)."""
    return exc.status in (403, 404) or exc.code in _GONE


def moves_on(exc: discord.HTTPException) -> bool:
    """Worth trying the next route: the destination refused, or the interaction's webhook is gone."""
    return refused(exc) or exc.code in _WEBHOOK_GONE


def passing(exc: discord.HTTPException) -> bool:
    return exc.status >= 500 or exc.status == 429


def retry_later(exc: discord.HTTPException) -> DeliveryRetry:
    return DeliveryRetry(f"Discord answered {exc.status}")


def mention_requester(job: JobRecord) -> discord.AllowedMentions:
    return discord.AllowedMentions(
        everyone=False, roles=False, users=[discord.Object(job.user_id)], replied_user=False
    )


def link_of(hosted: HostedLink | None) -> str | None:
    return render.link_text(hosted.url, hosted.expires_at) if hosted is not None else None


def is_result_of(message: discord.Message, job: JobRecord) -> bool:
    """A result post carries the job's buttons (custom ids hold the job id) and its embed footer."""
    wanted = button_id("extend", job.id)
    for row in message.components:
        for child in getattr(row, "children", ()):
            if getattr(child, "custom_id", None) == wanted:
                return True
    return any(render.is_result_embed_of(embed.footer.text, job.id) for embed in message.embeds)


class Poster:
    def __init__(
        self, client: discord.Client, results: ResultFiles, on_error: Callable[[discord.HTTPException], None]
    ) -> None:
        self.client = client
        self.results = results
        self.on_error = on_error

    def channel(self, job: JobRecord) -> discord.PartialMessageable:
        return self.client.get_partial_messageable(job.channel_id, guild_id=job.guild_id)

    async def search(self, where: discord.abc.Messageable, job: JobRecord) -> discord.Message | None:
        """The bot's result message for `job` among recent messages, if there is one."""
        me = self.client.user
        try:
            async for message in where.history(limit=HISTORY_SEARCH_LIMIT):
                if me is not None and message.author.id != me.id:
                    continue
                if is_result_of(message, job):
                    return message
        except discord.HTTPException as exc:
            self.on_error(exc)
        return None

    async def to_channel(self, job: JobRecord, path: Path) -> discord.Message:
        return await self.channel(job).send(
            render.ready_text(job),
            embed=render.result_embed(job),
            file=discord.File(path, filename=f"{job.id}.mp4"),
            view=render.result_buttons(job),
            allowed_mentions=mention_requester(job),
            nonce=job.delivery_nonce or job.id,  # Discord drops a repeat of this post after a crash
        )

    async def by_interaction(self, job: JobRecord, path: Path) -> discord.Message:
        assert job.interaction_token is not None and job.application_id is not None
        webhook = discord.Webhook.partial(job.application_id, job.interaction_token, client=self.client)
        return await webhook.send(
            render.ready_text(job),
            embed=render.result_embed(job),
            file=discord.File(path, filename=f"{job.id}.mp4"),
            view=render.result_buttons(job),
            allowed_mentions=mention_requester(job),
            wait=True,
        )

    async def link(self, job: JobRecord, text: str) -> discord.Message:
        return await self.channel(job).send(
            text,
            embed=render.result_embed(job),
            view=render.result_buttons(job),
            allowed_mentions=mention_requester(job),
            nonce=job.delivery_nonce or job.id,
        )

    async def to_dm(self, job: JobRecord, path: Path, note: str | None, original: Path) -> DeliveryResult:
        """The video in a DM: re-encoded to the DM limit, or linked, or (no public address) nowhere.
        Raises HTTPException when Discord refuses."""
        user = await self.client.fetch_user(job.user_id)
        dm = await user.create_dm()
        if job.delivery_attempts > 1:
            earlier = await self.search(dm, job)
            if earlier is not None:
                return DeliveryResult(earlier.id, dm.id, "dm", FOUND_NOTE)
        if await file_size(path) > DEFAULT_UPLOAD_LIMIT:
            fitted = await self.results.fit(job, original, with_headroom(DEFAULT_UPLOAD_LIMIT))
            if fitted is None:
                link = link_of(await self.results.host(job, original))
                if link is None:
                    return DeliveryResult(None, None, "none", "too large for a DM; kept on /job")
                message = await dm.send(
                    render.dm_link_text(job, link),
                    embed=render.result_embed(job),
                    view=render.result_buttons(job),
                    nonce=job.delivery_nonce or job.id,
                )
                return DeliveryResult(message.id, dm.id, "dm", "too large to upload; linked")
            path = fitted
        message = await dm.send(
            render.dm_intro(job),
            embed=render.result_embed(job),
            file=discord.File(path, filename=f"{job.id}.mp4"),
            view=render.result_buttons(job),
            nonce=job.delivery_nonce or job.id,
        )
        return DeliveryResult(message.id, dm.id, "dm", note)
