"""Each job's one public progress message, edited only when what it shows changes.

A job moves through a handful of stages (queued, generating, uploading, done or failed), so however
often a provider reports, the message is edited a few times at most, far inside Discord's rate limits.
Nothing about a job stays in memory once it has ended: the per-job lock lives only while a call
holds or waits for it, and the text last shown is forgotten at the final stage.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import discord

from bot.discord_ui import render
from bot.discord_ui.limits import fit_content
from db.records import JobRecord, JobState
from db.store import Store

NO_MENTIONS = discord.AllowedMentions.none()


@dataclass(slots=True)
class _Turn:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class ProgressBoard:
    def __init__(
        self, client: discord.Client, store: Store, on_error: Callable[[discord.HTTPException], None]
    ) -> None:
        self.client = client
        self.store = store
        self.on_error = on_error
        self._shown: dict[str, str] = {}  # the progress text last shown, per job still in progress
        self._turns: dict[str, _Turn] = {}

    def tracked_jobs(self) -> int:
        """How many jobs this board holds anything for (zero once every job has ended)."""
        return len(self._shown.keys() | self._turns.keys())

    @contextlib.asynccontextmanager
    async def _turn(self, job_id: str) -> AsyncIterator[None]:
        """One call at a time per job; the lock is dropped when nobody holds or waits for it."""
        turn = self._turns.setdefault(job_id, _Turn())
        turn.users += 1
        try:
            async with turn.lock:
                yield
        finally:
            turn.users -= 1
            if turn.users == 0:
                del self._turns[job_id]

    async def show(self, job: JobRecord, *, force: bool = False) -> None:
        """Show the job's stage in its progress message (posting it first if needed)."""
        async with self._turn(job.id):
            # The caller's record may be stale (a concurrent call may have posted the progress message or
            # the job may have moved on): always show what the store says now.
            job = await self.store.get_job(job.id) or job
            terminal = job.status in (JobState.DELIVERED, JobState.FAILED)
            content = fit_content(render.progress_text(job))
            try:
                if not force and self._shown.get(job.id) == content:
                    return
                self._shown[job.id] = content
                await self._put(job, content, terminal)
            finally:
                if terminal:
                    self._shown.pop(job.id, None)

    async def _put(self, job: JobRecord, content: str, terminal: bool) -> None:
        channel = self.client.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
        if job.progress_message_id is None:
            if terminal:
                return  # the result or failure message says it all
            try:
                message = await channel.send(content, allowed_mentions=NO_MENTIONS)
            except discord.HTTPException as exc:
                self.on_error(exc)
                return
            await self.store.set_progress_message(job.id, message.id)
            return
        try:
            await channel.get_partial_message(job.progress_message_id).edit(
                content=content, allowed_mentions=NO_MENTIONS
            )
        except discord.HTTPException as exc:
            self.on_error(exc)

    async def finish(self, job: JobRecord) -> None:
        """Mark the progress message done as soon as the video is posted; the job ends here."""
        self._shown.pop(job.id, None)
        current = await self.store.get_job(job.id) or job  # the progress message may be newer than `job`
        if current.progress_message_id is None:
            return
        channel = self.client.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
        try:
            await channel.get_partial_message(current.progress_message_id).edit(
                content=fit_content(render.progress_done_text(job)), allowed_mentions=NO_MENTIONS
            )
        except discord.HTTPException as exc:
            self.on_error(exc)  # the video is posted; a stale progress line is not worth failing for
