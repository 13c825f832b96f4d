"""The audit log keeps each entry until it is posted."""

from __future__ import annotations

from db.records import AuditEntry
from db.sql.store import SqlStore
from tests.db.factories import NOW


async def test_entries_wait_in_order_until_posted(store: SqlStore) -> None:
    first = await store.add_audit(1, 9, "pause", '{"reason": "x"}', None, NOW)
    second = await store.add_audit(None, None, "job_failed", "{}", "job1", NOW + 1)
    assert second > first
    assert await store.unposted_audit() == [
        AuditEntry(first, 1, 9, "pause", '{"reason": "x"}', None, NOW),
        AuditEntry(second, None, None, "job_failed", "{}", "job1", NOW + 1),
    ]
    await store.mark_audit_posted(first, NOW + 2)
    assert [entry.id for entry in await store.unposted_audit(limit=5)] == [second]
