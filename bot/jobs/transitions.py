"""The one transition: a provider's report (callback, poll, adopted task), a failure or a timeout moves a
job on, through a conditional update in the store, so only the first terminal report changes anything.

Waiters (tests, benchmarks) wait on `changed`, notified after every transition, instead of polling.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from yarl import URL

from bot.downloads import ForbiddenUrl, UrlPolicy
from bot.jobs.audit import AuditAction, AuditRecord, AuditTrail, job_facts
from bot.jobs.line import Standing
from bot.jobs.loops import job_log_fields
from bot.jobs.publisher import JobPublisher
from bot.metrics import Metrics
from bot.models import ErrorCategory, TaskStatus, TaskUpdate
from db.records import JobRecord
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
        url_policy: UrlPolicy | None = None,
        slot_freed: Callable[[], None] = lambda: None,
        after_change: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.metrics = metrics
        self.audit = audit
        self.clock = clock
        self.succeeded = succeeded  # starts the delivery of a job that just succeeded
        self.slot_freed = slot_freed  # a job left the provider: the line may move
        self.after_change = after_change  # keeps what follows the store true (gauges), before waiters wake
        self.changed = asyncio.Condition()
        self.url_policy = url_policy or UrlPolicy()  # which result links the bot will ever fetch

    async def notify(self) -> None:
        if self.after_change is not None:
            await self.after_change()
        async with self.changed:
            self.changed.notify_all()

    async def apply_update(self, job: JobRecord, update: TaskUpdate) -> bool:
        """Apply a report from a callback or a poll; True when it finished the job successfully."""
        with job_log_fields(job):
            if update.status is TaskStatus.SUCCEEDED and update.video_url:
                refused = self._refused(update.video_url)
                if refused is not None:  # fail now, before "uploading": the link is never fetched
                    return await self.fail(job, *refused_result(refused), update.raw_status)
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
            self.slot_freed()
            await self.notify()
        return changed

    def _refused(self, url: str) -> str | None:
        """Why the URL's text breaks the policy, or None (a name is checked again once resolved)."""
        try:
            self.url_policy.check_url(URL(url))
        except ForbiddenUrl as forbidden:
            return forbidden.reason.value
        except ValueError:
            return None  # not a URL at all: the download fails, as any broken link does
        return None

    async def refuse_result(self, job: JobRecord, reason: str) -> bool:
        """A finished job whose result link may never be fetched: failed, its charge refunded, the member
        told; False when it had ended already."""
        category, message = refused_result(reason)
        if not await self.store.mark_undeliverable(
            job.id, category=category.value, message=message, now=self.clock()
        ):
            return False
        await self._failed(job, category, message)
        return True

    async def fail(
        self, job: JobRecord, category: ErrorCategory, message: str, provider_status: str | None
    ) -> bool:
        """End the job (credits refunded) and tell the member; False when it had ended already."""
        changed = await self.store.mark_failed(
            job.id,
            category=category.value,
            message=message,
            provider_status=provider_status,
            now=self.clock(),
        )
        if changed:
            self.slot_freed()
            await self._failed(job, category, message)
        return changed

    async def _failed(self, job: JobRecord, category: ErrorCategory, message: str) -> None:
        """After a failure is stored: waiters, metrics, the log, the audit trail and the member."""
        await self.notify()
        self.metrics.jobs.labels(kind=job.kind, outcome="failed").inc()
        if category is ErrorCategory.AUTH:
            log.error("the provider refused the bot's credentials: %s", message)
        elif category is ErrorCategory.UNSAFE_RESULT:
            log.warning("job %s failed: the provider's result link was refused: %s", job.id, message)
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

    async def fail_timed_out(self, job_timeout: float) -> int:
        """Fail every job the provider has not finished within `job_timeout` seconds of its submission
        (time spent waiting in the line does not count)."""
        stale = await self.store.running_started_before(self.clock() - job_timeout)
        message = f"The provider did not finish this video within {round(job_timeout / 60)} minutes."
        for job in stale:
            with job_log_fields(job):
                await self.fail(job, ErrorCategory.TRANSIENT, message, "timeout")
        return len(stale)

    async def publish_progress(self, job: JobRecord, standing: Standing | None = None) -> None:
        try:
            await self.publisher.progress(job, standing)
        except Exception:
            log.warning("could not update the progress of job %s", job.id, exc_info=True)

    async def show_progress(self, job_id: str) -> None:
        """Show the job's stage as the store has it now."""
        job = await self.store.get_job(job_id)
        if job is not None:
            await self.publish_progress(job)


def refused_result(reason: str) -> tuple[ErrorCategory, str]:
    """The failure recorded for a result link the URL policy refuses (`reason`: a ForbiddenReason)."""
    return ErrorCategory.UNSAFE_RESULT, f"The result link was refused ({reason}); it was never fetched."
