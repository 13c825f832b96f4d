"""The store's guarantees: atomic reservations, one-way transitions, settled credits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from db.records import JobState, NewJob, QuotaCheck, QuotaLimit, Settlement
from db.sqlite import SqliteStore

NOW = 1_780_000_000.0


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = SqliteStore(tmp_path / "store.db")
    await store.open()
    await store.migrate()
    yield store
    await store.close()


def new_job(job_id: str, *, user: int = 7, credits: int = 1, at: float = NOW) -> NewJob:
    return NewJob(
        id=job_id,
        guild_id=1,
        channel_id=2,
        user_id=user,
        kind="motion",
        params={"prompt": "p"},
        provider="acedata",
        callback_token=f"cb-{job_id}",
        input_token=f"in-{job_id}",
        credits=credits,
        interaction_token="tok",
        interaction_expires_at=at + 900,
        application_id=3,
        created_at=at,
    )


async def test_concurrent_reservations_never_exceed_the_limit(store: SqliteStore) -> None:
    quota = QuotaCheck(limit=3, window_start=NOW - 60, max_in_flight=100)
    results = await asyncio.gather(*(store.create_job(new_job(f"j{i}"), quota) for i in range(10)))
    assert sum(r.accepted for r in results) == 3
    assert {r.reason for r in results if not r.accepted} == {"quota"}
    assert await store.spent_credits(1, 7, NOW - 60) == 3


async def test_in_flight_cap(store: SqliteStore) -> None:
    quota = QuotaCheck(limit=None, window_start=0, max_in_flight=2)
    assert (await store.create_job(new_job("a"), quota)).accepted
    assert (await store.create_job(new_job("b"), quota)).accepted
    refused = await store.create_job(new_job("c"), quota)
    assert (refused.accepted, refused.reason, refused.in_flight) == (False, "in_flight", 2)
    assert await store.get_job("c") is None


async def test_success_happens_once_and_charges(store: SqliteStore) -> None:
    await store.create_job(new_job("a", credits=2), None)
    assert await store.mark_submitted("a", "task-1", NOW, NOW + 15)
    assert not await store.mark_submitted("a", "task-2", NOW, NOW + 15)
    results = await asyncio.gather(
        *(
            store.mark_succeeded(
                "a", video_url="u", video_id="v", duration=5.0, provider_status="succeed", now=NOW
            )
            for _ in range(5)
        )
    )
    assert results.count(True) == 1
    assert not await store.mark_failed("a", category="failed", message="m", provider_status=None, now=NOW)
    job = await store.get_job("a")
    assert job is not None and job.status is JobState.SUCCEEDED and job.settlement is Settlement.CHARGED
    assert job.provider_task_id == "task-1"
    usage = await store.usage(1, 0)
    assert (usage[0].credits_charged, usage[0].credits_reserved) == (2, 0)


async def test_failure_refunds_once(store: SqliteStore) -> None:
    await store.create_job(new_job("a", credits=4), None)
    assert await store.mark_failed(
        "a", category="content_policy", message="no", provider_status="failed", now=NOW
    )
    assert not await store.mark_failed("a", category="failed", message="again", provider_status=None, now=NOW)
    assert not await store.mark_succeeded(
        "a", video_url="u", video_id=None, duration=None, provider_status="succeed", now=NOW
    )
    assert await store.spent_credits(1, 7, 0) == 0
    job = await store.get_job("a")
    assert job is not None and job.error_message == "no" and job.settlement is Settlement.REFUNDED


async def test_delivery_claims_keep_the_first_nonce(store: SqliteStore) -> None:
    await store.create_job(new_job("a"), None)
    assert await store.begin_delivery("a", "n1", NOW) is None  # not finished yet
    await store.mark_succeeded("a", video_url="u", video_id=None, duration=None, provider_status="s", now=NOW)
    first = await store.begin_delivery("a", "n1", NOW)
    second = await store.begin_delivery("a", "n2", NOW)
    assert first is not None and second is not None
    assert (second.delivery_nonce, second.delivery_attempts) == ("n1", 2)
    assert await store.mark_delivered("a", message_id=9, channel_id=2, via="channel", note=None, now=NOW)
    assert not await store.mark_delivered("a", message_id=10, channel_id=2, via="channel", note=None, now=NOW)
    assert await store.begin_delivery("a", "n3", NOW) is None


async def test_inbox_keeps_callbacks_until_processed(store: SqliteStore) -> None:
    await store.create_job(new_job("a"), None)
    first = await store.add_callback("a", '{"x": 1}', NOW)
    await store.add_callback("a", '{"x": 2}', NOW)
    assert [i.body for i in await store.pending_callbacks()] == ['{"x": 1}', '{"x": 2}']
    await store.mark_callback_processed(first, NOW)
    assert [i.body for i in await store.pending_callbacks()] == ['{"x": 2}']
    job = await store.get_job("a")
    assert job is not None and job.callback_count == 2


async def test_quota_reset_forgives_the_period_so_far(store: SqliteStore) -> None:
    for name in ("a", "b"):
        await store.create_job(new_job(name, credits=2, at=NOW), None)
    assert await store.spent_credits(1, 7, NOW - 10) == 4
    assert await store.reset_quota(1, 7, actor_id=99, now=NOW + 1) == 4
    assert await store.spent_credits(1, 7, NOW - 10) == 0
    await store.create_job(new_job("c", credits=1, at=NOW + 2), None)
    assert await store.spent_credits(1, 7, NOW - 10) == 1


async def test_quota_limits_and_guild_policy_round_trip(store: SqliteStore) -> None:
    await store.set_quota_limit(QuotaLimit(1, "user", 7, 5, "week"), time.time())
    await store.set_quota_limit(QuotaLimit(1, "user", 7, None, "day"), time.time())
    await store.set_quota_limit(QuotaLimit(1, "guild", 0, 3, "day"), time.time())
    limits = {(q.scope, q.target_id): (q.credits, q.period) for q in await store.quota_limits(1)}
    assert limits == {("user", 7): (None, "day"), ("guild", 0): (3, "day")}
    await store.set_paused(1, True, "maintenance", NOW)
    await store.set_log_channel(1, 55, NOW)
    assert await store.add_blocked_term(1, "gore") and not await store.add_blocked_term(1, "gore")
    settings = await store.get_guild_settings(1)
    assert (settings.paused, settings.pause_reason, settings.log_channel_id, settings.blocklist) == (
        True,
        "maintenance",
        55,
        ("gore",),
    )


async def test_job_search_matches_the_id_or_the_prompt_only(store: SqliteStore) -> None:
    for job_id, prompt in (("dragon01", "A red DRAGON flies"), ("sunset02", "a quiet sunset")):
        job = new_job(job_id)
        params = {"prompt": prompt, "orientation": "image", "mode": "std"}
        await store.create_job(
            NewJob(
                id=job.id,
                guild_id=1,
                channel_id=2,
                user_id=7,
                kind="motion",
                params=params,
                provider="acedata",
                callback_token=job.callback_token,
                input_token=job.input_token,
                credits=1,
                interaction_token=None,
                interaction_expires_at=None,
                application_id=None,
                created_at=NOW,
            ),
            None,
        )

    async def ids(query: str) -> list[str]:
        return [j.id for j in await store.list_jobs(guild_id=1, user_id=7, query=query)]

    assert await ids("dragon") == ["dragon01"]
    assert await ids("sunset02") == ["sunset02"]
    assert await ids("image") == []  # an option value, not the prompt
