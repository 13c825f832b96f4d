"""Admission: whether a job may start, what it costs, and persisting it with its credits reserved.

Everything that can refuse is checked before anything is spent or written, cheapest first; each
refusal is a typed `JobRefused` (the Discord-facing layer words it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.jobs.capability import capability_problem, draft_has_sound
from bot.jobs.config import EngineConfig
from bot.jobs.drafts import JobDraft, Requester
from bot.jobs.ids import new_job_id, new_token
from bot.jobs.inputs import InputStore
from bot.jobs.line import Standing
from bot.jobs.policy import check_policy
from bot.jobs.quota import AppliedLimit, CostTable, Period, applicable_limit, period_window
from bot.jobs.refusals import (
    CannotHostConverted,
    CapabilityRefused,
    JobRefused,
    KindNotOffered,
    QueueFull,
    QuotaExceeded,
    TooManyInFlight,
)
from bot.models import JobKind
from bot.providers.base import ProviderClient
from db.records import JobRecord, NewJob, QuotaCheck, Reservation
from db.store import Store


@dataclass(frozen=True, slots=True)
class AcceptedJob:
    job: JobRecord
    limit: AppliedLimit
    spent: int  # credits spent this period, this job included
    standing: Standing | None = None  # waiting in the line: where (None: it went straight on)


class Admission:
    def __init__(
        self,
        *,
        store: Store,
        provider: ProviderClient,
        inputs: InputStore,
        config: EngineConfig,
        costs: CostTable,
        clock: Callable[[], float],
    ) -> None:
        self.store = store
        self.provider = provider
        self.inputs = inputs
        self.config = config
        self.costs = costs
        self.clock = clock

    async def limit_for(self, requester: Requester) -> AppliedLimit:
        if requester.guild_id is None:
            return AppliedLimit(None, period=Period.DAY)
        limits = await self.store.quota_limits(requester.guild_id)
        return applicable_limit(limits, requester.user_id, requester.role_ids)

    def cost_of(self, draft: JobDraft) -> int:
        return self.costs.cost(
            draft.kind,
            mode=str(draft.options.get("mode", "std")),
            duration=_as_float(draft.options.get("duration")),
            reference_seconds=draft.reference_seconds,
            sound=draft_has_sound(self.provider.name, draft),
        )

    async def check_can_start(self, draft: JobDraft) -> None:
        """Server policy, then what the provider and its model offer, then whether converted inputs can
        be hosted."""
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
            raise KindNotOffered(self.provider.name, draft.kind)
        problem = capability_problem(self.provider.name, draft)
        if problem is not None:
            raise CapabilityRefused(problem)
        if self.provider.needs_input_urls and self.config.public_base_url is None:
            for file in draft.inputs:
                if file.converted or file.source_url is None:
                    raise CannotHostConverted(file.role)

    async def check_credits_and_room(self, draft: JobDraft) -> None:
        """Before any attachment is read: room for another job, and credits for the cheapest cost this
        command can have (motion's exact cost needs the reference's length; `admit` checks it then).
        A few small queries, so a member over their limit costs the bot no downloads."""
        requester = draft.requester
        # Running jobs never refuse a new one (it waits in line); only a full share of the line does.
        cap = self.config.max_queued_per_user
        if await self.store.count_waiting(requester.guild_id, requester.user_id) >= cap:
            raise QueueFull(cap)
        limit = await self.limit_for(requester)
        if limit.credits is None:
            return
        window_start, resets_at = period_window(limit.period, self.clock())
        spent = await self.store.spent_credits(requester.guild_id, requester.user_id, window_start)
        cheapest = self.cost_of(draft)  # without the reference's length, motion's cheapest cost
        if spent + cheapest > limit.credits:
            left = max(0, limit.credits - spent)
            at_least = draft.kind is JobKind.MOTION and draft.reference_seconds is None
            raise QuotaExceeded(cheapest, left, limit.period, resets_at, limit, at_least=at_least)

    async def admit(self, draft: JobDraft) -> AcceptedJob:
        """Persist the job in the line and reserve its credits in one step; raise a JobRefused (nothing
        kept) if policy, quota or the member's cap on waiting jobs say no."""
        await self.check_can_start(draft)
        limit = await self.limit_for(draft.requester)
        window_start, _ = period_window(limit.period, self.clock())
        quota = QuotaCheck(
            limit=limit.credits,
            window_start=window_start,
            max_in_flight=self.config.max_in_flight_per_user,
            max_queued=self.config.max_queued_per_user,
        )
        new = await self._new_job(draft)
        reservation = await self.store.create_job(new, quota)
        if not reservation.accepted:
            await self.inputs.remove(new.id)
            raise self._refusal(reservation, limit, new.credits)
        job = await self.store.get_job(new.id)
        assert job is not None
        return AcceptedJob(job, limit, reservation.spent)

    async def _new_job(self, draft: JobDraft) -> NewJob:
        requester = draft.requester
        job_id = new_job_id()
        params: dict[str, Any] = dict(draft.options)
        params["inputs"] = await self.inputs.save(job_id, draft.inputs)
        # Private: Discord's signed URLs, never displayed.
        params["_source_urls"] = {
            f.role: f.source_url for f in draft.inputs if f.source_url and not f.converted
        }
        if draft.reference_seconds is not None:
            params["reference_seconds"] = round(draft.reference_seconds, 3)
        if draft.notes:
            params["notes"] = list(draft.notes)
        return NewJob(
            id=job_id,
            guild_id=requester.guild_id,
            channel_id=requester.channel_id,
            user_id=requester.user_id,
            kind=draft.kind.value,
            params=params,
            provider=self.provider.name,
            callback_token=new_token(),
            input_token=new_token(),
            credits=self.cost_of(draft),
            interaction_token=requester.interaction_token,
            interaction_expires_at=requester.interaction_expires_at,
            application_id=requester.application_id,
            created_at=self.clock(),
            parent_job_id=draft.parent_job_id,
            queued=True,
        )

    def _refusal(self, reservation: Reservation, limit: AppliedLimit, cost: int) -> JobRefused:
        if reservation.reason == "queue_full":
            return QueueFull(self.config.max_queued_per_user)
        if reservation.reason == "in_flight":
            return TooManyInFlight(self.config.max_in_flight_per_user)
        _, resets_at = period_window(limit.period, self.clock())
        left = max(0, (limit.credits or 0) - reservation.spent)
        return QuotaExceeded(cost=cost, left=left, period=limit.period, resets_at=resets_at, limit=limit)


def _as_float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
