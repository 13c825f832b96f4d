"""A job's one-way transitions and the credits they settle."""

from __future__ import annotations

import asyncio

from db.records import JobState, Settlement
from db.sql.store import SqlStore
from tests.db.factories import NOW, new_job


async def test_success_happens_once_and_charges(store: SqlStore) -> None:
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


async def test_failure_refunds_once(store: SqlStore) -> None:
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


async def test_an_undeliverable_result_fails_and_refunds_once(store: SqlStore) -> None:
    await store.create_job(new_job("a", credits=3), None)
    assert not await store.mark_undeliverable("a", category="unsafe_result", message="m", now=NOW)  # live
    await store.mark_succeeded("a", video_url="u", video_id=None, duration=None, provider_status="s", now=NOW)
    assert await store.spent_credits(1, 7, 0) == 3
    results = await asyncio.gather(
        *(store.mark_undeliverable("a", category="unsafe_result", message="m", now=NOW) for _ in range(3))
    )
    assert results.count(True) == 1
    job = await store.get_job("a")
    assert job is not None and job.status is JobState.FAILED and job.settlement is Settlement.REFUNDED
    assert (job.error_category, job.error_message, job.progress_stage) == ("unsafe_result", "m", "failed")
    assert await store.spent_credits(1, 7, 0) == 0
    usage = await store.usage(1, 0)
    assert (usage[0].credits_charged, usage[0].credits_refunded) == (0, 3)
    assert await store.begin_delivery("a", "n", NOW) is None
    assert not await store.mark_undeliverable("a", category="unsafe_result", message="m", now=NOW)


async def test_delivery_claims_keep_the_first_nonce(store: SqlStore) -> None:
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


async def test_progress_counts_only_real_changes(store: SqlStore) -> None:
    await store.create_job(new_job("a"), None)
    await store.note_submit_attempt("a", NOW)
    assert await store.mark_submitted("a", "t", NOW, NOW + 5)
    assert await store.record_progress("a", "processing", "rendering", NOW)
    assert not await store.record_progress("a", "processing", "rendering", NOW)
    assert not await store.record_progress("a", "processing", None, NOW)
    assert await store.record_progress("a", "processing", "uploading", NOW)
    await store.set_progress_message("a", 123)
    await store.schedule_poll("a", NOW + 30, 4)
    job = await store.get_job("a")
    assert job is not None
    assert (job.submit_attempts, job.provider_status, job.progress_stage) == (1, "processing", "uploading")
    assert (job.progress_message_id, job.next_poll_at, job.poll_attempts) == (123, NOW + 30, 4)
    await store.mark_failed("a", category="timeout", message="m", provider_status=None, now=NOW)
    assert not await store.record_progress("a", "processing", "queued", NOW)
