"""The callback inbox keeps callbacks until they are processed."""

from __future__ import annotations

from db.sql.store import SqlStore
from tests.db.factories import NOW, new_job


async def test_inbox_keeps_callbacks_until_processed(store: SqlStore) -> None:
    await store.create_job(new_job("a"), None)
    await store.add_callbacks([("a", '{"x": 1}')], NOW)
    await store.add_callbacks([("a", '{"x": 2}')], NOW)
    pending = await store.pending_callbacks()
    assert [i.body for i in pending] == ['{"x": 1}', '{"x": 2}']
    await store.mark_callback_processed(pending[0].id, NOW)
    assert [i.body for i in await store.pending_callbacks()] == ['{"x": 2}']
    job = await store.get_job("a")
    assert job is not None and job.callback_count == 2


async def test_a_batch_of_callbacks_is_stored_together(store: SqlStore) -> None:
    for job_id in ("a", "b"):
        await store.create_job(new_job(job_id), None)
    await store.add_callbacks([("a", "1"), ("b", "2"), ("a", "3")], NOW)
    pending = await store.pending_callbacks(limit=2)
    assert [(i.job_id, i.body, i.received_at) for i in pending] == [("a", "1", NOW), ("b", "2", NOW)]
    counts = {job_id: (await store.get_job(job_id)) for job_id in ("a", "b")}
    assert {k: v.callback_count for k, v in counts.items() if v is not None} == {"a": 2, "b": 1}
