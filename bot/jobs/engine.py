"""The job engine: the one place a job moves from "asked for" to "delivered".

A job is persisted with its credit reservation before the provider hears of it; every later step
(submission, callbacks, polls, timeouts, delivery) goes through a conditional update in the store, so
a crash at any point, a duplicate callback or a poll racing a callback can never lose the job, post it
twice or charge twice. Background work is restarted from the store when the bot starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.errors import Refusal
from bot.jobs.drafts import JobDraft, Requester
from bot.jobs.hosting import JobHosting
from bot.jobs.ids import new_job_id, new_token
from bot.jobs.inbox import InboxWriter
from bot.jobs.inputs import InputStore
from bot.jobs.policy import check_policy
from bot.jobs.polling import Poller, PollSettings
from bot.jobs.publisher import DeliveryRetry, JobPublisher
from bot.jobs.quota import AppliedLimit, CostTable, Period, applicable_limit, period_window
from bot.jobs.requests import build_request
from bot.listener import CallbackOutcome
from bot.logs import log_fields
from bot.metrics import Metrics
from bot.models import (
    ErrorCategory,
    GenerationRequest,
    JobKind,
    TaskStatus,
    TaskUpdate,
)
from bot.providers.base import ProviderClient, ProviderError
from db.records import JobRecord, JobState, NewJob, QuotaCheck
from db.store import Store

log = logging.getLogger(__name__)

INTERACTION_TOKEN_LIFETIME = 15 * 60
SUBMIT_ATTEMPTS = 5
DELIVERY_ATTEMPTS = 8
DELIVERY_RETRY_BASE = 2.0  # seconds before the second delivery attempt; doubles each time, up to 2 min
DELIVERY_CONCURRENCY = 4  # downloads and re-encodes at once; more jobs finishing at once wait their turn
HOUSEKEEPING_INTERVAL = 3600.0


@dataclass(frozen=True, slots=True)
class EngineConfig:
    public_base_url: str | None
    poll_interval: float = 15.0
    job_timeout: float = 3600.0
    max_in_flight_per_user: int = 2
    max_poll_rate: float = 5.0  # provider status queries per second, across all jobs
    poll_concurrency: int = 4
    max_poll_backoff: float = 300.0
    # With callbacks, a job is polled only when its callback is this late.
    callback_grace: float = 180.0
    batch_size: int = 50


@dataclass(frozen=True, slots=True)
class AcceptedJob:
    job: JobRecord
    limit: AppliedLimit
    spent: int  # credits spent this period, this job included


class JobEngine:
    def __init__(
        self,
        *,
        store: Store,
        provider: ProviderClient,
        publisher: JobPublisher,
        metrics: Metrics,
        inputs: InputStore,
        config: EngineConfig,
        costs: CostTable | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.provider = provider
        self.publisher = publisher
        self.metrics = metrics
        self.inputs = inputs
        self.config = config
        self.costs = costs or CostTable()
        self.clock = clock
        self.hosting = JobHosting(store, inputs, config.public_base_url, clock)
        self.poller = Poller(
            store=store,
            provider=provider,
            metrics=metrics,
            settings=PollSettings(
                interval=config.poll_interval,
                max_backoff=config.max_poll_backoff,
                max_rate=config.max_poll_rate,
                concurrency=config.poll_concurrency,
                batch_size=config.batch_size,
            ),
            apply_update=self.apply_update,
            clock=clock,
        )
        self._inbox_writer = InboxWriter(store, clock)
        self._token_cache: dict[str, JobRecord] = {}
        self._wake_inbox = asyncio.Event()
        self._wake_poller = asyncio.Event()
        self._wake_audit = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._delivering: set[str] = set()
        self._delivery_slots = asyncio.Semaphore(DELIVERY_CONCURRENCY)
        self._submitting: set[str] = set()
        self._next_housekeeping = 0.0
        self._running = False
        self.recovered = asyncio.Event()  # set once start-up recovery has scheduled every job
        # Notified after every job transition: lets waiters (tests, benchmarks) wait without polling.
        self.changed = asyncio.Condition()

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._running = True
        self._workers = [
            asyncio.create_task(self._inbox_worker(), name="klingbot-inbox"),
            asyncio.create_task(self._poll_worker(), name="klingbot-poller"),
            asyncio.create_task(self._audit_worker(), name="klingbot-audit"),
        ]
        await self.recover()

    async def stop(self, grace: float = 5.0) -> None:
        """Stop background loops, give in-flight submissions and deliveries a moment to finish."""
        self._running = False
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        pending = [t for t in self._tasks if not t.done()]
        if pending:
            _, still_running = await asyncio.wait(pending, timeout=grace)
            for task in still_running:
                task.cancel()
            await asyncio.gather(*still_running, return_exceptions=True)

    def _spawn(self, coro: Awaitable[Any], name: str) -> None:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    async def recover(self) -> None:
        """Pick every unfinished job up again: resubmit, poll or deliver as its state says."""
        now = self.clock()
        pending = await self.store.jobs_in_states([JobState.PENDING])
        submitted = await self.store.jobs_in_states([JobState.SUBMITTED])
        succeeded = await self.store.jobs_in_states([JobState.SUCCEEDED])
        for job in pending:
            self._spawn(self._submit(job.id), f"submit-{job.id}")
        for job in submitted:
            # Whatever happened while we were down (a finished task, a lost callback), ask now.
            await self.store.schedule_poll(job.id, now, job.poll_attempts)
        for job in succeeded:
            self._spawn(self._deliver(job.id), f"deliver-{job.id}")
        self._refresh_in_flight_gauge(len(pending) + len(submitted))
        self._wake_poller.set()
        self._wake_inbox.set()
        self.recovered.set()
        if pending or submitted or succeeded:
            log.info(
                "recovered %d pending, %d submitted and %d finished jobs",
                len(pending),
                len(submitted),
                len(succeeded),
            )

    def _refresh_in_flight_gauge(self, value: int) -> None:
        self.metrics.jobs_in_flight.set(value)

    # ---- accepting -------------------------------------------------------------------------

    async def limit_for(self, requester: Requester) -> AppliedLimit:
        if requester.guild_id is None:
            return AppliedLimit(None, period=Period.DAY, source="no limit set")
        limits = await self.store.quota_limits(requester.guild_id)
        return applicable_limit(limits, requester.user_id, requester.role_ids)

    def cost_of(self, draft: JobDraft) -> int:
        return self.costs.cost(
            draft.kind,
            mode=str(draft.options.get("mode", "std")),
            duration=_as_float(draft.options.get("duration")),
            reference_seconds=draft.reference_seconds,
        )

    async def check_can_start(self, draft: JobDraft) -> None:
        """Everything that can refuse a job without spending anything, cheapest first."""
        requester = draft.requester
        if requester.guild_id is not None:
            settings = await self.store.get_guild_settings(requester.guild_id)
            check_policy(
                settings,
                channel_id=requester.channel_id,
                parent_channel_id=requester.parent_channel_id,
                texts=(draft.options.get("prompt"), draft.options.get("negative_prompt")),
            )
        if not self.provider.supports(draft.kind):
            raise Refusal(
                f"This bot's video provider ({self.provider.name}) does not offer "
                f"{_KIND_NAMES[draft.kind]}; only /motion works here."
            )
        if self.provider.needs_input_urls and self.config.public_base_url is None:
            for file in draft.inputs:
                if file.converted or file.source_url is None:
                    raise Refusal(
                        f"Your {file.role.replace('_', ' ')} had to be converted, and this bot cannot host "
                        "converted files (the operator has not set PUBLIC_BASE_URL). Upload a PNG/JPEG image "
                        "and an MP4/MOV video within the limits, and try again."
                    )

    async def accept(self, draft: JobDraft) -> AcceptedJob:
        """Persist the job and reserve its credits, then submit it in the background.

        Raises Refusal (nothing spent, nothing written) when policy or quota say no.
        """
        await self.check_can_start(draft)
        requester = draft.requester
        limit = await self.limit_for(requester)
        window_start, _ = period_window(limit.period, self.clock())
        quota = QuotaCheck(
            limit=limit.credits,
            window_start=window_start,
            max_in_flight=self.config.max_in_flight_per_user,
        )
        job_id = new_job_id()
        described = await self.inputs.save(job_id, draft.inputs)
        source_urls = {f.role: f.source_url for f in draft.inputs if f.source_url and not f.converted}
        params = dict(draft.options)
        params["inputs"] = described
        params["_source_urls"] = source_urls  # private: Discord's signed URLs, never displayed
        if draft.reference_seconds is not None:
            params["reference_seconds"] = round(draft.reference_seconds, 3)
        if draft.notes:
            params["notes"] = list(draft.notes)
        now = self.clock()
        credits = self.cost_of(draft)
        new = NewJob(
            id=job_id,
            guild_id=requester.guild_id,
            channel_id=requester.channel_id,
            user_id=requester.user_id,
            kind=draft.kind.value,
            params=params,
            provider=self.provider.name,
            callback_token=new_token(),
            input_token=new_token(),
            credits=credits,
            interaction_token=requester.interaction_token,
            interaction_expires_at=requester.interaction_expires_at,
            application_id=requester.application_id,
            created_at=now,
            parent_job_id=draft.parent_job_id,
        )
        reservation = await self.store.create_job(new, quota)
        if not reservation.accepted:
            await self.inputs.remove(job_id)
            raise Refusal(self._refusal_text(reservation.reason, limit, reservation.spent, credits))
        job = await self.store.get_job(job_id)
        assert job is not None
        await self._notify()
        self.metrics.jobs.labels(kind=job.kind, outcome="accepted").inc()
        await self.audit(
            job.guild_id, job.user_id, "job submitted", f"{_describe(job)} · cost {credits}", job.id
        )
        with log_fields(job_id=job.id, guild_id=job.guild_id, user_id=job.user_id):  # the submit task too
            log.info("job %s accepted: %s", job.id, _describe(job))
            self._spawn(self._submit(job.id), f"submit-{job.id}")
        return AcceptedJob(job, limit, reservation.spent)

    def _refusal_text(self, reason: str | None, limit: AppliedLimit, spent: int, cost: int) -> str:
        if reason == "in_flight":
            return (
                f"You already have {self.config.max_in_flight_per_user} videos in progress. Wait for one to "
                "finish (see /jobs), then try again."
            )
        left = max(0, (limit.credits or 0) - spent)
        _, reset_at = period_window(limit.period, self.clock())
        return (
            f"This video costs {cost} credit{'s' if cost != 1 else ''} and you have {left} left "
            f"{_PERIOD_NOW[limit.period]} ({limit.source}). Your credits reset <t:{int(reset_at)}:R>; "
            "see /quota for details."
        )

    # ---- submitting ------------------------------------------------------------------------

    def callback_url(self, job: JobRecord) -> str | None:
        return self.hosting.callback_url(job)

    async def build_request(self, job: JobRecord) -> GenerationRequest:
        return await build_request(job, self.inputs, self.hosting.input_url)

    async def _submit(self, job_id: str) -> None:
        if job_id in self._submitting:
            return
        self._submitting.add(job_id)
        try:
            with log_fields(job_id=job_id):
                await self._submit_with_retries(job_id)
        finally:
            self._submitting.discard(job_id)

    async def _submit_with_retries(self, job_id: str) -> None:
        for attempt in range(SUBMIT_ATTEMPTS):
            job = await self.store.get_job(job_id)
            if job is None or job.status is not JobState.PENDING:
                return
            try:
                if await self._adopt_existing_task(job):
                    return
                await self.store.note_submit_attempt(job.id, self.clock())
                request = await self.build_request(job)
                task_id = await self.provider.submit(
                    request, job_id=job.id, callback_url=self.callback_url(job)
                )
            except ProviderError as error:
                self.metrics.provider_errors.labels(category=error.category.value).inc()
                if error.category.is_retryable and attempt < SUBMIT_ATTEMPTS - 1:
                    delay = min(60.0, 2.0 * 2**attempt) * random.uniform(0.5, 1.0)
                    log.warning("submitting job %s failed (%s); retrying in %.1fs", job.id, error, delay)
                    await asyncio.sleep(delay)
                    continue
                await self._fail(job, error.category, error.message, None)
                return
            now = self.clock()
            if await self.store.mark_submitted(job.id, task_id, now, self._first_poll_at(now)):
                log.info("job %s submitted as task %s", job.id, task_id)
                await self._notify()
                refreshed = await self.store.get_job(job.id)
                if refreshed is not None:
                    await self._publish_progress(refreshed)
            self._wake_poller.set()
            return

    async def _adopt_existing_task(self, job: JobRecord) -> bool:
        """After a crash between "submit sent" and "task id stored", find the task instead of paying twice."""
        if job.submit_attempts == 0 or not self.provider.supports_lookup_by_job_id:
            return False
        found = await self.provider.find_by_job_id(job.id, kind=JobKind(job.kind))
        if found is None:
            return False
        now = self.clock()
        await self.store.mark_submitted(job.id, found.task_id, now, now)
        log.info("job %s: found task %s submitted before a restart", job.id, found.task_id)
        refreshed = await self.store.get_job(job.id)
        if refreshed is not None:
            await self.apply_update(refreshed, found)
        return True

    def _first_poll_at(self, now: float) -> float:
        if self.config.public_base_url is None:
            return now + self.config.poll_interval
        return now + max(self.config.callback_grace, self.config.poll_interval)

    # ---- callbacks -------------------------------------------------------------------------

    async def accept_callback(self, token: str, body: Any, headers: Mapping[str, str]) -> CallbackOutcome:
        """Authenticate, read and persist a callback; processing happens after the 200, off this path."""
        job = await self._job_for_callback_token(token)
        if job is None:
            return CallbackOutcome(404, "unknown_token")
        if not self.provider.verify_callback(headers, body, now=self.clock()):
            return CallbackOutcome(401, "bad_signature")
        try:
            update = self.provider.parse_callback(body)
        except (ValueError, KeyError, TypeError, AttributeError):
            return CallbackOutcome(400, "unreadable")
        if job.provider_task_id and update.task_id and update.task_id != job.provider_task_id:
            log.warning("callback for job %s names another task; ignored", job.id)
            return CallbackOutcome(409, "task_mismatch")
        await self._inbox_writer.add(job.id, json.dumps(body))
        self._wake_inbox.set()
        return CallbackOutcome(200, "accepted")

    async def _job_for_callback_token(self, token: str) -> JobRecord | None:
        """Tokens never change, so a job found once is remembered (with its task id, once known)."""
        cached = self._token_cache.get(token)
        if cached is not None:
            return cached
        job = await self.store.get_job_by_callback_token(token)
        if job is not None and job.provider_task_id is not None:
            if len(self._token_cache) >= 10_000:
                self._token_cache.clear()
            self._token_cache[token] = job
        return job

    async def _inbox_worker(self) -> None:
        while self._running:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake_inbox.wait(), timeout=5.0)
            self._wake_inbox.clear()
            try:
                await self.process_inbox()
            except Exception:
                log.exception("processing callbacks failed; will retry")

    async def process_inbox(self) -> int:
        """Apply every stored callback, oldest first. An item whose processing fails stays in the inbox
        for the next pass (after a restart at the latest) without holding up the others."""
        processed = 0
        failed: set[int] = set()
        while True:
            items = [i for i in await self.store.pending_callbacks(100 + len(failed)) if i.id not in failed]
            if not items:
                return processed
            for item in items:
                try:
                    await self._process_callback(item.job_id, item.body)
                except Exception:
                    log.exception("processing a callback for job %s failed; will retry", item.job_id)
                    failed.add(item.id)
                    continue
                await self.store.mark_callback_processed(item.id, self.clock())
                processed += 1

    async def _process_callback(self, job_id: str, body: str) -> None:
        job = await self.store.get_job(job_id)
        if job is None:
            return
        try:
            update = self.provider.parse_callback(json.loads(body))
        except (ValueError, KeyError, TypeError, AttributeError):
            return
        with log_fields(job_id=job.id, guild_id=job.guild_id, user_id=job.user_id):
            log.info("job %s: callback reports %s", job.id, update.status.value)
            await self.apply_update(job, update)
        await self._push_back_poll(job)

    async def _push_back_poll(self, job: JobRecord) -> None:
        # A callback just arrived: the job is not overdue, so there is no need to poll it soon.
        if job.status is JobState.SUBMITTED and self.config.public_base_url is not None:
            await self.store.schedule_poll(job.id, self.clock() + self.config.callback_grace, 0)

    # ---- the one transition ----------------------------------------------------------------

    async def apply_update(self, job: JobRecord, update: TaskUpdate) -> bool:
        """Apply a report from a callback or a poll; only the first terminal report changes anything."""
        now = self.clock()
        if update.status is TaskStatus.SUCCEEDED and update.video_url:
            changed = await self.store.mark_succeeded(
                job.id,
                video_url=update.video_url,
                video_id=update.video_id,
                duration=update.duration,
                provider_status=update.raw_status or update.status.value,
                now=now,
            )
            if changed:
                self.metrics.jobs.labels(kind=job.kind, outcome="succeeded").inc()
                started = job.submitted_at or job.created_at
                self.metrics.generation_seconds.labels(kind=job.kind).observe(max(0.0, now - started))
                await self.audit(
                    job.guild_id,
                    job.user_id,
                    "job finished",
                    f"{_describe(job)} · charged {job.credits}",
                    job.id,
                )
                self._spawn(self._deliver(job.id), f"deliver-{job.id}")
                await self._notify()
            return changed
        if update.status is TaskStatus.FAILED:
            category = update.error_category or ErrorCategory.FAILED
            message = update.error_message or "The provider could not make this video."
            return await self._fail(job, category, message, update.raw_status)
        changed = await self.store.record_progress(
            job.id,
            update.raw_status or update.status.value,
            "generating" if update.status is TaskStatus.PROCESSING else None,
            now,
        )
        if changed:
            await self._notify()
            refreshed = await self.store.get_job(job.id)
            if refreshed is not None:
                await self._publish_progress(refreshed)
        return False

    async def _fail(
        self, job: JobRecord, category: ErrorCategory, message: str, provider_status: str | None
    ) -> bool:
        changed = await self.store.mark_failed(
            job.id,
            category=category.value,
            message=message,
            provider_status=provider_status,
            now=self.clock(),
        )
        if not changed:
            return False
        await self._notify()
        self.metrics.jobs.labels(kind=job.kind, outcome="failed").inc()
        if category is ErrorCategory.AUTH:
            log.error("the provider refused the bot's credentials: %s", message)
        else:
            log.info("job %s failed: %s: %s", job.id, category.value, message)
        await self.audit(
            job.guild_id,
            job.user_id,
            "job failed",
            f"{_describe(job)} · {category.value}: {message} · refunded {job.credits}",
            job.id,
        )
        failed = await self.store.get_job(job.id)
        if failed is not None:
            try:
                await self.publisher.failed(failed)
            except Exception:
                log.exception("could not tell the member that job %s failed", job.id)
        return True

    async def _publish_progress(self, job: JobRecord) -> None:
        try:
            await self.publisher.progress(job)
        except Exception:
            log.warning("could not update the progress of job %s", job.id, exc_info=True)

    # ---- polling ---------------------------------------------------------------------------

    async def _poll_worker(self) -> None:
        tick = min(1.0, self.config.poll_interval)
        while self._running:
            try:
                await self.fail_timed_out_jobs()
                await self.poll_due_jobs()
            except Exception:
                log.exception("polling failed; will retry")
            if time.monotonic() >= self._next_housekeeping:
                self._next_housekeeping = time.monotonic() + HOUSEKEEPING_INTERVAL
                try:
                    await self.hosting.remove_expired_results()
                except Exception:
                    log.warning("removing expired hosted videos failed", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake_poller.wait(), timeout=tick)
            self._wake_poller.clear()

    async def poll_due_jobs(self) -> int:
        return await self.poller.poll_due_jobs()

    async def fail_timed_out_jobs(self) -> int:
        deadline = self.clock() - self.config.job_timeout
        # Only the overdue ones are read: this runs every poll tick, whatever the number in flight.
        stale = await self.store.jobs_created_before([JobState.PENDING, JobState.SUBMITTED], deadline)
        for job in stale:
            minutes = round(self.config.job_timeout / 60)
            await self._fail(
                job,
                ErrorCategory.TRANSIENT,
                f"The provider did not finish this video within {minutes} minutes.",
                "timeout",
            )
        return len(stale)

    def wake(self) -> None:
        """Run the poller and the inbox now rather than at their next tick."""
        self._wake_poller.set()
        self._wake_inbox.set()

    # ---- delivery --------------------------------------------------------------------------

    async def _deliver(self, job_id: str) -> None:
        if job_id in self._delivering:
            return
        self._delivering.add(job_id)
        try:
            async with self._delivery_slots:
                with log_fields(job_id=job_id):
                    await self._deliver_with_retries(job_id)
        finally:
            self._delivering.discard(job_id)

    async def _deliver_with_retries(self, job_id: str) -> None:
        for attempt in range(DELIVERY_ATTEMPTS):
            job = await self.store.begin_delivery(job_id, new_token()[:25], self.clock())
            if job is None:
                return  # delivered already, or not finished
            try:
                await self._publish_progress(job)
                result = await self.publisher.deliver(job)
            except Exception as problem:
                # DeliveryRetry is a passing problem; anything else is unexpected (a Discord refusal
                # nobody planned for, a bug): log it loudly, but retry all the same, so the job is not
                # left "finished, never posted" until the next restart.
                delay = min(120.0, DELIVERY_RETRY_BASE * 2**attempt) * random.uniform(0.5, 1.0)
                if isinstance(problem, DeliveryRetry):
                    log.warning("delivering job %s: %s; retrying in %.1fs", job_id, problem, delay)
                else:
                    log.exception("delivering job %s failed unexpectedly; retrying in %.1fs", job_id, delay)
                if attempt < DELIVERY_ATTEMPTS - 1:
                    await asyncio.sleep(delay)
                continue
            now = self.clock()
            if await self.store.mark_delivered(
                job.id,
                message_id=result.message_id,
                channel_id=result.channel_id,
                via=result.via,
                note=result.note,
                now=now,
            ):
                log.info(
                    "job %s delivered (%s%s)", job.id, result.via, f"; {result.note}" if result.note else ""
                )
                await self._notify()
                self.metrics.jobs.labels(kind=job.kind, outcome=f"delivered_{result.via}").inc()
                if job.finished_at is not None:
                    self.metrics.delivery_latency_seconds.observe(max(0.0, now - job.finished_at))
                if result.via == "none":
                    await self._show_final_progress(job.id)
            return
        log.error("giving up posting job %s after %d attempts; it stays on /job", job_id, DELIVERY_ATTEMPTS)
        self.metrics.deliveries_given_up.inc()
        if await self.store.mark_delivered(
            job_id, message_id=None, channel_id=None, via="none", note="could not post", now=self.clock()
        ):
            await self._notify()
            await self._show_final_progress(job_id)

    async def _show_final_progress(self, job_id: str) -> None:
        """Nothing was posted: the progress message (where it still exists) must not say "uploading"."""
        job = await self.store.get_job(job_id)
        if job is not None:
            await self._publish_progress(job)

    # ---- audit -----------------------------------------------------------------------------

    async def audit(
        self, guild_id: int | None, actor_id: int | None, action: str, detail: str, job_id: str | None = None
    ) -> None:
        if guild_id is None:
            return
        await self.store.add_audit(guild_id, actor_id, action, detail, job_id, self.clock())
        self._wake_audit.set()

    async def _audit_worker(self) -> None:
        while self._running:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake_audit.wait(), timeout=30.0)
            self._wake_audit.clear()
            try:
                for entry in await self.store.unposted_audit(50):
                    if await self.publisher.audit(entry):
                        await self.store.mark_audit_posted(entry.id, self.clock())
            except Exception:
                log.warning("posting audit lines failed; will retry", exc_info=True)


_PERIOD_NOW = {Period.DAY: "today", Period.WEEK: "this week", Period.MONTH: "this month"}
_KIND_NAMES = {
    JobKind.MOTION: "motion control",
    JobKind.TEXT2VIDEO: "text-to-video",
    JobKind.IMAGE2VIDEO: "image-to-video",
    JobKind.EXTEND: "extending videos",
}


def _describe(job: JobRecord) -> str:
    return f"`{job.id}` {job.kind} by <@{job.user_id}>"


def _as_float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
