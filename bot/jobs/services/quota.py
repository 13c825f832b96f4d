"""A member's credits: which limit applies, how much is spent and left, and when it resets. The one
place this arithmetic lives, for /quota, the admin quota commands and the accepted-job answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.jobs.drafts import Requester
from bot.jobs.quota import AppliedLimit, CostTable, period_window
from bot.models import JobKind
from db.records import GuildSettings

if TYPE_CHECKING:
    from bot.jobs.engine import JobEngine


def credits_left(limit: AppliedLimit, spent: int) -> int | None:
    """What is left of the limit after `spent`; None when there is no limit."""
    return None if limit.credits is None else max(0, limit.credits - spent)


@dataclass(frozen=True, slots=True)
class QuotaStanding:
    limit: AppliedLimit
    spent: int  # in the current period
    resets_at: float  # the next period boundary

    @property
    def left(self) -> int | None:
        return credits_left(self.limit, self.spent)


@dataclass(frozen=True, slots=True)
class QuotaStatus:
    """Everything /quota shows."""

    standing: QuotaStanding
    in_flight: int
    max_in_flight: int
    costs: CostTable
    cheapest: int  # a standard 5-second clip
    settings: GuildSettings | None


class QuotaService:
    def __init__(self, engine: JobEngine) -> None:
        self.engine = engine

    async def standing_under(self, limit: AppliedLimit, guild_id: int | None, user_id: int) -> QuotaStanding:
        window_start, resets_at = period_window(limit.period, self.engine.clock())
        spent = await self.engine.store.spent_credits(guild_id, user_id, window_start)
        return QuotaStanding(limit, spent, resets_at)

    async def standing(self, requester: Requester) -> QuotaStanding:
        limit = await self.engine.limit_for(requester)
        return await self.standing_under(limit, requester.guild_id, requester.user_id)

    async def status(self, requester: Requester) -> QuotaStatus:
        store = self.engine.store
        guild_id = requester.guild_id
        return QuotaStatus(
            standing=await self.standing(requester),
            in_flight=await store.count_in_flight(guild_id, requester.user_id),
            max_in_flight=self.engine.config.max_in_flight_per_user,
            costs=self.engine.costs,
            cheapest=self.engine.costs.cost(JobKind.TEXT2VIDEO, mode="std", duration=5),
            settings=await store.get_guild_settings(guild_id) if guild_id is not None else None,
        )
