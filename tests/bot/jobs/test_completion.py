"""Completion end to end: the real bot, the fake Discord and each fake provider family.

A job started by a real slash command finishes by callback (each family), by polling alone, or by
both racing; duplicates, late and out-of-order reports change nothing after the first terminal one;
failures and timeouts refund the credits and tell the member why.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from db.records import JobState, Settlement
from tests.bot.jobs.helpers import (
    as_json,
    callback_url,
    final_callback,
    finish_silently,
    ledger,
    no_more_work,
    post_raw,
    result_uploads,
    settled,
    sha256,
    start_job,
    task_of,
    video_posts,
)
from tests.conftest import HarnessFactory
from tests.harness import Harness

KIE_HMAC_KEY = "kie-webhook-signing-key"


def polls(h: Harness, result: str = "ok") -> float:
    value = h.running.metrics.registry.get_sample_value("klingbot_polls_total", {"result": result})
    return value or 0.0


async def assert_delivered_once(h: Harness, job_id: str) -> None:
    """One video post in the job's channel, the provider's bytes, pinging the requester and nobody else."""
    job = await h.wait_delivered(job_id)
    await no_more_work(h)
    assert job.delivered_via == "channel"
    posts = video_posts(h)
    assert len(posts) == 1, [m.content for m in posts]
    post = posts[0]
    assert post.id == job.delivered_message_id
    assert post.attachments[0].sha256 == sha256(h.provider.result_video)
    assert post.mentions == [job.user_id]
    assert not post.mentioned_everyone_or_roles()
    assert post.embeds and post.embeds[0]["footer"]["text"].startswith(f"Job {job.id} ")
    custom_ids = [c["custom_id"] for row in post.components for c in row["components"]]
    assert f"kling:extend:{job.id}" in custom_ids
    assert len(result_uploads(h)) == 1
    assert job.settlement is Settlement.CHARGED
    row = await ledger(h, job)
    assert (row.credits_charged, row.credits_reserved, row.credits_refunded) == (job.credits, 0, 0)
    progress = h.fake.messages[job.progress_message_id or 0]
    assert "Done" in progress.content


# ---- callbacks, one family at a time ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "kind", "options", "overrides", "callbacks_per_job"),
    [
        pytest.param("acedata", "motion", {}, {}, 1, id="acedata-motion"),
        pytest.param("acedata", "text", {}, {}, 1, id="acedata-text"),
        pytest.param("kling", "text", {}, {}, 1, id="kling-final-only"),
        pytest.param("kling", "motion", {"callback_on_every_status": True}, {}, 2, id="kling-every-status"),
        pytest.param(
            "kie",
            "motion",
            {"hmac_key": KIE_HMAC_KEY},
            {"kie_webhook_hmac_key": KIE_HMAC_KEY},
            1,
            id="kie-signed",
        ),
        pytest.param("gateway", "text", {}, {}, 1, id="gateway-text"),
        pytest.param("gateway", "motion", {}, {}, 1, id="gateway-motion"),
    ],
)
async def test_completion_by_callback(
    make_harness: HarnessFactory,
    provider: str,
    kind: str,
    options: dict[str, Any],
    overrides: dict[str, Any],
    callbacks_per_job: int,
) -> None:
    h = await make_harness(provider, provider_options=options, **overrides)
    job = await start_job(h, kind)
    task = task_of(h, job)
    assert task.callback_url == callback_url(h, job)
    await assert_delivered_once(h, job.id)
    job = await h.wait_delivered(job.id)
    assert job.callback_count == callbacks_per_job
    assert h.provider.callback_responses == [200] * callbacks_per_job
    assert polls(h) == 0  # callbacks on time: nothing was polled


async def test_kling_processing_callback_moves_the_progress_message(make_harness: HarnessFactory) -> None:
    h = await make_harness("kling", provider_options={"auto": False, "callback_on_every_status": True})
    job = await start_job(h)
    await h.provider.start_processing(task_of(h, job).task_id)
    job = await h.wait_job(lambda j: j.progress_stage == "generating", job.id)
    assert job.status is JobState.SUBMITTED
    assert job.provider_status == "processing"
    await h.fake.wait_for(lambda: "Generating" in h.fake.messages[job.progress_message_id or 0].content)
    await h.provider.succeed(task_of(h, job).task_id)
    await assert_delivered_once(h, job.id)


# ---- polling ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "kind", "options"),
    [
        pytest.param("acedata", "text", {}, id="acedata"),
        pytest.param("kling", "text", {}, id="kling"),
        pytest.param("kie", "motion", {}, id="kie"),
        pytest.param("gateway", "text", {"profile": "observed"}, id="gateway-observed-uppercase"),
        pytest.param("gateway", "motion", {"profile": "documented"}, id="gateway-documented"),
        pytest.param("gateway", "text", {"profile": "openai"}, id="gateway-openai"),
    ],
)
async def test_completion_by_polling_alone(
    make_harness: HarnessFactory, provider: str, kind: str, options: dict[str, Any]
) -> None:
    h = await make_harness(provider, callbacks=False, provider_options={"auto": False, **options})
    job = await start_job(h, kind)
    task = task_of(h, job)
    assert task.callback_url is None  # no public address: the provider is never given one
    await h.provider.start_processing(task.task_id)
    await h.wait_job(lambda j: j.progress_stage == "generating", job.id)  # a poll saw it running
    await h.provider.succeed(task.task_id)
    await assert_delivered_once(h, job.id)
    assert polls(h) >= 2
    assert task.callbacks_sent == 0
    assert (await h.wait_delivered(job.id)).callback_count == 0


async def test_late_callback_is_caught_up_by_polling(make_harness: HarnessFactory) -> None:
    """With callbacks on, a job whose callback never comes is polled once it is overdue."""
    h = await make_harness("acedata", provider_options={"auto": False})
    job = await start_job(h)
    await finish_silently(h, job)  # the callback is lost
    h.clock.advance(181)  # past the callback grace period
    h.running.engine.wake()
    await assert_delivered_once(h, job.id)
    assert polls(h) >= 1


# ---- exactly once ----------------------------------------------------------------------------------


async def test_five_concurrent_duplicate_callbacks_post_once(make_harness: HarnessFactory) -> None:
    h = await make_harness("acedata", provider_options={"auto": False})
    job = await start_job(h)
    task = await finish_silently(h, job)
    body, headers = final_callback(h, task)
    statuses = await asyncio.gather(*(h.provider.post_callback(task, body, headers) for _ in range(5)))
    assert statuses == [200] * 5
    await assert_delivered_once(h, job.id)
    job = await h.wait_delivered(job.id)
    assert job.callback_count == 5
    await h.running.engine.process_inbox()  # whatever the worker has not reached yet
    assert await h.running.store.pending_callbacks() == []
    assert job.delivery_attempts == 1


async def test_poll_racing_a_callback_posts_once(make_harness: HarnessFactory) -> None:
    h = await make_harness("acedata", callbacks=False, provider_options={"auto": False})
    job = await start_job(h)
    task = await finish_silently(h, job)
    body, _ = final_callback(h, task)
    engine = h.running.engine
    await h.running.store.schedule_poll(job.id, 0.0, 0)  # due now: the poller races the callback
    status, _ = (
        await asyncio.gather(
            post_raw(callback_url(h, job), as_json(body)),
            engine.poll_due_jobs(),
            engine.poll_due_jobs(),
        )
    )[0]
    assert status == 200
    await assert_delivered_once(h, job.id)
    assert polls(h) >= 1


async def test_reports_after_the_end_change_nothing(make_harness: HarnessFactory) -> None:
    """A stale "processing" report and a contradicting failure, after delivery: no edit, no refund."""
    h = await make_harness("kling", provider_options={"callback_on_every_status": True})
    job = await start_job(h)
    await assert_delivered_once(h, job.id)
    task = task_of(h, job)
    task.state, task.fail_message = "processing", None
    stale, _ = final_callback(h, task)
    task.state, task.fail_message = "failed", "The render node crashed."
    contradiction, _ = final_callback(h, task)
    edits_before = len(h.fake.calls_matching("PATCH"))
    assert await h.provider.post_callback(task, stale) == 200
    assert await h.provider.post_callback(task, contradiction) == 200
    await h.running.engine.process_inbox()
    await no_more_work(h)
    after = await h.wait_delivered(job.id)
    assert after.settlement is Settlement.CHARGED
    assert after.error_message is None
    assert len(video_posts(h)) == 1
    assert len(h.fake.calls_matching("PATCH")) == edits_before
    row = await ledger(h, after)
    assert (row.credits_charged, row.credits_refunded) == (job.credits, 0)


async def test_callback_naming_another_task_is_refused(make_harness: HarnessFactory) -> None:
    h = await make_harness("acedata", provider_options={"auto": False})
    job = await start_job(h)
    task = await finish_silently(h, job)
    body, _ = final_callback(h, task)
    body["task_id"] = "00000000-0000-0000-0000-000000000000"
    status, answer = await post_raw(callback_url(h, job), as_json(body))
    assert status == 409
    assert isinstance(answer, dict) and answer["result"] == "task_mismatch"
    assert (await h.running.store.get_job(job.id)).status is JobState.SUBMITTED  # type: ignore[union-attr]
    assert await h.running.store.pending_callbacks() == []


# ---- failures ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("callbacks", [True, False], ids=["by-callback", "by-polling"])
async def test_provider_failure_is_explained_and_refunded(
    make_harness: HarnessFactory, callbacks: bool
) -> None:
    reason = "The character could not be detected in the image"
    h = await make_harness("kling", callbacks=callbacks, provider_options={"auto": False})
    job = await start_job(h, "motion")
    await h.provider.fail(task_of(h, job).task_id, reason)
    failed = await settled(h, job, JobState.FAILED)
    assert failed.error_message is not None and reason in failed.error_message
    assert failed.settlement is Settlement.REFUNDED
    row = await ledger(h, failed)
    assert (row.credits_charged, row.credits_reserved, row.credits_refunded) == (0, 0, job.credits)
    told = await h.fake.wait_for(
        lambda: [m for m in h.fake.messages_in(h.guild.channel_id) if m.mentions == [job.user_id]]
    )
    await no_more_work(h)
    progress = h.fake.messages[failed.progress_message_id or 0]
    assert "Failed" in progress.content and reason in progress.content
    assert progress.mentions == []  # the progress message never pings
    assert len(told) == 1
    assert reason in told[0].content and "credit" in told[0].content
    assert not told[0].mentioned_everyone_or_roles()
    assert video_posts(h) == []


async def test_submission_refused_by_the_provider_refunds(make_harness: HarnessFactory) -> None:
    h = await make_harness("acedata", provider_options={"auto": False})
    h.provider.fail_next(
        "/kling/videos",
        400,
        {"success": False, "error": {"code": "bad_request", "message": "prompt is invalid."}},
    )
    handle = await h.slash("video", {"prompt": "a lighthouse in a storm"}, subcommand="text")
    reply = await h.reply(handle)
    job_id = reply.content.split("`")[1]
    failed = await h.wait_job(lambda j: j.status is JobState.FAILED, job_id)
    assert failed.error_category == "invalid_request"
    assert failed.settlement is Settlement.REFUNDED
    told = await h.fake.wait_for(
        lambda: [m for m in h.fake.messages_in(h.guild.channel_id) if m.mentions == [failed.user_id]]
    )
    assert len(told) == 1 and "prompt is invalid" in told[0].content


async def test_job_past_the_timeout_fails_and_is_refunded(make_harness: HarnessFactory) -> None:
    h = await make_harness("acedata", provider_options={"auto": False}, job_timeout_seconds=600)
    job = await start_job(h)
    h.clock.advance(601)
    h.running.engine.wake()
    failed = await settled(h, job, JobState.FAILED)
    assert failed.provider_status == "timeout"
    assert failed.error_message is not None and "10 minutes" in failed.error_message
    row = await ledger(h, failed)
    assert (row.credits_charged, row.credits_refunded) == (0, job.credits)
    # The provider finishing afterwards changes nothing: no video, no charge.
    await h.provider.succeed(task_of(h, job).task_id)
    await h.running.engine.process_inbox()
    await no_more_work(h)
    assert (await h.running.store.get_job(job.id)).status is JobState.FAILED  # type: ignore[union-attr]
    assert video_posts(h) == []
    assert (await ledger(h, failed)).credits_charged == 0


async def test_a_storm_of_progress_reports_edits_the_progress_message_once_per_stage(
    make_harness: HarnessFactory,
) -> None:
    h = await make_harness("kling", provider_options={"auto": False, "callback_on_every_status": True})
    job = await start_job(h)
    task = task_of(h, job)
    await h.provider.start_processing(task.task_id)
    job = await h.wait_job(lambda j: j.progress_stage == "generating", job.id)
    progress = h.fake.messages[job.progress_message_id or 0]
    await h.fake.wait_for(lambda: "Generating" in progress.content)
    edits_after_generating = progress.edit_count
    body = {
        "task_id": task.task_id,
        "task_status": "processing",
        "task_status_msg": "",
        "created_at": 1,
        "updated_at": 2,
    }
    statuses = await asyncio.gather(*(h.provider.post_callback(task, body) for _ in range(20)))
    assert statuses == [200] * 20
    await h.provider.succeed(task.task_id)
    await assert_delivered_once(h, job.id)
    # The 20 repeats changed nothing on screen, so they cost no edit; only "done" followed.
    await h.fake.wait_for(lambda: "Done" in progress.content)
    assert progress.edit_count <= edits_after_generating + 2
