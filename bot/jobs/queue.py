"""The line: accepted jobs wait in the store for a provider slot and are handed out in fair order.

The dispatcher claims jobs while slots are free (the store counts them and picks the next job, so any
number of processes can share the line) and starts each one's submission. It runs when a job is
accepted, a slot frees, the working limit may rise, a server resumes, and every `line_recheck`
seconds while jobs wait. When the provider says it is full, the job goes back to the front and the
working limit drops to what is running; each quiet `slot_recovery` seconds adds one slot back.

Members see where their jobs stand: a second loop refreshes waiting jobs' progress messages after
the line moves (each message is edited only when its text changes).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from enum import StrEnum

from bot.jobs.audit import AuditAction, AuditRecord, job_facts
from bot.jobs.config import EngineConfig
from bot.jobs.leases import Leases
from bot.jobs.line import Standing, standings, typical_generation
from bot.jobs.loops import DueLoop, job_log_fields
from bot.jobs.transitions import Transitions
from db.records import JobRecord, JobState, LineRules, SlotState

log = logging.getLogger(__name__)


class CancelReason(StrEnum):
    REQUESTER = "requester"
    MODERATOR = "moderator"
    WAIT_LIMIT = "wait_limit"


class CancelOutcome(StrEnum):
    CANCELLED = "cancelled"  # out of the line, credits refunded
    NOT_ALLOWED = "not_allowed"  # neither the requester nor a moderator
    RUNNING = "running"  # it already left the line: the provider cannot stop it
    ENDED = "ended"  # finished, failed or cancelled already


class Dispatcher:
    def __init__(
        self,
        *,
        transitions: Transitions,
        config: EngineConfig,
        start_submission: Callable[[str], None],
        leases: Leases | None = None,
    ) -> None:
        self.transitions = transitions
        self.store, self.metrics, self.clock = transitions.store, transitions.metrics, transitions.clock
        self.config = config
        self.start_submission = start_submission
        self.leases = leases  # a claimed job is leased to this process for its submission
        self.rules = LineRules(config.max_concurrency, config.max_in_flight_per_user)
        self.loop = DueLoop("klingbot-line", self._pass, clock=self.clock)
        self.places = DueLoop("klingbot-line-places", self._show_places, clock=self.clock)
        self._claiming = asyncio.Lock()

    def wake(self) -> None:
        """The line may move: a job arrived, a slot freed, a server resumed."""
        self.loop.wake()
        self.places.wake()

    # ---- handing jobs out ------------------------------------------------------------------

    async def dispatch(self) -> list[JobRecord]:
        """Claim jobs while slots are free and start their submissions; the jobs claimed."""
        async with self._claiming:
            now = self.clock()
            if await self.store.raise_working_limit(self.rules, now, self.config.slot_recovery):
                log.info("the provider has been quiet: one more slot")
            claimed = []
            lease = self.leases.terms() if self.leases is not None else None
            while (job := await self.store.claim_next_job(self.rules, now, lease)) is not None:
                claimed.append(job)
                self.metrics.queue_wait_seconds.observe(max(0.0, now - job.created_at))
                self.start_submission(job.id)
        if claimed:
            await self.transitions.notify()
            self.places.wake()
        return claimed

    async def _pass(self) -> float | None:
        await self.expire_waits()
        await self.dispatch()
        state = await self.store.slot_state(self.rules)
        self._record(state)
        return self._next_due(state)

    def _next_due(self, state: SlotState) -> float | None:
        due = []
        if state.waiting:
            due.append(self.clock() + self.config.line_recheck)
            if state.oldest_waiting_since is not None:
                due.append(state.oldest_waiting_since + self.config.max_queue_wait)
            if state.held_until is not None:
                due.append(state.held_until)
        if state.lowered and state.changed_at is not None:
            due.append(state.changed_at + self.config.slot_recovery)
        return min(due) if due else None

    def _record(self, state: SlotState) -> None:
        self.metrics.queue_length.set(state.waiting)
        self.metrics.slots_in_use.set(state.running)
        self.metrics.slot_limit.set(state.working_limit)
        self.metrics.queue_oldest_timestamp.set(state.oldest_waiting_since or 0)

    async def provider_full(self, job: JobRecord) -> None:
        """The provider refused the job for want of a slot: back to the front, fewer slots for now."""
        if not await self.store.return_to_line(job.id, self.rules, self.clock(), self.config.full_hold):
            return
        state = await self.store.slot_state(self.rules)
        log.warning(
            "the provider is full: job %s is back at the front of the line; %d slot(s) for now",
            job.id,
            state.working_limit,
        )
        self._record(state)
        await self.transitions.notify()
        self.wake()

    # ---- leaving the line without running --------------------------------------------------

    async def cancel(self, job: JobRecord, actor_id: int, *, moderator: bool) -> CancelOutcome:
        """Take a waiting job out of the line (the requester or a moderator), refunding it."""
        if actor_id != job.user_id and not moderator:
            return CancelOutcome.NOT_ALLOWED
        reason = CancelReason.REQUESTER if actor_id == job.user_id else CancelReason.MODERATOR
        if await self._cancel(job, actor_id, reason):
            return CancelOutcome.CANCELLED
        current = await self.store.get_job(job.id)
        if current is not None and not current.status.ended:
            return CancelOutcome.RUNNING
        return CancelOutcome.ENDED

    async def expire_waits(self) -> int:
        """Cancel and refund every job that has waited `max_queue_wait` seconds."""
        before = self.clock() - self.config.max_queue_wait
        expired = 0
        for job in await self.store.jobs_created_before([JobState.QUEUED], before):
            expired += await self._cancel(job, None, CancelReason.WAIT_LIMIT)
        return expired

    async def _cancel(self, job: JobRecord, actor_id: int | None, reason: CancelReason) -> bool:
        if not await self.store.cancel_queued(job.id, reason=reason.value, now=self.clock()):
            return False
        with job_log_fields(job):
            log.info("job %s left the line: %s", job.id, reason.value)
        self.metrics.jobs_cancelled.labels(reason=reason.value).inc()
        facts = job_facts(job, reason=reason.value)
        await self.transitions.audit.record(
            AuditRecord(AuditAction.JOB_CANCELLED, job.guild_id, actor_id, job.id, facts)
        )
        await self.transitions.notify()
        ended = await self.store.get_job(job.id)
        if ended is not None:
            try:
                await self.transitions.publisher.cancelled(ended)
            except Exception:
                log.exception("could not tell the member that job %s was cancelled", job.id)
        self.places.wake()
        return True

    # ---- where each waiting job stands -----------------------------------------------------

    async def standings(self) -> dict[str, Standing]:
        snapshot = await self.store.line_snapshot()
        state = await self.store.slot_state(self.rules)
        typical = typical_generation(await self.store.recent_generation_seconds(self.config.eta_sample))
        return standings(snapshot, slots=state.working_limit, generation=typical)

    async def standing(self, job_id: str) -> Standing | None:
        return (await self.standings()).get(job_id)

    async def _show_places(self) -> float | None:
        places = await self.standings()
        for job in await self.store.jobs_in_states([JobState.QUEUED]):
            await self.transitions.publish_progress(job, places.get(job.id))
        return None
