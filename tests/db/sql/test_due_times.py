"""The store tells the engine's background loops when they next have work, so they sleep until then."""

from __future__ import annotations

from db.records import JobState
from db.sql.store import SqlStore
from tests.db.factories import NOW, new_job


async def test_nothing_due_without_jobs(store: SqlStore) -> None:
    assert await store.next_poll_due_at() is None
    assert await store.earliest_created_at([JobState.PENDING, JobState.SUBMITTED]) is None


async def test_next_poll_is_the_soonest_of_the_submitted_jobs(store: SqlStore) -> None:
    for job_id, at in (("a", NOW), ("b", NOW + 1), ("c", NOW + 2)):
        await store.create_job(new_job(job_id, at=at), None)
    assert await store.next_poll_due_at() is None  # pending jobs are not polled
    await store.mark_submitted("a", "task-a", NOW, NOW + 30)
    await store.mark_submitted("b", "task-b", NOW, NOW + 10)
    assert await store.next_poll_due_at() == NOW + 10
    await store.mark_failed("b", category="failed", message="m", provider_status=None, now=NOW)
    assert await store.next_poll_due_at() == NOW + 30


async def test_earliest_created_among_the_given_states(store: SqlStore) -> None:
    for job_id, at in (("a", NOW), ("b", NOW + 1), ("c", NOW + 2)):
        await store.create_job(new_job(job_id, at=at), None)
    await store.mark_submitted("b", "task-b", NOW, NOW + 10)
    assert await store.earliest_created_at([JobState.SUBMITTED]) == NOW + 1
    await store.mark_failed("a", category="failed", message="m", provider_status=None, now=NOW)
    assert await store.earliest_created_at([JobState.PENDING, JobState.SUBMITTED]) == NOW + 1
