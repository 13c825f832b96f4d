"""Credits: what a job costs, which limit applies to a member, and the calendar periods limits run over."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from bot.models import JobKind
from db.records import QuotaLimit


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class CostTable:
    """Defaults: a standard 5-second clip is one credit; pro doubles it; 10 seconds doubles it again;
    motion control costs one unit per started 5 seconds of reference video. Mode 4k multiplies the
    standard price by `fourk_multiplier`; a clip with sound costs `audio_multiplier` times as much,
    rounded up to whole credits."""

    unit: int = 1
    pro_multiplier: int = 2
    seconds_per_unit: float = 5.0
    fourk_multiplier: int = 4
    audio_multiplier: float = 1.5

    def cost(
        self,
        kind: JobKind,
        *,
        mode: str = "std",
        duration: float | None = None,
        reference_seconds: float | None = None,
        sound: bool = False,
    ) -> int:
        if kind is JobKind.MOTION:
            seconds = reference_seconds if reference_seconds is not None else self.seconds_per_unit
        elif kind is JobKind.EXTEND:
            seconds = self.seconds_per_unit  # an extension adds about five seconds
        else:
            seconds = float(duration or self.seconds_per_unit)
        units = max(1, math.ceil(round(seconds, 3) / self.seconds_per_unit))
        multiplier = {"pro": self.pro_multiplier, "4k": self.fourk_multiplier}.get(mode, 1)
        price = units * self.unit * multiplier
        # round() first: 1.1 * 10 must not become 12 through float noise.
        return math.ceil(round(price * self.audio_multiplier, 6)) if sound else price


def period_window(period: Period, now: float) -> tuple[float, float]:
    """The current period's start and the next reset, on UTC calendar boundaries (weeks start Monday)."""
    moment = datetime.fromtimestamp(now, UTC)
    day_start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if period is Period.DAY:
        start, end = day_start, day_start + timedelta(days=1)
    elif period is Period.WEEK:
        start = day_start - timedelta(days=day_start.weekday())
        end = start + timedelta(days=7)
    else:
        start = day_start.replace(day=1)
        end = (
            start.replace(year=start.year + 1, month=1)
            if start.month == 12
            else start.replace(month=start.month + 1)
        )
    return start.timestamp(), end.timestamp()


@dataclass(frozen=True, slots=True)
class AppliedLimit:
    credits: int | None  # None: unlimited
    period: Period
    scope: str = "none"  # user | role | guild | none: which kind of limit it is
    role_id: int | None = None  # the role whose limit applies, when scope is "role"

    @property
    def unlimited(self) -> bool:
        return self.credits is None


_PERIOD_RANK = {Period.DAY: 0, Period.WEEK: 1, Period.MONTH: 2}


def applicable_limit(limits: list[QuotaLimit], user_id: int, role_ids: tuple[int, ...]) -> AppliedLimit:
    """A user override beats roles; among roles the most generous wins; else the server default."""
    for limit in limits:
        if limit.scope == "user" and limit.target_id == user_id:
            return AppliedLimit(limit.credits, Period(limit.period), "user")
    role_limits = [limit for limit in limits if limit.scope == "role" and limit.target_id in role_ids]
    if role_limits:
        # Equal credits: the shorter period gives more, so it wins (and the choice is deterministic).
        best = max(
            role_limits,
            key=lambda lim: (
                math.inf if lim.credits is None else lim.credits,
                -_PERIOD_RANK[Period(lim.period)],
            ),
        )
        return AppliedLimit(best.credits, Period(best.period), "role", best.target_id)
    for limit in limits:
        if limit.scope == "guild":
            return AppliedLimit(limit.credits, Period(limit.period), "guild")
    return AppliedLimit(None, Period.DAY)
