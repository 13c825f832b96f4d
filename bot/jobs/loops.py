"""Background work: one helper for every loop that sleeps until its next item is due, and the set of
per-job tasks (submissions, deliveries) the engine waits for when it stops.

A loop runs a pass, asks when the next item falls due, and sleeps until then or until someone wakes it
(a new job, a callback written to the inbox). Nothing due means sleeping until woken: no timer ticks,
no store queries while idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AbstractContextManager
from typing import Any

from bot.logs import log_fields
from db.records import JobRecord

log = logging.getLogger(__name__)

# A pass does its work and returns when the next one is due (clock seconds), or None: only when woken.
Pass = Callable[[], Awaitable[float | None]]

# However far away the next item is, look again after this long (the clock may have been moved).
LONGEST_SLEEP = 3600.0


class DueLoop:
    def __init__(
        self, name: str, run_pass: Pass, *, clock: Callable[[], float], retry_after: float = 5.0
    ) -> None:
        self.name = name
        self.run_pass = run_pass
        self.clock = clock
        self.retry_after = retry_after  # after a pass that failed
        self._wake = asyncio.Event()
        self.passes = 0  # passes done, failed ones included
        self._passed = asyncio.Condition()

    def wake(self) -> None:
        """Run a pass now rather than at the next due time."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()  # a wake-up during the pass brings the next pass on at once
            try:
                due = await self.run_pass()
            except Exception:
                log.exception("%s failed; will retry", self.name)
                due = self.clock() + self.retry_after
            self.passes += 1
            async with self._passed:
                self._passed.notify_all()
            await self._sleep_until(due)

    async def wait_for_pass(self, after: int) -> None:
        """Until more than `after` passes are done: lets a caller (a test) wait for the next one."""
        async with self._passed:
            await self._passed.wait_for(lambda: self.passes > after)

    async def _sleep_until(self, due: float | None) -> None:
        timeout = None if due is None else min(LONGEST_SLEEP, max(0.0, due - self.clock()))
        if timeout == 0.0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)


class TaskSet:
    """Per-job background tasks, kept so they can be awaited or cancelled when the bot stops."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    async def stop(self, grace: float) -> None:
        """Give running tasks `grace` seconds to finish, then cancel what is left."""
        pending = [t for t in self.tasks if not t.done()]
        if not pending:
            return
        _, still_running = await asyncio.wait(pending, timeout=grace)
        for task in still_running:
            task.cancel()
        await asyncio.gather(*still_running, return_exceptions=True)


def job_log_fields(job: JobRecord) -> AbstractContextManager[None]:
    """Within this block, every log line carries the job's ids."""
    return log_fields(job_id=job.id, guild_id=job.guild_id, user_id=job.user_id)
