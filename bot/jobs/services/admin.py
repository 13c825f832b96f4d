"""Server administration: limits, allowed channels, the blocklist, pausing, usage, the log channel and
the moderator role. Every change is recorded as an audit record; answers are typed results."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.jobs.audit import AuditAction, AuditRecord, AuditTrail, FactValue
from bot.jobs.drafts import Requester
from bot.jobs.policy import normalise_term
from bot.jobs.quota import AppliedLimit, Period, period_window
from bot.jobs.services.quota import QuotaService, QuotaStanding
from db.records import GuildSettings, QuotaLimit, UsageRow
from db.store import Store

SCOPE_ORDER = {"guild": 0, "role": 1, "user": 2}


@dataclass(frozen=True, slots=True)
class LimitTarget:
    """Whom a limit is for: one member, one role, or the whole server (target_id 0)."""

    scope: str  # user | role | guild
    target_id: int = 0


@dataclass(frozen=True, slots=True)
class LimitSet:
    target: LimitTarget
    credits: int | None  # None: unlimited
    period: Period
    previous: QuotaLimit | None
    standing: QuotaStanding | None  # a member's own limit: what they have spent and left now


@dataclass(frozen=True, slots=True)
class CreditsGivenBack:
    standing: QuotaStanding  # before the reset: `spent` is what came back (0: nothing was done)


@dataclass(frozen=True, slots=True)
class ChannelChange:
    changed: bool
    allowed_before: int
    allowed_after: int


@dataclass(frozen=True, slots=True)
class UsageReport:
    rows: list[UsageRow]
    since: float  # 0 for all time
    now: float


class ServerAdmin:
    def __init__(
        self,
        store: Store,
        quota: QuotaService,
        trail: AuditTrail,
        clock: Callable[[], float],
        *,
        line_changed: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.quota = quota
        self.trail = trail
        self.clock = clock
        self.line_changed = line_changed  # a pause holds the server's waiting jobs; a resume lets them go

    async def _record(self, action: AuditAction, guild_id: int, actor_id: int, **facts: FactValue) -> None:
        await self.trail.record(AuditRecord(action, guild_id, actor_id, None, facts))

    async def settings(self, guild_id: int) -> GuildSettings:
        return await self.store.get_guild_settings(guild_id)

    # ---- limits ----------------------------------------------------------------------------

    async def limits(self, guild_id: int) -> list[QuotaLimit]:
        """Every limit set: the server default, then roles, then members."""
        found = await self.store.quota_limits(guild_id)
        return sorted(found, key=lambda q: (SCOPE_ORDER.get(q.scope, 3), q.target_id))

    async def set_limit(
        self, guild_id: int, actor_id: int, target: LimitTarget, credits: int | None, period: Period | None
    ) -> LimitSet:
        """Set a limit; without a period, the existing limit's period stays (a day for a new one)."""
        existing = {(q.scope, q.target_id): q for q in await self.store.quota_limits(guild_id)}
        previous = existing.get((target.scope, target.target_id))
        chosen = period or (Period(previous.period) if previous is not None else Period.DAY)
        new = QuotaLimit(guild_id, target.scope, target.target_id, credits, chosen.value)
        await self.store.set_quota_limit(new, self.clock())
        await self._record(
            AuditAction.QUOTA_SET,
            guild_id,
            actor_id,
            scope=target.scope,
            target_id=target.target_id,
            credits=credits,
            period=chosen.value,
            previous_credits=previous.credits if previous else None,
            previous_period=previous.period if previous else None,
        )
        standing = None
        if target.scope == "user" and credits is not None:
            limit = _applied(new)
            standing = await self.quota.standing_under(limit, guild_id, target.target_id)
        return LimitSet(target, credits, chosen, previous, standing)

    async def clear_limit(self, guild_id: int, actor_id: int, target: LimitTarget) -> bool:
        """False when no such limit was set."""
        if not await self.store.clear_quota_limit(guild_id, target.scope, target.target_id):
            return False
        await self._record(
            AuditAction.QUOTA_CLEARED, guild_id, actor_id, scope=target.scope, target_id=target.target_id
        )
        return True

    async def give_credits_back(
        self, guild_id: int, actor_id: int, user_id: int, role_ids: tuple[int, ...]
    ) -> CreditsGivenBack:
        """Give a member back what they spent this period under the limit that applies to them."""
        standing = await self.quota.standing(Requester(user_id, guild_id, 0, role_ids=role_ids))
        if standing.spent:
            await self.store.reset_quota(guild_id, user_id, actor_id, self.clock())
            await self._record(
                AuditAction.QUOTA_RESET, guild_id, actor_id, user_id=user_id, credits=standing.spent
            )
        return CreditsGivenBack(standing)

    # ---- channels and blocklist ------------------------------------------------------------

    async def allow_channel(self, guild_id: int, actor_id: int, channel_id: int) -> ChannelChange:
        before = len((await self.store.get_guild_settings(guild_id)).allowed_channels)
        if not await self.store.allow_channel(guild_id, channel_id):
            return ChannelChange(False, before, before)
        await self._record(AuditAction.CHANNEL_ALLOWED, guild_id, actor_id, channel_id=channel_id)
        return ChannelChange(True, before, before + 1)

    async def deny_channel(self, guild_id: int, actor_id: int, channel_id: int) -> ChannelChange:
        if not await self.store.deny_channel(guild_id, channel_id):
            count = len((await self.store.get_guild_settings(guild_id)).allowed_channels)
            return ChannelChange(False, count, count)
        await self._record(AuditAction.CHANNEL_DENIED, guild_id, actor_id, channel_id=channel_id)
        after = len((await self.store.get_guild_settings(guild_id)).allowed_channels)
        return ChannelChange(True, after + 1, after)

    async def add_blocked_term(self, guild_id: int, actor_id: int, term: str) -> bool:
        """False when the term (or one that folds to the same, see `normalise_term`) was already there."""
        term = normalise_term(term)
        if await self._stored_forms(guild_id, term) or not await self.store.add_blocked_term(guild_id, term):
            return False
        await self._record(AuditAction.BLOCKLIST_ADD, guild_id, actor_id, term=term)
        return True

    async def remove_blocked_term(self, guild_id: int, actor_id: int, term: str) -> bool:
        """False when the term was not there. Removes every stored spelling that folds to the same term,
        including ones stored before terms were folded."""
        term = normalise_term(term)
        removed = [
            stored
            for stored in await self._stored_forms(guild_id, term)
            if await self.store.remove_blocked_term(guild_id, stored)
        ]
        if not removed:
            return False
        await self._record(AuditAction.BLOCKLIST_REMOVE, guild_id, actor_id, term=term)
        return True

    async def _stored_forms(self, guild_id: int, term: str) -> list[str]:
        """The stored terms that fold to `term` (normally just `term`; older rows may differ)."""
        blocklist = (await self.store.get_guild_settings(guild_id)).blocklist
        return [stored for stored in blocklist if normalise_term(stored) == term]

    # ---- pause, log channel, moderator role ------------------------------------------------

    async def pause(self, guild_id: int, actor_id: int, reason: str | None) -> bool:
        """Pause (or update the reason); True when it was already paused."""
        before = await self.store.get_guild_settings(guild_id)
        await self.store.set_paused(guild_id, True, reason, self.clock())
        await self._record(AuditAction.PAUSED, guild_id, actor_id, reason=reason)
        self.line_changed()
        return before.paused

    async def resume(self, guild_id: int, actor_id: int) -> bool:
        """False when it was not paused."""
        if not (await self.store.get_guild_settings(guild_id)).paused:
            return False
        await self.store.set_paused(guild_id, False, None, self.clock())
        await self._record(AuditAction.RESUMED, guild_id, actor_id)
        self.line_changed()
        return True

    async def set_log_channel(self, guild_id: int, actor_id: int, channel_id: int | None) -> bool:
        """False when it already was that channel (or already off)."""
        if (await self.store.get_guild_settings(guild_id)).log_channel_id == channel_id:
            return False
        await self.store.set_log_channel(guild_id, channel_id, self.clock())
        await self._record(AuditAction.LOG_CHANNEL, guild_id, actor_id, channel_id=channel_id)
        return True

    async def set_mod_role(self, guild_id: int, actor_id: int, role_id: int | None) -> None:
        await self.store.set_mod_role(guild_id, role_id, self.clock())
        await self._record(AuditAction.MOD_ROLE, guild_id, actor_id, role_id=role_id)

    # ---- usage -----------------------------------------------------------------------------

    async def usage(self, guild_id: int, period: Period | None, user_id: int | None) -> UsageReport:
        """Jobs and credits per member and kind since the period began (None: all time)."""
        now = self.clock()
        since = 0.0 if period is None else period_window(period, now)[0]
        return UsageReport(await self.store.usage(guild_id, since, user_id), since, now)


def _applied(limit: QuotaLimit) -> AppliedLimit:
    return AppliedLimit(limit.credits, Period(limit.period), "user")
