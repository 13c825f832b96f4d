"""Submission: hand a pending job to the provider, retrying passing errors, and after a crash between
"request sent" and "task id stored" find the task the provider already has instead of paying twice.
A provider that says it is full gets the job back into the line (`full`), neither failed nor retried."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial

from tenacity import RetryCallState

from bot.jobs.config import EngineConfig
from bot.jobs.hosting import JobHosting
from bot.jobs.inputs import InputStore
from bot.jobs.leases import Leases
from bot.jobs.loops import job_log_fields
from bot.jobs.requests import build_request
from bot.jobs.transitions import Transitions
from bot.models import ErrorCategory, JobKind
from bot.providers.base import ProviderClient, ProviderError
from bot.retry import retrying
from db.records import JobRecord, JobState

log = logging.getLogger(__name__)


class Submitter:
    def __init__(
        self,
        transitions: Transitions,
        provider: ProviderClient,
        inputs: InputStore,
        hosting: JobHosting,
        config: EngineConfig,
        *,
        leases: Leases,
        submitted: Callable[[], None],
        full: Callable[[JobRecord], Awaitable[None]],
    ) -> None:
        self.transitions = transitions
        self.store, self.metrics, self.clock = transitions.store, transitions.metrics, transitions.clock
        self.provider = provider
        self.inputs = inputs
        self.hosting = hosting
        self.config = config
        self.leases = leases  # a job is submitted by the one process holding its lease
        self.policy = config.submit_retry
        self.submitted = submitted  # a job now has a task (and a poll due): wakes the poller
        self.full = full  # the provider had no slot for the job: it goes back to the line
        self._submitting: set[str] = set()

    async def submit(self, job_id: str) -> None:
        """Submit the job if it is still pending and no other process holds it; a second call while one
        runs does nothing."""
        if job_id in self._submitting:
            return
        self._submitting.add(job_id)
        try:
            job = await self.store.claim_job(job_id, JobState.PENDING, self.leases.terms())
            if job is not None:
                with job_log_fields(job):
                    async with self.leases.kept(job_id, JobState.PENDING):
                        await self._submit_with_retries(job_id)
        finally:
            self._submitting.discard(job_id)

    async def _submit_with_retries(self, job_id: str) -> None:
        job: JobRecord | None = None
        task_id: str | None = None
        try:
            log_retry = partial(_log_retry, job_id)
            async for attempt in retrying(self.policy, retry_on=_passing, before_sleep=log_retry):
                with attempt:
                    # Still pending, and still ours: a process that lost its lease stops here.
                    job = await self.store.claim_job(job_id, JobState.PENDING, self.leases.terms())
                    if job is None:
                        return
                    task_id = await self._attempt(job)
        except ProviderError as error:
            if job is None or not await self._still_ours(job_id):
                return  # another process took the job over (our lease lapsed): its outcome counts
            if error.category is ErrorCategory.PROVIDER_FULL:
                await self.full(job)
            else:
                await self.transitions.fail(job, error.category, error.message, None)
            return
        if job is not None and task_id is not None:
            await self._record_task(job, task_id)

    async def _still_ours(self, job_id: str) -> bool:
        return await self.store.claim_job(job_id, JobState.PENDING, self.leases.terms()) is not None

    async def _attempt(self, job: JobRecord) -> str | None:
        """One try: the new task's id, or None when a task sent before a restart was found instead."""
        try:
            if await self._adopt_existing_task(job):
                return None
            await self.store.note_submit_attempt(job.id, self.clock())
            request = await build_request(job, self.inputs, self.hosting.input_url)
            return await self.provider.submit(
                request, job_id=job.id, callback_url=self.hosting.callback_url(job)
            )
        except ProviderError as error:
            self.metrics.provider_errors.labels(category=error.category.value).inc()
            raise

    async def _record_task(self, job: JobRecord, task_id: str) -> None:
        now = self.clock()
        if await self.store.mark_submitted(job.id, task_id, now, self._first_poll_at(now)):
            log.info("job %s submitted as task %s", job.id, task_id)
            await self.transitions.notify()
            await self.transitions.show_progress(job.id)
        self.submitted()

    async def _adopt_existing_task(self, job: JobRecord) -> bool:
        """After a crash between "submit sent" and "task id stored", find the task instead of paying twice."""
        if job.submit_attempts == 0 or not self.provider.supports_lookup_by_job_id:
            return False
        found = await self.provider.find_by_job_id(job.id, kind=JobKind(job.kind))
        if found is None:
            return False
        now = self.clock()
        if await self.store.mark_submitted(job.id, found.task_id, now, now):
            await self.transitions.notify()
        log.info("job %s: found task %s submitted before a restart", job.id, found.task_id)
        refreshed = await self.store.get_job(job.id)
        if refreshed is not None:
            await self.transitions.apply_update(refreshed, found)
        self.submitted()
        return True

    def _first_poll_at(self, now: float) -> float:
        if self.config.public_base_url is None:
            return now + self.config.poll_interval
        return now + max(self.config.callback_grace, self.config.poll_interval)


def _passing(error: BaseException) -> bool:
    return isinstance(error, ProviderError) and error.category.is_retryable


def _log_retry(job_id: str, state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    delay = state.next_action.sleep if state.next_action else 0.0
    log.warning("submitting job %s failed (%s); retrying in %.1fs", job_id, error, delay)
