"""Telling members about their jobs on Discord: the progress message, the finished video, failures and
audit lines. `DiscordPublisher` implements the engine's `JobPublisher`.

A video over the upload limit is re-encoded to fit; one that cannot be shrunk and stay watchable is
posted as a link to the bot's own copy (PUBLIC_BASE_URL), with the link's expiry. Where it goes is
planned by `bot.discord_ui.routes`. A delivery retried after an interruption first looks for the post
it may already have made.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path

import discord

from bot.discord_ui import queue_text, render
from bot.discord_ui.audit_poster import AuditPoster
from bot.discord_ui.limits import fit_content
from bot.discord_ui.posting import (
    DEFAULT_UPLOAD_LIMIT,
    FOUND_NOTE,
    Poster,
    link_of,
    mention_requester,
    moves_on,
    passing,
    refused,
    retry_later,
)
from bot.discord_ui.progress import ProgressBoard
from bot.discord_ui.routes import Route, RouteFacts, plan_routes
from bot.downloads import Downloader, DownloadLimits
from bot.jobs.hosting import JobHosting
from bot.jobs.inputs import InputStore
from bot.jobs.line import Standing
from bot.jobs.publisher import DeliveryResult
from bot.jobs.queue import CancelReason
from bot.metrics import Metrics
from bot.results import FitVideo, ResultFiles, file_size, limit_below, with_headroom
from db.records import AuditEntry, JobRecord
from db.store import Store

log = logging.getLogger(__name__)

READY_WAIT = 30.0  # seconds a delivery resumed at start-up waits for the gateway's view of the server
TOKEN_SAFETY_MARGIN = 60.0  # treat an interaction token as expired a minute early


@dataclass(slots=True)
class Delivery:
    """One delivery attempt under way: what is known, and the file it would upload now."""

    job: JobRecord
    original: Path
    size: int  # of the original
    channel_limit: int
    facts: RouteFacts
    upload: Path
    note: str | None = None
    refitted: bool = False  # after a 413, once


class DiscordPublisher:
    def __init__(
        self,
        client: discord.Client,
        store: Store,
        metrics: Metrics,
        media_dir: Path,
        *,
        downloader: Downloader,
        result_limits: DownloadLimits,
        public_base_url: str | None = None,
        clock: Callable[[], float] = time.time,
        fit_video: FitVideo | None = None,
        rest_only: bool = False,
        inputs: InputStore | None = None,
    ) -> None:
        self.client = client
        # A worker process talks to Discord by REST alone: no gateway, so no cached view of servers.
        self.rest_only = rest_only
        self.store = store
        self.metrics = metrics
        self.clock = clock
        # The bot's own InputStore, so hosted copies count in the media folder's bytes.
        hosting = JobHosting(store, inputs or InputStore(media_dir), public_base_url, clock)
        self.results = ResultFiles(media_dir, hosting, downloader, result_limits, fit_video=fit_video)
        self.board = ProgressBoard(client, store, self._count)
        self.poster = Poster(client, self.results, self._count)
        self.audit_poster = AuditPoster(client, store)

    def _count(self, exc: discord.HTTPException) -> None:
        self.metrics.discord_errors.labels(status=str(exc.status)).inc()

    async def progress(
        self, job: JobRecord, standing: Standing | None = None, *, force: bool = False
    ) -> None:
        await self.board.show(job, force=force, standing=standing)

    async def audit(self, entry: AuditEntry) -> bool:
        return await self.audit_poster.post(entry)

    # ---- failure ---------------------------------------------------------------------------

    async def failed(self, job: JobRecord) -> None:
        """Show the failure in the progress message, and tell the member (a mention, so they hear of it)."""
        await self.progress(job, force=True)
        current = await self.store.get_job(job.id) or job
        await self._tell(current, render.failed_text(current), render.failed_dm_text(current))

    async def cancelled(self, job: JobRecord) -> None:
        """Show it in the progress message; when someone else took it out of the line, tell the member."""
        await self.progress(job, force=True)
        if job.error_message in (CancelReason.MODERATOR, CancelReason.WAIT_LIMIT):
            notice = queue_text.cancelled_notice(job)
            await self._tell(job, notice, notice)

    async def _tell(self, job: JobRecord, text: str, dm_text: str) -> None:
        """Post `text` in the job's channel, in reply to its progress message, mentioning the member;
        a DM with `dm_text` when the channel refuses the bot."""
        channel = self.poster.channel(job)
        text, mentions = fit_content(text), mention_requester(job)
        try:
            if job.progress_message_id is None:
                await channel.send(text, allowed_mentions=mentions)
            else:
                reference = discord.MessageReference(
                    message_id=job.progress_message_id,
                    channel_id=job.channel_id,
                    fail_if_not_exists=False,
                )
                await channel.send(text, reference=reference, allowed_mentions=mentions)
            return
        except discord.HTTPException as exc:
            self._count(exc)
            if not refused(exc):
                return
        try:  # the channel is gone or closed to the bot: a DM, when the member accepts them
            user = await self.client.fetch_user(job.user_id)
            await user.send(fit_content(dm_text))
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
        if guild is None and self.rest_only:
            try:
                guild = await self.client.fetch_guild(job.guild_id, with_counts=False)
            except discord.HTTPException as exc:
                self._count(exc)
        elif guild is None and not self.client.is_ready():
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
                await self.board.finish(job)
                return found
        path = await self.results.download(job)
        try:
            return await self._walk(await self._prepare(job, path))
        finally:
            await self.results.cleanup(job.id)

    @contextlib.asynccontextmanager
    async def result_for_upload(self, job: JobRecord, limit: int) -> AsyncIterator[Path | str]:
        """The job's video ready to upload under `limit` (a file, removed afterwards), or, when it
        cannot be made to fit, a sentence with a link to the bot's own copy. For /job's re-post.

        Raises DeliveryRetry when the provider no longer serves the result, ResultRefused when its link
        may never be fetched.
        """
        path = await self.results.download(job)
        try:
            size = await file_size(path)
            if size <= limit:
                yield path
                return
            fitted = await self.results.fit(job, path, with_headroom(limit))
            if fitted is not None:
                yield fitted
                return
            yield render.repost_too_large_text(size, limit, link_of(await self.results.host(job, path)))
        finally:
            await self.results.cleanup(job.id)

    async def _find_existing(self, job: JobRecord) -> DeliveryResult | None:
        message = await self.poster.search(self.poster.channel(job), job)
        if message is None:
            return None
        via = "interaction" if message.webhook_id is not None else "channel"
        log.info("job %s: its video was already posted (message %s)", job.id, message.id)
        return DeliveryResult(message.id, job.channel_id, via, FOUND_NOTE)

    async def _prepare(self, job: JobRecord, original: Path) -> Delivery:
        """Re-encode when the file fits neither the channel nor (while the token is young) the member's
        own larger limit, and gather the facts the route plan needs."""
        size = await file_size(original)
        channel_limit = await self._channel_limit(job)
        young = self._token_is_young(job)
        member_limit = int(job.params.get("attachment_size_limit") or DEFAULT_UPLOAD_LIMIT)
        upload, note = original, None
        if size > channel_limit and not (young and size <= member_limit):
            target = max(channel_limit, member_limit if young else 0)
            fitted = await self.results.fit(job, original, with_headroom(target))
            if fitted is not None:
                upload, note = fitted, render.refit_note(size)
        upload_size = await file_size(upload)
        facts = RouteFacts(
            token_young=young,
            fits_channel=upload_size <= channel_limit,
            fits_member=upload_size <= member_limit,
        )
        return Delivery(job, original, size, channel_limit, facts, upload, note)

    async def _walk(self, delivery: Delivery) -> DeliveryResult:
        """Try the plan's first route; on a refusal, note it and plan again."""
        while True:
            route = plan_routes(delivery.facts)[0]
            try:
                return await self._post(delivery, route)
            except discord.HTTPException as exc:
                self._count(exc)
                await self._after_refusal(delivery, route, exc)

    async def _after_refusal(self, delivery: Delivery, route: Route, exc: discord.HTTPException) -> None:
        """What Discord's no means for the plan; raises when the delivery cannot go on now."""
        facts = delivery.facts
        if route is Route.DM:
            if passing(exc):
                raise retry_later(exc) from exc
            log.info("job %s: channel and DMs closed; the result stays on /job", delivery.job.id)
            delivery.facts = replace(facts, dm_closed=True)
        elif exc.status == 413 and route is not Route.LINK and not delivery.refitted:
            await self._refit(delivery)
        elif moves_on(exc):
            if route is Route.INTERACTION:
                delivery.facts = replace(facts, interaction_refused=True)
            else:
                if route is Route.CHANNEL and facts.token_young:
                    log.info(
                        "job %s: the channel refused the bot (%s); trying the interaction",
                        delivery.job.id,
                        exc.code,
                    )
                delivery.facts = replace(facts, channel_refused=True)
        elif passing(exc):
            raise retry_later(exc) from exc
        else:
            raise exc

    async def _refit(self, delivery: Delivery) -> None:
        """Discord's real limit is below what it told us (a boost just lapsed, an optimistic
        attachment_size_limit): aim for the next known limit under the refused size, then post to the
        channel, or link when the video cannot shrink that far."""
        delivery.refitted = True
        fitted = await self.results.fit(
            delivery.job, delivery.original, limit_below(await file_size(delivery.upload))
        )
        if fitted is not None:
            delivery.upload, delivery.note = fitted, render.refit_note(delivery.size)
        delivery.facts = replace(
            delivery.facts, token_young=False, fits_channel=fitted is not None, fits_member=False
        )

    async def _post(self, delivery: Delivery, route: Route) -> DeliveryResult:
        job = delivery.job
        match route:
            case Route.CHANNEL | Route.INTERACTION:
                if route is Route.CHANNEL:
                    message = await self.poster.to_channel(job, delivery.upload)
                else:
                    message = await self.poster.by_interaction(job, delivery.upload)
                await self.board.finish(job)
                return DeliveryResult(message.id, job.channel_id, route.value, delivery.note)
            case Route.LINK:
                return await self._post_link(delivery)
            case Route.DM:
                return await self.poster.to_dm(job, delivery.upload, delivery.note, delivery.original)
        return DeliveryResult(None, None, "none", "channel and DMs unavailable; see /job")

    async def _post_link(self, delivery: Delivery) -> DeliveryResult:
        """Too big to upload even re-encoded: a link to our own copy (never the provider's signed URL),
        or where to find the job when the bot has no public address."""
        job = delivery.job
        link = link_of(await self.results.host(job, delivery.original))
        delivery.upload = delivery.original
        delivery.note = "too large to upload; linked" if link else "too large to upload; not posted"
        text = render.too_large_text(job, delivery.size, delivery.channel_limit, link)
        message = await self.poster.link(job, text)
        await self.board.finish(job)
        return DeliveryResult(message.id, job.channel_id, "channel", delivery.note)
