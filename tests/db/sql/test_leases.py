"""Leases: background work is claimed by one process at a time until its lease lapses."""

from __future__ import annotations

import asyncio

from db.records import JobState, Lease, LineRules
from db.sql.store import SqlStore
from tests.db.factories import NOW, new_job
from tests.db.servers import make_store

A = Lease("worker-a", NOW, NOW + 60)
B = Lease("worker-b", NOW, NOW + 60)
B_LATER = Lease("worker-b", NOW + 61, NOW + 121)  # after A's leases lapsed


async def test_a_job_is_claimed_by_one_owner_until_its_lease_lapses(store: SqlStore) -> None:
    await store.create_job(new_job("a"), None)
    claimed = await store.claim_job("a", JobState.PENDING, A)
    assert claimed is not None and (claimed.lease_owner, claimed.lease_until) == ("worker-a", NOW + 60)
    assert await store.claim_job("a", JobState.PENDING, B) is None
    assert await store.claim_job("a", JobState.PENDING, A) is not None  # its own again: a restart
    assert await store.claim_job("a", JobState.SUCCEEDED, A) is None  # not in that state
    assert await store.renew_job("a", JobState.PENDING, Lease("worker-a", NOW, NOW + 100))
    assert not await store.renew_job("a", JobState.PENDING, B)
    assert await store.claim_job("a", JobState.PENDING, B_LATER) is None  # renewed past it
    taken = await store.claim_job("a", JobState.PENDING, Lease("worker-b", NOW + 100, NOW + 160))
    assert taken is not None and taken.lease_owner == "worker-b"
    assert not await store.renew_job("a", JobState.PENDING, A)  # A lost it


async def test_a_step_ending_clears_its_lease(store: SqlStore) -> None:
    await store.create_job(new_job("a"), None)
    await store.claim_job("a", JobState.PENDING, A)
    assert await store.mark_submitted("a", "task", NOW, NOW + 10)
    job = await store.get_job("a")
    assert job is not None and job.lease_owner is None and job.lease_until is None
    assert not await store.renew_job("a", JobState.PENDING, A)
    assert await store.claim_job("a", JobState.SUBMITTED, B) is not None
    await store.schedule_poll("a", NOW + 5, 1)  # the poll's step ended
    assert await store.claim_job("a", JobState.SUBMITTED, A) is not None


async def test_free_jobs_leave_out_live_leases_of_others(store: SqlStore) -> None:
    for job_id in ("a", "b", "c"):
        await store.create_job(new_job(job_id), None)
    await store.claim_job("a", JobState.PENDING, A)
    await store.claim_job("b", JobState.PENDING, B)
    free = await store.free_jobs([JobState.PENDING], "worker-a", NOW)
    assert [job.id for job in free] == ["a", "c"]
    lapsed = await store.free_jobs([JobState.PENDING], "worker-c", NOW + 60)
    assert [job.id for job in lapsed] == ["a", "b", "c"]
    assert await store.next_lease_expiry(NOW) == NOW + 60
    assert await store.next_lease_expiry(NOW + 60) is None


async def test_the_line_leases_the_job_it_hands_out(store: SqlStore) -> None:
    await store.create_job(new_job("a", queued=True), None)
    job = await store.claim_next_job(LineRules(5, 2), NOW, A)
    assert job is not None and job.lease_owner == "worker-a"
    assert await store.claim_job("a", JobState.PENDING, B) is None


async def test_due_polls_are_shared_out_and_come_due_when_a_lease_lapses(store: SqlStore) -> None:
    for job_id in ("a", "b"):
        await store.create_job(new_job(job_id), None)
        await store.mark_submitted(job_id, f"t-{job_id}", NOW, NOW - 1)
    [first] = await store.claim_due_polls(A, limit=1)
    [second] = await store.claim_due_polls(B, limit=5)
    assert {first.id, second.id} == {"a", "b"}
    assert await store.claim_due_polls(Lease("worker-c", NOW, NOW + 60), limit=5) == []
    assert await store.next_poll_due_at() == NOW + 60  # nothing due before the leases lapse


async def test_callbacks_and_audit_lines_are_claimed_once(store: SqlStore) -> None:
    await store.create_job(new_job("a"), None)
    await store.add_callbacks([("a", "1"), ("a", "2")], NOW)
    await store.add_audit(1, 2, "x", "{}", None, NOW)
    first = await store.claim_callbacks(A, limit=1)
    assert [item.body for item in first] == ["1"]
    assert [item.body for item in await store.claim_callbacks(B)] == ["2"]
    await store.defer_callback(first[0].id, "worker-a", NOW + 5)
    assert await store.claim_callbacks(A) == []  # deferred: not even for its last holder
    assert await store.claim_callbacks(Lease("worker-c", NOW + 5, NOW + 65)) == first
    [entry] = await store.claim_audit(A)
    assert await store.claim_audit(B) == []
    await store.defer_audit(entry.id, "worker-a", NOW + 30)
    assert await store.claim_audit(A) == []
    assert await store.claim_audit(Lease("worker-b", NOW + 30, NOW + 90)) == [entry]


async def test_a_task_runs_in_one_process_at_a_time(store: SqlStore) -> None:
    assert await store.claim_task("retention", A)
    assert not await store.claim_task("retention", B)
    assert await store.claim_task("retention", A)
    assert await store.claim_task("retention", B_LATER)
    await store.release_leases()
    assert await store.claim_task("retention", A)


async def test_release_leases_frees_everything(store: SqlStore) -> None:
    await store.create_job(new_job("a"), None)
    await store.claim_job("a", JobState.PENDING, A)
    await store.release_leases()
    assert await store.claim_job("a", JobState.PENDING, B) is not None


async def test_two_stores_claiming_at_once_never_share_a_row(store: SqlStore, store_url: str) -> None:
    """Two processes' stores race for the same callbacks and jobs: every row goes to exactly one."""
    for index in range(40):
        await store.create_job(new_job(f"j{index:02d}"), None)
    await store.add_callbacks([(f"j{index:02d}", str(index)) for index in range(40)], NOW)
    other = make_store(store_url)
    await other.open()
    try:

        async def drain(one: SqlStore, lease: Lease) -> list[int]:
            got: list[int] = []
            while items := await one.claim_callbacks(lease, limit=3):
                got.extend(item.id for item in items)
                for item in items:
                    await one.mark_callback_processed(item.id, NOW)
            return got

        ours, theirs = await asyncio.gather(drain(store, A), drain(other, B))
        assert len(ours) + len(theirs) == 40 and not set(ours) & set(theirs)
        jobs = [f"j{index:02d}" for index in range(40)]
        wins = await asyncio.gather(
            *(
                one.claim_job(job_id, JobState.PENDING, lease)
                for job_id in jobs
                for one, lease in ((store, A), (other, B))
            )
        )
        assert sum(win is not None for win in wins) == 40
    finally:
        await other.close()
