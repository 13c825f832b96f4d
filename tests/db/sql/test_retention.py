"""Retention's queries: finished jobs whose inputs are kept (never unfinished ones), old callbacks and
posted audit lines pruned in batches, the live jobs counted by state, and the write probe."""

from __future__ import annotations

import asyncpg  # type: ignore[import-untyped]

from db.records import JobState
from db.sql.store import SqlStore
from tests.db.factories import NOW, new_job
from tests.db.servers import make_store


async def finish(store: SqlStore, job_id: str, at: float, *, fail: bool = False) -> None:
    if fail:
        await store.mark_failed(job_id, category="failed", message="m", provider_status=None, now=at)
        return
    await store.mark_succeeded(
        job_id, video_url="u", video_id=None, duration=None, provider_status="s", now=at
    )
    await store.mark_delivered(job_id, message_id=1, channel_id=2, via="channel", note=None, now=at + 1)


async def test_only_finished_jobs_with_inputs_kept_are_found_oldest_first(store: SqlStore) -> None:
    for job_id in ("live", "succeeded", "old", "new", "failed"):
        await store.create_job(new_job(job_id), None)
    await store.mark_succeeded(
        "succeeded", video_url="u", video_id=None, duration=None, provider_status="s", now=NOW
    )  # finished at the provider, not yet posted: not finished here
    await finish(store, "new", NOW + 30)
    await finish(store, "old", NOW + 10)
    await finish(store, "failed", NOW + 20, fail=True)
    found = await store.jobs_with_inputs_kept(None, 10)
    assert [job.id for job in found] == ["old", "failed", "new"]
    assert [job.id for job in await store.jobs_with_inputs_kept(NOW + 20, 10)] == ["old", "failed"]
    assert [job.id for job in await store.jobs_with_inputs_kept(None, 1)] == ["old"]
    assert await store.earliest_finished_with_inputs() == NOW + 10


async def test_inputs_are_marked_removed_once_and_only_for_finished_jobs(store: SqlStore) -> None:
    await store.create_job(new_job("live"), None)
    await store.create_job(new_job("done"), None)
    await finish(store, "done", NOW)
    assert not await store.mark_inputs_removed("live", NOW + 5)
    assert await store.mark_inputs_removed("done", NOW + 5)
    assert not await store.mark_inputs_removed("done", NOW + 6)
    done, live = await store.get_job("done"), await store.get_job("live")
    assert done is not None and done.inputs_removed_at == NOW + 5
    assert live is not None and live.inputs_removed_at is None
    assert await store.jobs_with_inputs_kept(None, 10) == []
    assert await store.earliest_finished_with_inputs() is None


async def test_processed_callbacks_are_pruned_in_batches_by_age(store: SqlStore) -> None:
    await store.create_job(new_job("a"), None)
    await store.add_callbacks([("a", str(i)) for i in range(5)], NOW)
    pending = await store.pending_callbacks()
    for offset, item in enumerate(pending[:4]):
        await store.mark_callback_processed(item.id, NOW + offset)
    assert await store.earliest_processed_callback() == NOW
    assert await store.prune_processed_callbacks(NOW + 2, limit=2) == 2  # a batch at a time
    assert await store.prune_processed_callbacks(NOW + 2, limit=2) == 1
    assert await store.prune_processed_callbacks(NOW + 2, limit=2) == 0
    assert await store.earliest_processed_callback() == NOW + 3
    assert await store.count_pending_callbacks() == 1  # never an unprocessed one
    assert [item.body for item in await store.pending_callbacks()] == ["4"]


async def test_posted_audit_lines_are_pruned_by_age_never_unposted_ones(store: SqlStore) -> None:
    ids = [await store.add_audit(1, 9, "pause", "{}", None, NOW) for _ in range(3)]
    await store.mark_audit_posted(ids[0], NOW + 1)
    await store.mark_audit_posted(ids[1], NOW + 2)
    assert await store.earliest_posted_audit() == NOW + 1
    assert await store.prune_posted_audit(NOW + 1, limit=10) == 1
    assert await store.earliest_posted_audit() == NOW + 2
    assert await store.prune_posted_audit(NOW + 100, limit=10) == 1
    assert [entry.id for entry in await store.unposted_audit()] == [ids[2]]
    assert await store.earliest_posted_audit() is None


async def test_unfinished_jobs_are_counted_by_state(store: SqlStore) -> None:
    assert await store.count_unfinished_by_state() == {}
    for job_id in ("a", "b", "c", "d"):
        await store.create_job(new_job(job_id), None)
    await store.mark_submitted("b", "t", NOW, NOW + 15)
    await store.mark_submitted("c", "t2", NOW, NOW + 15)
    await finish(store, "d", NOW)
    assert await store.count_unfinished_by_state() == {JobState.PENDING: 1, JobState.SUBMITTED: 2}


async def test_the_write_probe_succeeds_and_fails_when_writes_are_refused(
    store_url: str, store: SqlStore
) -> None:
    assert await store.probe_write(NOW)
    assert await store.probe_write(NOW + 1)  # the same row, again
    if store_url.startswith("sqlite"):
        await store.database.execute("PRAGMA query_only = ON")
        assert not await store.probe_write(NOW + 2)
        assert await store.ping()  # reads still work: only writing is refused
        return
    name = store_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(store_url)
    try:
        await admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        read_only = make_store(store_url)  # new connections take the database's setting
        await read_only.open()
        try:
            assert not await read_only.probe_write(NOW + 2)
            assert await read_only.ping()
        finally:
            await read_only.close()
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
        await admin.close()
