"""This process's claims on background work (db.sql.leases): the terms it claims on, and keeping a job's
lease alive while one step (a submission, a delivery) is under way.

A lease names this process (INSTANCE_ID) and lapses `seconds` after it was taken or last renewed; a
process that dies stops renewing, and another process takes the work over once the lease lapses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from db.records import JobState, Lease
from db.store import WorkLeases

log = logging.getLogger(__name__)


class Leases:
    def __init__(self, store: WorkLeases, owner: str, seconds: float, clock: Callable[[], float]) -> None:
        self.store = store
        self.owner = owner
        self.seconds = seconds
        self.clock = clock

    def terms(self) -> Lease:
        """A lease from now for the usual length."""
        now = self.clock()
        return Lease(self.owner, now, now + self.seconds)

    @asynccontextmanager
    async def kept(self, job_id: str, state: JobState) -> AsyncIterator[None]:
        """Renew the job's lease a few times per lease length while the block runs."""
        renewer = asyncio.create_task(self._renew(job_id, state), name=f"lease-{job_id}")
        try:
            yield
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer

    async def _renew(self, job_id: str, state: JobState) -> None:
        while True:
            await asyncio.sleep(self.seconds / 3)
            try:
                if not await self.store.renew_job(job_id, state, self.terms()):
                    return  # the step ended (its transition cleared the lease), or the lease was lost
            except Exception:
                log.warning("renewing the lease on job %s failed; trying again", job_id, exc_info=True)
