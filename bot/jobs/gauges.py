"""Gauges that are true at every moment: jobs not yet finished by state, the callback inbox's backlog and
the bytes the media folder keeps. Counts come from the store (every process sharing it agrees); a
refresh asked for while another runs is folded into the next one, so a burst of transitions costs a
few queries, not one each."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.jobs.inputs import MediaUsage
from bot.metrics import Metrics
from db.records import JobState
from db.store import Store

log = logging.getLogger(__name__)


class CoalescedRefresh:
    """Run `refresh` so that, once a call returns, a refresh that started after the call did has run."""

    def __init__(self, refresh: Callable[[], Awaitable[None]]) -> None:
        self._refresh = refresh
        self._lock = asyncio.Lock()
        self._asked = 0
        self._covered = 0

    async def __call__(self) -> None:
        self._asked += 1
        mine = self._asked
        async with self._lock:
            if self._covered >= mine:
                return  # a refresh that began after this call has finished
            self._covered = self._asked
            try:
                await self._refresh()
            except Exception:  # a gauge must never stop the transition that asked for it
                log.warning("refreshing the gauges failed", exc_info=True)


class JobGauges:
    def __init__(self, store: Store, metrics: Metrics, usage: MediaUsage) -> None:
        self.store = store
        self.metrics = metrics
        usage.watchers.append(metrics.media_bytes.set)
        metrics.media_bytes.set(usage.bytes)
        self.refresh_jobs = CoalescedRefresh(self._count_jobs)
        self.refresh_inbox = CoalescedRefresh(self._count_inbox)

    async def _count_jobs(self) -> None:
        counts = await self.store.count_unfinished_by_state()
        for state in JobState:  # every unfinished state, so one that emptied reads 0
            if not state.ended:
                self.metrics.jobs_in_flight.labels(state=state.value).set(counts.get(state, 0))

    async def _count_inbox(self) -> None:
        self.metrics.inbox_backlog.set(await self.store.count_pending_callbacks())

    async def refresh(self) -> None:
        await self.refresh_jobs()
        await self.refresh_inbox()
