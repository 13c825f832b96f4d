"""The line and the provider's slots, on every backend: fair claims, the working limit, cancelling."""

from __future__ import annotations

import asyncio

from db.records import JobState, LineRules, QuotaCheck, Settlement
from db.sql.store import SqlStore
from tests.db.factories import NOW, new_job

RULES = LineRules(max_concurrency=2, max_running_per_member=2)
QUEUE = QuotaCheck(limit=None, window_start=0, max_in_flight=2, max_queued=3)


async def enqueue(store: SqlStore, job_id: str, *, user: int = 7, guild: int = 1, at: float = NOW) -> None:
    reservation = await store.create_job(new_job(job_id, user=user, guild=guild, at=at, queued=True), QUEUE)
    assert reservation.accepted, reservation


async def claims(store: SqlStore, rules: LineRules = RULES, now: float = NOW) -> list[str]:
    """Claim until the line hands nothing more out; the ids in claim order."""
    taken = []
    while (job := await store.claim_next_job(rules, now)) is not None:
        assert job.status is JobState.PENDING and job.claimed_at == now
        taken.append(job.id)
    return taken


async def finish(store: SqlStore, job_id: str) -> None:
    assert await store.mark_failed(job_id, category="failed", message="m", provider_status=None, now=NOW)


async def test_a_queued_job_waits_with_a_ticket_and_the_waiting_cap_refuses_for_free(store: SqlStore) -> None:
    for name in ("a", "b", "c"):
        await enqueue(store, name)
    job = await store.get_job("a")
    assert job is not None and job.status is JobState.QUEUED and job.line_ticket is not None
    refused = await store.create_job(new_job("d", queued=True), QUEUE)
    assert (refused.accepted, refused.reason, refused.queued) == (False, "queue_full", 3)
    assert await store.get_job("d") is None
    assert await store.spent_credits(1, 7, 0) == 3
    # Another member has their own allowance of waiting jobs.
    assert (await store.create_job(new_job("e", user=8, queued=True), QUEUE)).accepted


async def test_claims_fill_the_slots_and_respect_each_members_running_cap(store: SqlStore) -> None:
    for name in ("a1", "a2", "a3"):
        await enqueue(store, name, user=1)
    await enqueue(store, "b1", user=2)
    rules = LineRules(max_concurrency=5, max_running_per_member=2)
    assert await claims(store, rules) == ["a1", "b1", "a2"]  # a3 waits: member 1 runs 2 already
    state = await store.slot_state(rules)
    assert (state.running, state.waiting, state.working_limit, state.lowered) == (3, 1, 5, False)
    await finish(store, "a1")
    assert await claims(store, rules) == ["a3"]


async def test_the_slot_limit_counts_running_jobs_from_the_store(store: SqlStore) -> None:
    for index in range(4):
        await enqueue(store, f"j{index}", user=index)
    assert await claims(store) == ["j0", "j1"]
    await store.mark_submitted("j0", "task", NOW, NOW + 10)  # still running: still holds its slot
    assert await claims(store) == []
    await finish(store, "j0")
    assert await claims(store) == ["j2"]


async def test_the_fewest_running_go_first_then_who_waited_longest(store: SqlStore) -> None:
    rules = LineRules(max_concurrency=1, max_running_per_member=5)
    for name in ("a1", "a2", "a3"):
        await enqueue(store, name, user=1)
    await enqueue(store, "b1", user=2)
    await enqueue(store, "c1", user=3)
    order = []
    for _ in range(5):
        [job_id] = await claims(store, rules)
        order.append(job_id)
        await finish(store, job_id)
    # Member 1 came first, but once served waits behind everyone who has not been.
    assert order == ["a1", "b1", "c1", "a2", "a3"]


async def test_a_paused_server_holds_its_line_and_others_move(store: SqlStore) -> None:
    await enqueue(store, "paused1", guild=5, user=1)
    await enqueue(store, "open1", guild=6, user=2)
    await store.set_paused(5, True, None, NOW)
    assert await claims(store, LineRules(5, 5)) == ["open1"]
    job = await store.get_job("paused1")
    assert job is not None and job.status is JobState.QUEUED
    await store.set_paused(5, False, None, NOW)
    assert await claims(store, LineRules(5, 5)) == ["paused1"]


async def test_full_sends_the_job_back_to_the_front_and_lowers_the_working_limit(store: SqlStore) -> None:
    rules = LineRules(max_concurrency=3, max_running_per_member=3)
    for index in range(5):
        await enqueue(store, f"j{index}", user=index)
    assert await claims(store, rules) == ["j0", "j1", "j2"]
    assert await store.return_to_line("j2", rules, NOW + 1, hold_for=30)
    assert not await store.return_to_line("j2", rules, NOW + 1, hold_for=30)  # once
    state = await store.slot_state(rules)
    assert (state.running, state.working_limit, state.lowered, state.held_until) == (2, 2, True, None)
    assert await claims(store, rules, NOW + 2) == []  # two running, two slots
    await finish(store, "j0")
    assert await claims(store, rules, NOW + 3) == ["j2"]  # the front of the line, before j3 and j4
    # After a quiet while, one more slot; again, and it is back at the maximum.
    assert not await store.raise_working_limit(rules, NOW + 10, quiet=60)
    assert await store.raise_working_limit(rules, NOW + 61, quiet=60)
    assert (await store.slot_state(rules)).working_limit == 3
    assert await claims(store, rules, NOW + 62) == ["j3"]
    assert not (await store.slot_state(rules)).lowered
    assert not await store.raise_working_limit(rules, NOW + 500, quiet=60)


async def test_full_with_nothing_running_holds_the_line_for_a_while(store: SqlStore) -> None:
    rules = LineRules(max_concurrency=3, max_running_per_member=3)
    await enqueue(store, "a")
    assert await claims(store, rules) == ["a"]
    assert await store.return_to_line("a", rules, NOW, hold_for=30)
    state = await store.slot_state(rules)
    assert (state.working_limit, state.held_until) == (1, NOW + 30)
    assert await claims(store, rules, NOW + 29) == []
    assert await claims(store, rules, NOW + 30) == ["a"]


async def test_concurrent_claims_never_take_more_slots_than_the_limit(store: SqlStore) -> None:
    for index in range(12):
        await enqueue(store, f"j{index}", user=index)
    rules = LineRules(max_concurrency=4, max_running_per_member=1)
    taken = await asyncio.gather(*(store.claim_next_job(rules, NOW) for _ in range(12)))
    claimed = [job.id for job in taken if job is not None]
    assert len(claimed) == len(set(claimed)) == 4
    assert await store.count_in_states([JobState.PENDING]) == 4


async def test_cancelling_a_waiting_job_refunds_it_and_a_running_one_cannot_be(store: SqlStore) -> None:
    await enqueue(store, "waiting", user=1)
    await enqueue(store, "running", user=2)
    rules = LineRules(max_concurrency=1, max_running_per_member=1)
    assert await claims(store, rules) == ["waiting"]
    # The claimed one now runs; the other waits.
    assert not await store.cancel_queued("waiting", reason="requester", now=NOW)
    assert await store.cancel_queued("running", reason="moderator", now=NOW + 1)
    assert not await store.cancel_queued("running", reason="moderator", now=NOW + 1)
    job = await store.get_job("running")
    assert job is not None
    assert (job.status, job.settlement, job.error_category, job.error_message) == (
        JobState.CANCELLED,
        Settlement.REFUNDED,
        "cancelled",
        "moderator",
    )
    assert [r.credits_refunded for r in await store.usage(1, 0, 2)] == [1]
    assert (await store.slot_state(rules)).waiting == 0


async def test_the_snapshot_lists_the_line_and_each_members_turn(store: SqlStore) -> None:
    await enqueue(store, "a1", user=1)
    await enqueue(store, "b1", user=2, guild=9)
    await enqueue(store, "a2", user=1)
    await store.set_paused(9, True, None, NOW)
    assert await claims(store, LineRules(1, 1)) == ["a1"]
    snapshot = await store.line_snapshot()
    assert [(e.job_id, e.paused) for e in snapshot.entries] == [("b1", True), ("a2", False)]
    turns = {(m.guild_id, m.user_id): (m.running, m.last_claim is not None) for m in snapshot.members}
    assert turns == {(1, 1): (1, True), (9, 2): (0, False)}


async def test_running_jobs_are_timed_from_their_start_not_their_acceptance(store: SqlStore) -> None:
    await enqueue(store, "early", at=NOW - 500)
    await enqueue(store, "late", user=8, at=NOW - 400)
    assert await store.earliest_running_start() is None
    await store.claim_next_job(LineRules(1, 1), NOW - 100)
    assert await store.earliest_running_start() == NOW - 100
    assert await store.running_started_before(NOW - 200) == []
    await store.mark_submitted("early", "task", NOW - 50, NOW)
    assert [j.id for j in await store.running_started_before(NOW - 50)] == ["early"]
    assert await store.earliest_running_start() == NOW - 50


async def test_recent_generation_times_newest_first(store: SqlStore) -> None:
    for index, seconds in enumerate((30.0, 90.0, 60.0)):
        job_id = f"j{index}"
        await store.create_job(new_job(job_id), None)
        await store.mark_submitted(job_id, f"t{index}", NOW, NOW)
        await store.mark_succeeded(
            job_id, video_url="u", video_id=None, duration=5, provider_status="ok", now=NOW + seconds + index
        )
    assert await store.recent_generation_seconds(2) == [91.0, 62.0]


async def test_count_waiting_counts_only_the_members_jobs_still_in_line(store: SqlStore) -> None:
    for name in ("a", "b", "c"):
        await enqueue(store, name)
    await enqueue(store, "other", user=8)
    assert await store.count_waiting(1, 7) == 3
    assert await claims(store) == ["a", "other"]  # claimed jobs run: they no longer wait
    assert await store.count_waiting(1, 7) == 2
    assert await store.count_waiting(1, 8) == 0 and await store.count_waiting(2, 7) == 0
