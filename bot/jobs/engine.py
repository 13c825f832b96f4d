"""The job engine: the one place a job moves from "asked for" to "delivered".

A job is persisted with its credit reservation before the provider hears of it; every later step
(submission, callbacks, polls, timeouts, delivery) goes through a conditional update in the store, so
a crash at any point, a duplicate callback or a poll racing a callback can never lose the job, post it
twice or charge twice. Background work is restarted from the store when the bot starts.

This module wires the rooms together and runs them: admission, the line (queue), submitter, callbacks,
transitions, delivery, polling and the background loops each do one job.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from bot.jobs.admission import AcceptedJob, Admission
from bot.jobs.audit import AuditAction, AuditRecord, AuditTrail, job_facts
from bot.jobs.callbacks import CallbackInbox, CallbackOutcome
from bot.jobs.config import EngineConfig
from bot.jobs.delivery import Deliveries
from bot.jobs.drafts import JobDraft, Requester
from bot.jobs.gauges import JobGauges
from bot.jobs.hosting import JobHosting
from bot.jobs.inputs import InputStore
from bot.jobs.leases import Leases
from bot.jobs.loops import DueLoop, TaskSet, job_log_fields
from bot.jobs.polling import Poller, PollSettings
from bot.jobs.publisher import JobPublisher
from bot.jobs.queue import Dispatcher
from bot.jobs.quota import AppliedLimit, CostTable
from bot.jobs.retention import Retention
from bot.jobs.submitter import Submitter
from bot.jobs.transitions import Transitions
from bot.metrics import Metrics
from bot.models import TaskUpdate
from bot.providers.base import ProviderClient
from db.notify import LOOK_AGAIN, Channel, Subscription
from db.records import JobRecord, JobState
from db.store import Store

__all__ = ["AcceptedJob", "CallbackOutcome", "EngineConfig", "JobEngine"]

log = logging.getLogger(__name__)

AUDIT_BATCH = 50  # audit lines read per pass
RETENTION = "retention"  # its lease: one process at a time prunes what the store and media keep
LEASE_MARGIN = 0.01  # a lease has lapsed once the clock is past it; look just after


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
        self.gauges = JobGauges(store, metrics, inputs.usage)
        self.leases = Leases(store, config.instance_id, config.lease_seconds, clock)
        self.retention = Retention(
            store, inputs, self.hosting, config.retention, clock, turn=self._retention_turn
        )
        self.background = TaskSet()
        self._build_loops()
        self._build_rooms()
        # Notified after every job transition: lets waiters (tests, benchmarks) wait without polling.
        self.changed = self.transitions.changed
        self.recovered = asyncio.Event()  # set once start-up recovery has scheduled every job
        self._workers: list[asyncio.Task[None]] = []
        self._subscriptions: list[Subscription] = []
        self._tasks = self.background.tasks  # per-job work (submissions, deliveries)

    def _build_rooms(self) -> None:
        store, provider, publisher, metrics = self.store, self.provider, self.publisher, self.metrics
        inputs, config, clock = self.inputs, self.config, self.clock
        self.audit_trail = AuditTrail(store, clock, written=self._audit_loop.wake)
        self.transitions = Transitions(
            store=store,
            publisher=publisher,
            metrics=metrics,
            audit=self.audit_trail,
            clock=clock,
            succeeded=self._start_delivery,
            slot_freed=self._slot_freed,
            after_change=self._after_transition,
        )
        self.line = Dispatcher(
            transitions=self.transitions,
            config=config,
            start_submission=self._start_submission,
            leases=self.leases,
        )
        self._loops.extend((self.line.loop, self.line.places))
        self.admission = Admission(
            store=store, provider=provider, inputs=inputs, config=config, costs=self.costs, clock=clock
        )
        self.submitter = Submitter(
            self.transitions,
            provider,
            inputs,
            self.hosting,
            config,
            leases=self.leases,
            submitted=self._poll_loop.wake,
            full=self.line.provider_full,
        )
        self.deliveries = Deliveries(
            self.transitions,
            leases=self.leases,
            policy=config.delivery_retry,
            concurrency=config.delivery_concurrency,
        )
        self._build_report_rooms()

    def _build_report_rooms(self) -> None:
        """Where the provider's reports come in: callbacks through the inbox, and polling."""
        store, provider, config, clock = self.store, self.provider, self.config, self.clock
        self.callbacks = CallbackInbox(
            store=store,
            provider=provider,
            apply_update=self.apply_update,
            clock=clock,
            callback_grace=config.callback_grace if config.public_base_url is not None else None,
            written=self._inbox_loop.wake,
            leases=self.leases,
            retry_after=config.inbox_retry,
            token_cache_size=config.token_cache_size,
        )
        self.poller = Poller(
            store=store,
            provider=provider,
            metrics=self.metrics,
            settings=PollSettings(
                interval=config.poll_interval,
                max_backoff=config.max_poll_backoff,
                max_rate=config.max_poll_rate,
                concurrency=config.poll_concurrency,
                batch_size=config.batch_size,
            ),
            apply_update=self.apply_update,
            clock=clock,
            leases=self.leases,
        )

    def _build_loops(self) -> None:
        clock, config = self.clock, self.config
        self._inbox_loop = DueLoop(
            "klingbot-inbox", self._inbox_pass, clock=clock, retry_after=config.inbox_retry
        )
        self._poll_loop = DueLoop("klingbot-poller", self._poll_pass, clock=clock)
        self._timeout_loop = DueLoop("klingbot-timeouts", self._timeout_pass, clock=clock)
        self._audit_loop = DueLoop(
            "klingbot-audit", self._audit_pass, clock=clock, retry_after=config.audit_retry
        )
        self._takeover_loop = DueLoop("klingbot-takeover", self._takeover_pass, clock=clock)
        self._loops = [
            self._takeover_loop,
            self._inbox_loop,
            self._poll_loop,
            self._timeout_loop,
            self._audit_loop,
            self.retention.loop,
        ]

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        if self.config.sole_process:
            await self.store.release_leases()  # a previous run's, which can hold nothing any more
        await self.retention.start()  # before any delivery starts writing to the media folder
        await self._follow_the_store()
        self._workers = [asyncio.create_task(loop.run(), name=loop.name) for loop in self._loops]
        await self.recover()

    async def _follow_the_store(self) -> None:
        """Work written by any process sharing the store (a listener's callback, a gateway's job, an
        audit line) wakes this one at once, not at its next due time."""
        notifier = self.store.notifier
        self._subscriptions = [
            await notifier.listen(Channel.CALLBACK_ARRIVED, lambda _: self._inbox_loop.wake()),
            await notifier.listen(Channel.AUDIT_ADDED, lambda _: self._audit_loop.wake()),
            await notifier.listen(Channel.JOB_ACCEPTED, self._job_accepted),
            await notifier.listen(Channel.SLOT_FREED, lambda _: self.wake_line()),
        ]

    def _job_accepted(self, job_id: str) -> None:
        # The submitter skips a job it is already submitting or that is no longer pending.
        if job_id == LOOK_AGAIN:
            self.background.spawn(self._submit_pending(), "submit-pending")
        else:
            self._start_submission(job_id)
        self.wake_line()  # a job another process accepted may be next in line
        self._timeout_loop.wake()

    async def _submit_pending(self) -> None:
        for job in await self.store.free_jobs([JobState.PENDING], self.leases.owner, self.clock()):
            self._start_submission(job.id)

    async def stop(self, grace: float = 5.0) -> None:
        """Stop background loops, give in-flight submissions and deliveries a moment to finish."""
        for subscription in self._subscriptions:
            subscription.cancel()
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        await self.background.stop(grace)

    async def recover(self) -> None:
        """Pick every unfinished job no other process holds up again: resubmit, poll or deliver as its
        state says; the line (in the store, in its order) moves again as the dispatcher starts."""
        now = self.clock()
        owner = self.leases.owner
        pending = await self.store.free_jobs([JobState.PENDING], owner, now)
        submitted = await self.store.free_jobs([JobState.SUBMITTED], owner, now)
        succeeded = await self.store.free_jobs([JobState.SUCCEEDED], owner, now)
        for job in pending:
            self._start_submission(job.id)
        for job in submitted:
            # Whatever happened while we were down (a finished task, a lost callback), ask now.
            await self.store.schedule_poll(job.id, now, job.poll_attempts)
        for job in succeeded:
            self._start_delivery(job.id)
        await self.gauges.refresh()
        self.wake()
        self.wake_line()
        self.recovered.set()
        if pending or submitted or succeeded:
            log.info(
                "recovered %d pending, %d submitted and %d finished jobs",
                len(pending),
                len(submitted),
                len(succeeded),
            )

    def wake(self) -> None:
        """Run the poller, the timeout sweep and the inbox now rather than when next due."""
        self._poll_loop.wake()
        self._timeout_loop.wake()
        self._inbox_loop.wake()

    def wake_line(self) -> None:
        """The line may move (a slot freed, a server resumed) or its places changed (a pause)."""
        self.line.wake()

    def _slot_freed(self) -> None:
        """A job left the provider: this line moves now, and every other worker's through the store."""
        self.wake_line()
        self.background.spawn(self.store.notify(Channel.SLOT_FREED), "slot-freed")

    def _start_submission(self, job_id: str) -> None:
        if self.config.background_work:
            self.background.spawn(self.submitter.submit(job_id), f"submit-{job_id}")

    def _start_delivery(self, job_id: str) -> None:
        if self.config.background_work:
            self.background.spawn(self.deliveries.deliver(job_id), f"deliver-{job_id}")

    # ---- accepting -------------------------------------------------------------------------

    async def limit_for(self, requester: Requester) -> AppliedLimit:
        return await self.admission.limit_for(requester)

    def cost_of(self, draft: JobDraft) -> int:
        return self.admission.cost_of(draft)

    async def check_can_start(self, draft: JobDraft) -> None:
        """Everything that can refuse a job without spending anything, cheapest first (JobRefused):
        policy, then credits for the cheapest cost of the command and room for another job. Runs before
        any attachment is downloaded."""
        await self.admission.check_can_start(draft)
        await self.admission.check_credits_and_room(draft)

    async def accept(self, draft: JobDraft) -> AcceptedJob:
        """Persist the job and reserve its credits in the line; it is submitted at once (in the
        background) when a slot is free, else it waits and `standing` says where.

        Raises JobRefused (nothing spent, nothing written) when policy, quota or the waiting cap say no.
        """
        accepted = await self.admission.admit(draft)
        job = accepted.job
        with job_log_fields(job):
            log.info("job %s accepted: %s, %d credits", job.id, job.kind, job.credits)
        await self.transitions.notify()
        self.metrics.jobs.labels(kind=job.kind, outcome="accepted").inc()
        await self.audit_trail.record(
            AuditRecord(AuditAction.JOB_SUBMITTED, job.guild_id, job.user_id, job.id, job_facts(job))
        )
        if self.config.background_work:
            await self.line.dispatch()  # a gateway-only process leaves the line to the workers
        self._timeout_loop.wake()  # its deadline may be the next one
        current = await self.store.get_job(job.id) or job
        if current.status is not JobState.QUEUED:
            return replace(accepted, job=current)
        self.line.places.wake()  # its progress message shows its place
        return replace(accepted, job=current, standing=await self.line.standing(job.id))

    # ---- reports from the provider ---------------------------------------------------------

    async def accept_callback(self, token: str, body: Any, headers: Mapping[str, str]) -> CallbackOutcome:
        return await self.callbacks.accept(token, body, headers)

    async def process_inbox(self) -> int:
        return await self.callbacks.process()

    async def apply_update(self, job: JobRecord, update: TaskUpdate) -> bool:
        return await self.transitions.apply_update(job, update)

    async def poll_due_jobs(self) -> int:
        return await self.poller.poll_due_jobs()

    async def fail_timed_out_jobs(self) -> int:
        return await self.transitions.fail_timed_out(self.config.job_timeout)

    # ---- the loops' passes -----------------------------------------------------------------

    async def _after_transition(self) -> None:
        await self.gauges.refresh_jobs()
        self.retention.due_by(self.clock() + self.config.retention.media_seconds)  # if a job just finished

    async def _inbox_pass(self) -> float | None:
        await self.gauges.refresh_inbox()
        if await self.callbacks.process():
            self.retention.due_by(self.clock() + self.config.retention.callback_seconds)
        await self.gauges.refresh_inbox()
        return self.clock() + self.config.inbox_retry if self.callbacks.failed_last_pass else None

    async def _poll_pass(self) -> float | None:
        await self.poll_due_jobs()
        return await self.store.next_poll_due_at()

    async def _timeout_pass(self) -> float | None:
        await self.fail_timed_out_jobs()
        oldest = await self.store.earliest_running_start()
        return None if oldest is None else oldest + self.config.job_timeout

    async def _audit_pass(self) -> float | None:
        """Post the unposted audit lines no other process holds; lines the publisher could not post yet
        are tried again later (by any process)."""
        entries = await self.store.claim_audit(self.leases.terms(), AUDIT_BATCH)
        left_behind = False
        for entry in entries:
            if await self.publisher.audit(entry):
                await self.store.mark_audit_posted(entry.id, self.clock())
                self.retention.due_by(self.clock() + self.config.retention.audit_seconds)
            else:
                left_behind = True
                until = self.clock() + self.config.audit_retry
                await self.store.defer_audit(entry.id, self.leases.owner, until)
        if left_behind:
            return self.clock() + self.config.audit_retry
        return self.clock() if len(entries) == AUDIT_BATCH else None  # a full batch: there may be more

    async def _retention_turn(self) -> float | None:
        """None when this process holds the retention lease, else when to ask again (a lease from now:
        by then the holder's lease has lapsed or been renewed)."""
        terms = self.leases.terms()
        return None if await self.store.claim_task(RETENTION, terms) else terms.until

    async def _takeover_pass(self) -> float | None:
        """Work whose lease lapsed (its process died) is taken over; sleeps until the next lease lapses."""
        now = self.clock()
        for job in await self.store.free_jobs([JobState.PENDING, JobState.SUCCEEDED], self.leases.owner, now):
            if job.status is JobState.PENDING:
                self._start_submission(job.id)
            else:
                self._start_delivery(job.id)
        self._inbox_loop.wake()
        self._audit_loop.wake()
        self._poll_loop.wake()
        lapses = await self.store.next_lease_expiry(now)
        return None if lapses is None else lapses + LEASE_MARGIN
