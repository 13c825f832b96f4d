"""Retention: what the bot keeps stays bounded, however long it runs.

A finished job's input files go `media_seconds` after it finished, and sooner when the media folder
outgrows `media_max_bytes` (the jobs that finished longest ago first; an unfinished job's files are
never touched). Hosted results go when their link expires; processed callbacks and posted audit lines
go when they are old enough. Each pass works through one small batch of each and asks again at once
when a batch was full, so pruning a backlog never holds the bot up; otherwise the loop sleeps until
the next item falls due.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.jobs.hosting import RESULTS_WORK_DIR, JobHosting
from bot.jobs.inputs import InputStore, remove_folder
from bot.jobs.loops import LONGEST_SLEEP, DueLoop
from db.records import JobRecord
from db.store import Store

log = logging.getLogger(__name__)

DAY = 24 * 3600.0
GIB = 1024**3


@dataclass(frozen=True, slots=True)
class RetentionConfig:
    media_seconds: float = 7 * DAY  # a finished job's input files, after it finished
    media_max_bytes: int = 5 * GIB  # past this, the oldest finished jobs' inputs go first
    callback_seconds: float = 7 * DAY  # processed callbacks, after processing
    audit_seconds: float = 90 * DAY  # audit lines, after they were posted
    batch_size: int = 100  # rows or jobs per step of a pass


class Retention:
    def __init__(
        self,
        store: Store,
        inputs: InputStore,
        hosting: JobHosting,
        config: RetentionConfig,
        clock: Callable[[], float],
        turn: Callable[[], Awaitable[float | None]] | None = None,
    ) -> None:
        self.store = store
        self.inputs = inputs
        self.hosting = hosting
        self.config = config
        self.clock = clock
        # Processes sharing the store prune one at a time: None when it is this one's turn, else when
        # to ask again (the engine leases the pass, db.sql.leases).
        self.turn = turn
        self.loop = DueLoop("klingbot-retention", self.run_pass, clock=clock)
        self.next_due: float | None = None  # when the loop means to run next
        self._one_at_a_time = asyncio.Lock()
        inputs.usage.watchers.append(self._media_changed)

    async def start(self) -> None:
        """Before any delivery runs: drop the downloads a stopped process left half-delivered, and count
        what the media folder keeps."""
        await remove_folder(self.inputs.root / RESULTS_WORK_DIR)
        kept = await self.inputs.usage.recount(self.inputs.inputs_dir, self.hosting.hosted_dir)
        log.info("media folder keeps %d bytes", kept)

    def due_by(self, moment: float) -> None:
        """Something new falls due at `moment`: run sooner if the loop would sleep past it."""
        if self.next_due is None or moment < self.next_due:
            self.loop.wake()

    def _media_changed(self, kept: int) -> None:
        if kept > self.config.media_max_bytes:
            self.loop.wake()

    async def run_pass(self) -> float | None:
        """One batch of everything due; returns when to run again. Passes never overlap (a file's bytes
        must be counted off once)."""
        if self.turn is not None and (not_before := await self.turn()) is not None:
            return not_before
        async with self._one_at_a_time:
            return await self._pass()

    async def _pass(self) -> float:
        now = self.clock()
        config = self.config
        expired = await self.store.jobs_with_inputs_kept(now - config.media_seconds, config.batch_size)
        await self._remove_inputs(expired, "expired")
        more = len(expired) == config.batch_size
        more |= await self._cap_media()
        more |= (
            await self.store.prune_processed_callbacks(now - config.callback_seconds, config.batch_size)
            == config.batch_size
        )
        more |= await self.store.prune_posted_audit(now - config.audit_seconds, config.batch_size) == (
            config.batch_size
        )
        _, next_result_expiry = await self.hosting.sweep_results()
        self.next_due = self.clock() if more else await self._next_due(next_result_expiry)
        return self.next_due

    async def _cap_media(self) -> bool:
        """Remove the inputs of the jobs that finished longest ago while the folder is over its cap;
        True when a whole batch went and it is still over."""
        limit, batch = self.config.media_max_bytes, self.config.batch_size
        if self.inputs.usage.bytes <= limit:
            return False
        oldest = await self.store.jobs_with_inputs_kept(None, batch)
        for job in oldest:
            if self.inputs.usage.bytes <= limit:
                return False
            await self._remove_inputs([job], "over MEDIA_MAX_BYTES")
        return len(oldest) == batch and self.inputs.usage.bytes > limit

    async def _remove_inputs(self, jobs: list[JobRecord], why: str) -> None:
        for job in jobs:
            # Files first, then the mark: after a crash in between, the next pass removes nothing twice.
            freed = await self.inputs.remove(job.id)
            await self.store.mark_inputs_removed(job.id, self.clock())
            log.debug("job %s: removed %d bytes of inputs (%s)", job.id, freed, why)

    async def _next_due(self, next_result_expiry: float | None) -> float:
        config = self.config
        candidates = [self.clock() + LONGEST_SLEEP]
        for earliest, keep in (
            (await self.store.earliest_finished_with_inputs(), config.media_seconds),
            (await self.store.earliest_processed_callback(), config.callback_seconds),
            (await self.store.earliest_posted_audit(), config.audit_seconds),
            (next_result_expiry, 0.001),  # a link is served up to its expiry, removed just after
        ):
            if earliest is not None:
                candidates.append(earliest + keep)
        return min(candidates)
