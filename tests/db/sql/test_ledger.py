"""Quota limits, spent credits, resets and usage."""

from __future__ import annotations

from db.records import QuotaLimit, UsageRow
from db.sql.store import SqlStore
from tests.db.factories import NOW, new_job


async def test_quota_reset_forgives_the_period_so_far(store: SqlStore) -> None:
    for name in ("a", "b"):
        await store.create_job(new_job(name, credits=2, at=NOW), None)
    assert await store.spent_credits(1, 7, NOW - 10) == 4
    assert await store.reset_quota(1, 7, actor_id=99, now=NOW + 1) == 4
    assert await store.spent_credits(1, 7, NOW - 10) == 0
    await store.create_job(new_job("c", credits=1, at=NOW + 2), None)
    assert await store.spent_credits(1, 7, NOW - 10) == 1


async def test_clearing_a_limit_says_whether_there_was_one(store: SqlStore) -> None:
    await store.set_quota_limit(QuotaLimit(1, "role", 5, 10, "month"), NOW)
    assert await store.clear_quota_limit(1, "role", 5)
    assert not await store.clear_quota_limit(1, "role", 5)
    assert await store.quota_limits(1) == []


async def test_usage_sums_each_settlement_per_member_and_kind(store: SqlStore) -> None:
    await store.create_job(new_job("a", credits=2), None)
    await store.create_job(new_job("b", credits=3), None)
    await store.create_job(new_job("c", credits=5), None)
    await store.create_job(new_job("d", user=8, credits=1), None)
    await store.mark_succeeded("a", video_url="u", video_id=None, duration=None, provider_status="s", now=NOW)
    await store.mark_failed("b", category="failed", message="m", provider_status=None, now=NOW)
    assert await store.usage(1, NOW - 1) == [
        UsageRow(user_id=7, kind="motion", jobs=3, credits_charged=2, credits_reserved=5, credits_refunded=3),
        UsageRow(user_id=8, kind="motion", jobs=1, credits_charged=0, credits_reserved=1, credits_refunded=0),
    ]
    assert [row.user_id for row in await store.usage(1, NOW - 1, user_id=8)] == [8]
    assert await store.usage(1, NOW + 1) == []
    assert await store.spent_credits(1, 7, NOW - 1) == 7
