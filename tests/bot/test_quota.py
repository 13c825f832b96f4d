"""Credits, periods, which limit applies, and the blocklist's whole-word matching."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.discord_ui.quota_text import surcharge_lines
from bot.discord_ui.refusal_text import refusal_text
from bot.discord_ui.render import price_list
from bot.jobs.policy import blocked_terms_in, check_policy, normalise_term
from bot.jobs.quota import CostTable, Period, applicable_limit, period_window
from bot.jobs.refusals import BlockedTerm, ChannelNotAllowed, JobRefused, ServerPaused
from bot.models import JobKind
from db.records import GuildSettings, QuotaLimit

GUILD = 10
USER = 20
ROLE_A, ROLE_B, ROLE_C = 31, 32, 33


def ts(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> float:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()


# ---- costs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "mode", "duration", "expected"),
    [
        (JobKind.TEXT2VIDEO, "std", 5, 1),
        (JobKind.TEXT2VIDEO, "pro", 5, 2),
        (JobKind.TEXT2VIDEO, "std", 10, 2),
        (JobKind.TEXT2VIDEO, "pro", 10, 4),
        (JobKind.IMAGE2VIDEO, "std", 5, 1),
        (JobKind.IMAGE2VIDEO, "pro", 10, 4),
        (JobKind.TEXT2VIDEO, "std", None, 1),  # no duration given: the 5-second default
        (JobKind.EXTEND, "std", None, 1),
        (JobKind.EXTEND, "pro", None, 2),
    ],
)
def test_default_costs(kind: JobKind, mode: str, duration: int | None, expected: int) -> None:
    assert CostTable().cost(kind, mode=mode, duration=duration) == expected


@pytest.mark.parametrize(
    ("seconds", "mode", "expected"),
    [
        (3.0, "std", 1),
        (5.0, "std", 1),
        (5.0004, "std", 1),  # container rounding must not cost a whole extra unit
        (5.01, "std", 2),
        (10.0, "std", 2),
        (12.0, "std", 3),
        (30.0, "std", 6),
        (30.0, "pro", 12),
        (0.5, "std", 1),  # never free
    ],
)
def test_motion_costs_one_unit_per_started_five_seconds(seconds: float, mode: str, expected: int) -> None:
    assert CostTable().cost(JobKind.MOTION, mode=mode, reference_seconds=seconds) == expected


def test_configured_cost_table() -> None:
    costs = CostTable(unit=3, pro_multiplier=3, seconds_per_unit=10.0)
    assert costs.cost(JobKind.TEXT2VIDEO, mode="std", duration=5) == 3
    assert costs.cost(JobKind.TEXT2VIDEO, mode="std", duration=10) == 3
    assert costs.cost(JobKind.TEXT2VIDEO, mode="pro", duration=10) == 9
    assert costs.cost(JobKind.MOTION, mode="std", reference_seconds=25) == 9


@pytest.mark.parametrize(
    ("mode", "duration", "sound", "expected"),
    [
        ("4k", 5, False, 4),  # four standard clips
        ("4k", 10, False, 8),
        ("std", 5, True, 2),  # 1.5 credits, rounded up
        ("std", 10, True, 3),
        ("pro", 5, True, 3),
        ("4k", 5, True, 6),
        ("4k", 15, True, 18),
    ],
)
def test_4k_and_sound_costs(mode: str, duration: int, sound: bool, expected: int) -> None:
    assert CostTable().cost(JobKind.TEXT2VIDEO, mode=mode, duration=duration, sound=sound) == expected


def test_configured_4k_and_sound_multipliers() -> None:
    costs = CostTable(fourk_multiplier=3, audio_multiplier=1.1)
    assert costs.cost(JobKind.TEXT2VIDEO, mode="4k", duration=5) == 3
    assert costs.cost(JobKind.TEXT2VIDEO, mode="std", duration=5, sound=True) == 2  # 1.1 rounds up
    assert costs.cost(JobKind.TEXT2VIDEO, mode="pro", duration=25, sound=True) == 11  # exactly 11, not 12
    assert CostTable(audio_multiplier=1.0).cost(JobKind.TEXT2VIDEO, duration=5, sound=True) == 1


def test_surcharges_read_from_the_table() -> None:
    assert surcharge_lines(CostTable(fourk_multiplier=3, audio_multiplier=2)) == [
        "mode 4k: 3× a standard clip of the same length (a 5 s 4k clip costs 3)",
        "sound: 2× the price, rounded up to whole credits (a 5 s standard clip with sound costs 2)",
    ]


def test_price_list_reads_from_the_table() -> None:
    assert price_list(CostTable()) == [
        "1 credit: a 5 s standard clip or extending a standard clip",
        "2 credits: a 5 s pro clip or a 10 s standard clip",
        "4 credits: a 10 s pro clip",
        "/motion: 1 credit per started 5 s of reference video (2 in pro); a 12 s reference costs 3",
    ]
    lines = price_list(CostTable(unit=2, pro_multiplier=3))
    assert lines[0] == "2 credits: a 5 s standard clip or extending a standard clip"
    assert (
        lines[-1]
        == "/motion: 2 credits per started 5 s of reference video (6 in pro); a 12 s reference costs 6"
    )


# ---- periods ------------------------------------------------------------------------------------


def test_day_window() -> None:
    assert period_window(Period.DAY, ts(2025, 3, 14, 15, 9, 26)) == (ts(2025, 3, 14), ts(2025, 3, 15))
    # Exactly midnight belongs to the new day.
    assert period_window(Period.DAY, ts(2025, 3, 15)) == (ts(2025, 3, 15), ts(2025, 3, 16))
    # One second before midnight is still the old day.
    assert period_window(Period.DAY, ts(2025, 3, 14, 23, 59, 59)) == (ts(2025, 3, 14), ts(2025, 3, 15))


def test_day_window_rolls_over_month_and_year() -> None:
    assert period_window(Period.DAY, ts(2025, 1, 31, 12)) == (ts(2025, 1, 31), ts(2025, 2, 1))
    assert period_window(Period.DAY, ts(2024, 12, 31, 23, 30)) == (ts(2024, 12, 31), ts(2025, 1, 1))
    assert period_window(Period.DAY, ts(2024, 2, 28, 8)) == (ts(2024, 2, 28), ts(2024, 2, 29))  # leap year


@pytest.mark.parametrize(
    "moment",
    [
        (2025, 3, 10, 0, 0, 0),  # Monday midnight
        (2025, 3, 12, 13, 0, 0),  # Wednesday
        (2025, 3, 16, 23, 59, 59),  # Sunday night
    ],
)
def test_week_starts_monday(moment: tuple[int, ...]) -> None:
    start, end = period_window(Period.WEEK, ts(*moment))
    assert (start, end) == (ts(2025, 3, 10), ts(2025, 3, 17))
    assert datetime.fromtimestamp(start, UTC).weekday() == 0


def test_week_across_month_and_year() -> None:
    # Wednesday 1 January 2025: the week began on Monday 30 December 2024.
    assert period_window(Period.WEEK, ts(2025, 1, 1, 9)) == (ts(2024, 12, 30), ts(2025, 1, 6))
    assert period_window(Period.WEEK, ts(2025, 5, 31)) == (ts(2025, 5, 26), ts(2025, 6, 2))


def test_month_window() -> None:
    assert period_window(Period.MONTH, ts(2025, 3, 14, 15)) == (ts(2025, 3, 1), ts(2025, 4, 1))
    assert period_window(Period.MONTH, ts(2025, 3, 1)) == (ts(2025, 3, 1), ts(2025, 4, 1))
    assert period_window(Period.MONTH, ts(2025, 1, 31, 23, 59, 59)) == (ts(2025, 1, 1), ts(2025, 2, 1))
    assert period_window(Period.MONTH, ts(2024, 2, 29, 12)) == (ts(2024, 2, 1), ts(2024, 3, 1))


def test_month_window_rolls_over_the_year() -> None:
    assert period_window(Period.MONTH, ts(2024, 12, 31, 23, 59, 59)) == (ts(2024, 12, 1), ts(2025, 1, 1))
    assert period_window(Period.MONTH, ts(2025, 1, 1)) == (ts(2025, 1, 1), ts(2025, 2, 1))


def test_windows_ignore_the_local_timezone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14: local midnight is far from UTC midnight
    time.tzset()
    try:
        assert period_window(Period.DAY, ts(2025, 3, 14, 15)) == (ts(2025, 3, 14), ts(2025, 3, 15))
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


# ---- which limit applies ------------------------------------------------------------------------


def limit(scope: str, target: int, credits: int | None, period: str = "day") -> QuotaLimit:
    return QuotaLimit(GUILD, scope, target, credits, period)


def test_nothing_set_is_unlimited() -> None:
    applied = applicable_limit([], USER, (ROLE_A,))
    assert applied.unlimited and applied.scope == "none"


def test_server_default_applies_without_roles_or_override() -> None:
    applied = applicable_limit([limit("guild", 0, 5, "week"), limit("role", ROLE_B, 50)], USER, (ROLE_A,))
    assert (applied.credits, applied.period, applied.scope) == (5, Period.WEEK, "guild")


def test_role_limit_beats_server_default_even_when_lower() -> None:
    applied = applicable_limit([limit("guild", 0, 10), limit("role", ROLE_A, 2)], USER, (ROLE_A,))
    assert (applied.credits, applied.scope, applied.role_id) == (2, "role", ROLE_A)


def test_most_generous_role_wins() -> None:
    limits = [limit("role", ROLE_A, 3), limit("role", ROLE_B, 8, "month"), limit("role", ROLE_C, 100)]
    applied = applicable_limit(limits, USER, (ROLE_A, ROLE_B))  # not ROLE_C: the member lacks it
    assert (applied.credits, applied.period, applied.role_id) == (8, Period.MONTH, ROLE_B)


def test_unlimited_role_beats_any_number() -> None:
    limits = [limit("role", ROLE_A, 1000), limit("role", ROLE_B, None)]
    applied = applicable_limit(limits, USER, (ROLE_A, ROLE_B))
    assert applied.unlimited and applied.role_id == ROLE_B


def test_equal_role_limits_prefer_the_shorter_period() -> None:
    limits = [limit("role", ROLE_A, 5, "month"), limit("role", ROLE_B, 5, "day")]
    assert applicable_limit(limits, USER, (ROLE_A, ROLE_B)).period is Period.DAY


def test_user_override_beats_roles_and_default_even_when_lower() -> None:
    limits = [limit("guild", 0, 10), limit("role", ROLE_A, None), limit("user", USER, 1, "week")]
    applied = applicable_limit(limits, USER, (ROLE_A,))
    assert (applied.credits, applied.period, applied.scope) == (1, Period.WEEK, "user")


def test_user_override_can_be_unlimited() -> None:
    applied = applicable_limit([limit("guild", 0, 1), limit("user", USER, None)], USER, ())
    assert applied.unlimited and applied.scope == "user"


def test_zero_is_a_limit_not_unlimited() -> None:
    applied = applicable_limit([limit("guild", 0, 0)], USER, ())
    assert applied.credits == 0 and not applied.unlimited


def test_someone_elses_override_does_not_apply() -> None:
    applied = applicable_limit([limit("guild", 0, 4), limit("user", USER + 1, 99)], USER, ())
    assert (applied.credits, applied.scope) == (4, "guild")


# ---- the blocklist ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("a dragon flies", ["dragon"]),
        ("A DRAGON flies", ["dragon"]),
        ("Dragon!", ["dragon"]),
        ("(dragon)", ["dragon"]),
        ("dragon's lair", ["dragon"]),
        ("a dragonfly", []),  # not a whole word
        ("snapdragon", []),
        ("dragons", []),
        ("drag on", []),
        ("", []),
    ],
)
def test_whole_words_any_case(text: str, found: list[str]) -> None:
    assert blocked_terms_in(text, ["dragon"]) == found


def test_phrases_match_across_any_whitespace() -> None:
    assert blocked_terms_in("the Red   Dragon\nrises", ["red dragon"]) == ["red dragon"]
    assert blocked_terms_in("red dragonfly", ["red dragon"]) == []


def test_terms_with_symbols_are_literal() -> None:
    assert blocked_terms_in("see c++ code", ["c++"]) == ["c++"]
    assert blocked_terms_in("a.b", ["a*b"]) == []


def test_non_ascii_words() -> None:
    assert blocked_terms_in("Ein DRACHE fliegt", ["drache"]) == ["drache"]
    assert blocked_terms_in("ÉCLAIR au chocolat", ["éclair"]) == ["éclair"]
    assert blocked_terms_in("Drachenflug", ["drache"]) == []


def test_normalise_term() -> None:
    assert normalise_term("  Red   DRAGON \n") == "red dragon"
    assert normalise_term("   ") == ""


def refusal_of(settings: GuildSettings, **where: Any) -> JobRefused:
    with pytest.raises(JobRefused) as refused:
        check_policy(settings, **where)
    return refused.value


def test_policy_order_and_messages() -> None:
    settings = GuildSettings(GUILD, paused=True, pause_reason="maintenance", allowed_channels=frozenset({5}))
    paused = refusal_of(settings, channel_id=6, texts=["x"])
    assert isinstance(paused, ServerPaused) and paused.reason == "maintenance"
    assert re.search(r"paused on this server \(maintenance\)", refusal_text(paused))
    settings = GuildSettings(GUILD, allowed_channels=frozenset({5, 7}), blocklist=("dragon",))
    elsewhere = refusal_of(settings, channel_id=6, texts=["a dragon"])
    assert isinstance(elsewhere, ChannelNotAllowed) and elsewhere.allowed_channel_ids == (5, 7)
    assert re.search(r"Try one of these: <#5>, <#7>", refusal_text(elsewhere))
    blocked = refusal_of(settings, channel_id=5, texts=[None, "no DRAGON please"])
    assert isinstance(blocked, BlockedTerm) and blocked.term == "dragon"
    assert re.search(r'\("dragon"\)', refusal_text(blocked))
    check_policy(settings, channel_id=7, texts=["a dragonfly", None])


def test_a_thread_counts_as_part_of_its_allowed_parent_channel() -> None:
    settings = GuildSettings(guild_id=1, allowed_channels=frozenset({5}))
    check_policy(settings, channel_id=900, parent_channel_id=5, texts=[])
    elsewhere = refusal_of(settings, channel_id=900, parent_channel_id=6, texts=[])
    assert "can't be made in this channel" in refusal_text(elsewhere)
