"""Where each waiting job stands: the fair order projected over the whole line, and the wait estimate."""

from __future__ import annotations

from bot.discord_ui.queue_text import ahead_text, ordinal, place_text
from bot.jobs.line import Standing, fair_order, standings, typical_generation
from db.records import LineEntry, LineSnapshot, MemberTurn


def entry(job_id: str, user: int, ticket: int, *, paused: bool = False) -> LineEntry:
    return LineEntry(job_id, 1, user, ticket, created_at=float(ticket), paused=paused)


def test_members_take_turns_and_running_jobs_count_as_turns_taken() -> None:
    snapshot = LineSnapshot(
        entries=[
            entry("a1", 1, 1),
            entry("a2", 1, 2),
            entry("a3", 1, 3),
            entry("b1", 2, 4),
            entry("c1", 3, 5),
        ],
        members=[MemberTurn(1, 1, running=0, last_claim=None), MemberTurn(1, 3, running=1, last_claim=6)],
    )
    assert [e.job_id for e in fair_order(snapshot)] == ["a1", "b1", "a2", "c1", "a3"]


def test_a_member_served_since_their_first_job_arrived_waits_behind_those_not_served() -> None:
    snapshot = LineSnapshot(
        entries=[entry("a2", 1, 2), entry("b1", 2, 3)],
        members=[MemberTurn(1, 1, running=0, last_claim=4)],  # member 1 got a slot after b1 arrived
    )
    assert [e.job_id for e in fair_order(snapshot)] == ["b1", "a2"]


def test_paused_jobs_keep_their_place_without_counting_ahead_of_anyone() -> None:
    snapshot = LineSnapshot(entries=[entry("p1", 1, 1, paused=True), entry("b1", 2, 2)], members=[])
    places = standings(snapshot, slots=2, generation=120.0)
    assert places["b1"] == Standing("b1", 0, paused=False, wait_seconds=120.0)
    assert places["p1"].paused and places["p1"].wait_seconds is None


def test_the_wait_estimate_counts_rounds_of_slots() -> None:
    snapshot = LineSnapshot(entries=[entry(f"j{i}", i, i) for i in range(5)], members=[])
    places = standings(snapshot, slots=2, generation=90.0)
    assert [places[f"j{i}"].wait_minutes for i in range(5)] == [2, 2, 3, 3, 5]
    assert standings(snapshot, slots=2, generation=None)["j4"].wait_minutes is None
    assert typical_generation([30.0, 90.0, 60.0]) == 60.0 and typical_generation([]) is None


def test_places_read_naturally() -> None:
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "101st",
    ]
    assert [ahead_text(n) for n in (0, 1, 10, 11, 19, 40)] == [
        "next up",
        "1 ahead of you",
        "10 ahead of you",
        "10+ ahead of you",
        "10+ ahead of you",
        "40+ ahead of you",
    ]
    assert place_text(Standing("j", 2, paused=False, wait_seconds=200.0)) == "3rd in line, about 4 minutes"
    assert place_text(Standing("j", 0, paused=False, wait_seconds=None)) == "1st in line"
