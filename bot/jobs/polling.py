"""Polling: which jobs to ask the provider about, how often, and how fast.

Every job whose callback is late (or every job, without callbacks) is asked about, in batches where
the provider has a batch endpoint; each job backs off on its own, and one rate limiter keeps the
provider's request rate within the configured bound, however many jobs are in flight.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.jobs.leases import Leases
from bot.jobs.ratelimit import RateLimiter
from bot.metrics import Metrics
from bot.models import ErrorCategory, JobKind, TaskUpdate
from bot.providers.base import ProviderClient, ProviderError
from db.records import JobRecord, JobState
from db.store import Store

log = logging.getLogger(__name__)

ApplyUpdate = Callable[[JobRecord, TaskUpdate], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class PollSettings:
    interval: float  # seconds before a job is first asked about again; grows per job
    max_backoff: float
    max_rate: float  # provider requests per second, across all jobs
    concurrency: int
    batch_size: int


class Poller:
    def __init__(
        self,
        *,
        store: Store,
        provider: ProviderClient,
        metrics: Metrics,
        settings: PollSettings,
        apply_update: ApplyUpdate,
        clock: Callable[[], float],
        leases: Leases | None = None,
    ) -> None:
        self.store = store
        self.provider = provider
        self.metrics = metrics
        self.settings = settings
        self.apply_update = apply_update
        self.clock = clock
        # Each due job is polled by the one process that leased it (its next poll ends the lease).
        self.leases = leases or Leases(store, "klingbot", 60.0, clock)
        self.limiter = RateLimiter(settings.max_rate, burst=max(1, int(settings.max_rate)))

    async def poll_due_jobs(self) -> int:
        """Ask about every job that is due now; returns how many were due."""
        s = self.settings
        due = await self.store.claim_due_polls(self.leases.terms(), s.batch_size * s.concurrency)
        if not due:
            return 0
        semaphore = asyncio.Semaphore(s.concurrency)

        async def run(batch: list[JobRecord]) -> None:
            async with semaphore:
                await self._poll_batch(batch)

        await asyncio.gather(*(run(batch) for batch in self._batches(due)))
        return len(due)

    def _batches(self, due: list[JobRecord]) -> list[list[JobRecord]]:
        if not self.provider.supports_batch_query:
            return [[job] for job in due]
        by_kind: dict[str, list[JobRecord]] = {}
        for job in due:
            by_kind.setdefault(job.kind, []).append(job)
        size = self.settings.batch_size
        return [jobs[i : i + size] for jobs in by_kind.values() for i in range(0, len(jobs), size)]

    async def _poll_batch(self, batch: list[JobRecord]) -> None:
        kind = JobKind(batch[0].kind)
        task_ids = [job.provider_task_id for job in batch if job.provider_task_id]
        await self.limiter.acquire()
        try:
            if len(task_ids) == 1:
                results = {task_ids[0]: await self.provider.query(task_ids[0], kind=kind)}
            else:
                results = await self.provider.query_many(task_ids, kind=kind)
        except ProviderError as error:
            self.metrics.polls.labels(result="error").inc()
            self.metrics.provider_errors.labels(category=error.category.value).inc()
            if error.category is ErrorCategory.AUTH:
                log.error("polling: the provider refused the bot's credentials")
            elif error.category is ErrorCategory.RATE_LIMITED:
                # A plain rate limit (kling 1302, a 429 on a status query): every query slows down.
                self.limiter.hold(error.retry_after or self.settings.interval)
            await self._back_off(batch)
            return
        except Exception:
            # A bug or an unexpected answer: back off like any error rather than asking again at once.
            self.metrics.polls.labels(result="error").inc()
            log.exception("polling %d %s job(s) failed unexpectedly", len(batch), kind.value)
            await self._back_off(batch)
            return
        for job in batch:
            update = results.get(job.provider_task_id or "")
            self.metrics.polls.labels(result="ok" if update else "missing").inc()
            if update is not None:
                await self.apply_update(job, update)
        await self._back_off(batch)

    async def _back_off(self, batch: list[JobRecord]) -> None:
        """Schedule each still-running job's next question, later each time (with jitter)."""
        for job in batch:
            current = await self.store.get_job(job.id)
            if current is None or current.status is not JobState.SUBMITTED:
                continue
            attempts = current.poll_attempts + 1
            delay = min(self.settings.max_backoff, self.settings.interval * 1.5 ** min(attempts - 1, 10))
            await self.store.schedule_poll(job.id, self.clock() + delay * random.uniform(0.9, 1.1), attempts)
