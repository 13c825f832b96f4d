"""Delivery: posting a finished video through the `JobPublisher`, retried until it is posted or the
attempts are spent. A job is never left "finished, never posted": when every attempt failed it ends on
/job, and its progress message says so."""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from tenacity import RetryCallState

from bot.jobs.ids import new_token
from bot.jobs.loops import job_log_fields
from bot.jobs.publisher import DeliveryResult, DeliveryRetry, ResultRefused
from bot.jobs.transitions import Transitions
from bot.retry import RetryPolicy, retrying
from db.records import JobRecord

log = logging.getLogger(__name__)


class Deliveries:
    def __init__(self, transitions: Transitions, *, policy: RetryPolicy, concurrency: int) -> None:
        self.transitions = transitions
        self.store, self.metrics, self.clock = transitions.store, transitions.metrics, transitions.clock
        self.publisher = transitions.publisher
        self.policy = policy
        self._slots = asyncio.Semaphore(concurrency)
        self._delivering: set[str] = set()

    async def deliver(self, job_id: str) -> None:
        """Post the job's video unless it is posted already; a second call while one runs does nothing."""
        if job_id in self._delivering:
            return
        self._delivering.add(job_id)
        try:
            async with self._slots:
                job = await self.store.get_job(job_id)
                if job is not None:
                    with job_log_fields(job):
                        await self._deliver_with_retries(job_id)
        finally:
            self._delivering.discard(job_id)

    async def _deliver_with_retries(self, job_id: str) -> None:
        job: JobRecord | None = None
        # DeliveryRetry is a passing problem; ResultRefused is permanent (the job fails, refunded);
        # anything else is unexpected (a Discord refusal nobody planned for, a bug): logged loudly, but
        # retried all the same.
        try:
            async for attempt in retrying(
                self.policy, retry_on=_any_error, before_sleep=partial(_log_retry, job_id)
            ):
                with attempt:
                    job = await self.store.begin_delivery(job_id, new_token()[:25], self.clock())
                    if job is None:
                        return  # delivered already, or not finished
                    await self.transitions.publish_progress(job)
                    result = await self.publisher.deliver(job)
        except ResultRefused as refused:
            if job is not None:
                await self.transitions.refuse_result(job, refused.reason)
            return
        except Exception as problem:
            _log_problem(job_id, problem, "giving up")
            await self._give_up(job_id)
            return
        if job is not None:
            await self._delivered(job, result)

    async def _delivered(self, job: JobRecord, result: DeliveryResult) -> None:
        now = self.clock()
        if not await self.store.mark_delivered(
            job.id,
            message_id=result.message_id,
            channel_id=result.channel_id,
            via=result.via,
            note=result.note,
            now=now,
        ):
            return
        log.info("job %s delivered (%s%s)", job.id, result.via, f"; {result.note}" if result.note else "")
        await self.transitions.notify()
        self.metrics.jobs.labels(kind=job.kind, outcome=f"delivered_{result.via}").inc()
        if job.finished_at is not None:
            self.metrics.delivery_latency_seconds.observe(max(0.0, now - job.finished_at))
        if result.via == "none":
            await self.transitions.show_progress(job.id)

    async def _give_up(self, job_id: str) -> None:
        attempts = self.policy.attempts
        log.error("giving up posting job %s after %d attempts; it stays on /job", job_id, attempts)
        if await self.store.mark_delivered(
            job_id, message_id=None, channel_id=None, via="none", note="could not post", now=self.clock()
        ):
            self.metrics.deliveries_given_up.inc()
            await self.transitions.notify()
            # Nothing was posted: the progress message (where it still exists) must not say "uploading".
            await self.transitions.show_progress(job_id)


def _any_error(error: BaseException) -> bool:
    return isinstance(error, Exception) and not isinstance(error, ResultRefused)


def _log_problem(job_id: str, problem: BaseException | None, then: str) -> None:
    if isinstance(problem, DeliveryRetry):
        log.warning("delivering job %s: %s; %s", job_id, problem, then)
    else:
        log.error("delivering job %s failed unexpectedly; %s", job_id, then, exc_info=problem)


def _log_retry(job_id: str, state: RetryCallState) -> None:
    delay = state.next_action.sleep if state.next_action else 0.0
    _log_problem(job_id, state.outcome.exception() if state.outcome else None, f"retrying in {delay:.1f}s")
