"""The one transition: a provider's report (callback, poll, adopted task), a failure or a timeout moves a
job on, through a conditional update in the store, so only the first terminal report changes anything.

Waiters (tests, benchmarks) wait on `changed`, notified after every transition, instead of polling.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.jobs.audit import AuditAction, AuditRecord, AuditTrail, job_facts
from bot.jobs.loops import job_log_fields
from bot.jobs.publisher import JobPublisher
from bot.metrics import Metrics
from bot.models import ErrorCategory, TaskStatus, TaskUpdate
from db.records import JobRecord, JobState
from db.store import Store

log = logging.getLogger(__name__)


class Transitions:
    def __init__(
        self,
        *,
        store: Store,
        publisher: JobPublisher,
        metrics: Metrics,
        audit: AuditTrail,
        clock: Callable[[], float],
        succeeded: Callable[[str], None],
        after_change: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.metrics = metrics
        self.audit = audit
        self.clock = clock
        self.succeeded = succeeded  # starts the delivery of a job that just succeeded
        self.after_change = after_change  # keeps what follows the store true (gauges), before waiters wake
        self.changed = asyncio.Condition()

    async def notify(self) -> None:
        if self.after_change is not None:
            await self.after_change()
        async with self.changed:
            self.changed.notify_all()

    async def apply_update(self, job: JobRecord, update: TaskUpdate) -> bool:
        """Apply a report from a callback or a poll; True when it finished the job successfully."""
        with job_log_fields(job):
            if update.status is TaskStatus.SUCCEEDED and update.video_url:
                return await self._succeed(job, update, update.video_url)
            if update.status is TaskStatus.FAILED:
                category = update.error_category or ErrorCategory.FAILED
                message = update.error_message or "The provider could not make this video."
                return await self.fail(job, category, message, update.raw_status)
            changed = await self.store.record_progress(
                job.id,
                update.raw_status or update.status.value,
                "generating" if update.status is TaskStatus.PROCESSING else None,
                self.clock(),
            )
            if changed:
                await self.notify()
                await self.show_progress(job.id)
            return False

    async def _succeed(self, job: JobRecord, update: TaskUpdate, video_url: str) -> bool:
        now = self.clock()
        changed = await self.store.mark_succeeded(
            job.id,
            video_url=video_url,
            video_id=update.video_id,
            duration=update.duration,
            provider_status=update.raw_status or update.status.value,
            now=now,
        )
        if changed:
            self.metrics.jobs.labels(kind=job.kind, outcome="succeeded").inc()
            started = job.submitted_at or job.created_at
            self.metrics.generation_seconds.labels(kind=job.kind).observe(max(0.0, now - started))
            await self.audit.record(
                AuditRecord(AuditAction.JOB_FINISHED, job.guild_id, job.user_id, job.id, job_facts(job))
            )
            self.succeeded(job.id)
            await self.notify()
        return changed

    async def fail(
        self, job: JobRecord, category: ErrorCategory, message: str, provider_status: str | None
    ) -> bool:
        """End the job (credits refunded) and tell the member; False when it had ended already."""
        now = self.clock()
        changed = await self.store.mark_failed(
            job.id, category=category.value, message=message, provider_status=provider_status, now=now
        )
        if not changed:
            return False
        await self.notify()
        self.metrics.jobs.labels(kind=job.kind, outcome="failed").inc()
        if category is ErrorCategory.AUTH:
            log.error("the provider refused the bot's credentials: %s", message)
        else:
            log.info("job %s failed: %s: %s", job.id, category.value, message)
        facts = job_facts(job, category=category.value, message=message)
        await self.audit.record(AuditRecord(AuditAction.JOB_FAILED, job.guild_id, job.user_id, job.id, facts))
        failed = await self.store.get_job(job.id)
        if failed is not None:
            try:
                await self.publisher.failed(failed)
            except Exception:
                log.exception("could not tell the member that job %s failed", job.id)
        return True

    async def fail_timed_out(self, job_timeout: float) -> int:
        """Fail every job the provider has not finished within `job_timeout` seconds of being accepted."""
        deadline = self.clock() - job_timeout
        stale = await self.store.jobs_created_before([JobState.PENDING, JobState.SUBMITTED], deadline)
        message = f"The provider did not finish this video within {round(job_timeout / 60)} minutes."
        for job in stale:
            with job_log_fields(job):
                await self.fail(job, ErrorCategory.TRANSIENT, message, "timeout")
        return len(stale)

    async def publish_progress(self, job: JobRecord) -> None:
        try:
            await self.publisher.progress(job)
        except Exception:
            log.warning("could not update the progress of job %s", job.id, exc_info=True)

    async def show_progress(self, job_id: str) -> None:
        """Show the job's stage as the store has it now."""
        job = await self.store.get_job(job_id)
        if job is not None:
            await self.publish_progress(job)
