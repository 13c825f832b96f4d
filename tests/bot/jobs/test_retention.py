"""Retention with a clock the test moves: a finished job's inputs, hosted results, processed callbacks
and posted audit lines disappear exactly when their retention says (also across a restart), files of
unfinished jobs never do, and past MEDIA_MAX_BYTES the jobs that finished longest ago go first."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from bot.client import KlingBot
from bot.jobs.hosting import RESULT_LINK_LIFETIME
from bot.jobs.inputs import folder_bytes
from db.records import JobRecord
from tests.bot.jobs.helpers import finish_silently, get, start_job, task_of
from tests.conftest import HarnessFactory
from tests.harness import Harness

HOUR = 3600.0
DAY = 24 * HOUR


def inputs_of(h: Harness, job: JobRecord) -> Path:
    return h.running.inputs.job_dir(job.id)


def media_gauge(bot: KlingBot) -> float:
    value = bot.metrics.registry.get_sample_value("klingbot_media_bytes")
    assert value is not None
    return value


def kept_bytes(h: Harness) -> int:
    media = h.running.settings.media_path
    return folder_bytes(media / "inputs") + folder_bytes(media / "hosted")


async def finished_motion_job(h: Harness) -> JobRecord:
    job = await start_job(h, "motion")
    await h.provider.succeed(task_of(h, job).task_id)
    return await h.wait_delivered(job.id)


def move_clock_to(h: Harness, moment: float) -> None:
    h.clock.advance(moment - h.clock())


async def sweep(h: Harness) -> None:
    """One retention pass now, as the loop would run it when due."""
    await h.running.engine.retention.run_pass()


async def first_pass_after_start(h: Harness) -> None:
    """The pass the retention loop runs by itself when the bot starts (nobody calls it)."""
    await h.running.engine.retention.loop.wait_for_pass(0)


async def test_inputs_go_exactly_when_retention_says_never_an_unfinished_jobs(
    make_harness: HarnessFactory,
) -> None:
    h = await make_harness("acedata", provider_options={"auto": False}, media_retention_seconds=HOUR)
    done = await finished_motion_job(h)
    running = await start_job(h, "motion")  # never finishes here
    assert inputs_of(h, done).is_dir() and inputs_of(h, running).is_dir()
    assert media_gauge(h.running) == kept_bytes(h) > 0
    assert done.finished_at is not None

    move_clock_to(h, done.finished_at + HOUR - 1)  # a second before it is due
    await sweep(h)
    assert inputs_of(h, done).is_dir()

    h.clock.advance(2)
    await sweep(h)
    assert not inputs_of(h, done).exists() and inputs_of(h, running).is_dir()
    removed = await h.running.store.get_job(done.id)
    assert removed is not None and removed.inputs_removed_at is not None
    assert media_gauge(h.running) == kept_bytes(h) > 0

    h.clock.advance(365 * DAY)  # however long it runs, a job that has not finished keeps its files
    await sweep(h)
    assert inputs_of(h, running).is_dir()


async def test_inputs_due_while_the_bot_was_down_go_when_it_starts(make_harness: HarnessFactory) -> None:
    h = await make_harness("acedata", provider_options={"auto": False}, media_retention_seconds=HOUR)
    done = await finished_motion_job(h)
    running = await start_job(h, "motion")
    await h.stop()
    h.clock.advance(HOUR + 1)
    await h.start()
    await first_pass_after_start(h)
    assert not inputs_of(h, done).exists() and inputs_of(h, running).is_dir()
    assert media_gauge(h.running) == kept_bytes(h) > 0  # recounted from the disk at start-up


async def test_over_media_max_bytes_the_longest_finished_go_first(make_harness: HarnessFactory) -> None:
    h = await make_harness("acedata", provider_options={"auto": False})
    oldest = await finished_motion_job(h)
    h.clock.advance(10)
    middle = await finished_motion_job(h)
    h.clock.advance(10)
    newest = await finished_motion_job(h)
    unfinished = await start_job(h, "motion")
    one_job = folder_bytes(inputs_of(h, oldest))
    assert h.running.inputs.usage.bytes == 4 * one_job

    retention = h.running.engine.retention
    retention.config = replace(retention.config, media_max_bytes=int(2.5 * one_job))
    await sweep(h)
    assert [inputs_of(h, job).exists() for job in (oldest, middle, newest, unfinished)] == [
        False,
        False,
        True,
        True,
    ]
    assert media_gauge(h.running) == 2 * one_job

    retention.config = replace(retention.config, media_max_bytes=0)  # nothing fits: still never a live job's
    await sweep(h)
    assert [inputs_of(h, job).exists() for job in (newest, unfinished)] == [False, True]
    assert media_gauge(h.running) == one_job == kept_bytes(h)


async def test_saving_past_the_cap_wakes_the_sweep(make_harness: HarnessFactory) -> None:
    h = await make_harness("acedata", provider_options={"auto": False}, media_max_bytes=1)
    done = await finished_motion_job(h)
    loop = h.running.engine.retention.loop
    passes = loop.passes
    await start_job(h, "motion")  # its inputs push the folder past the cap
    await loop.wait_for_pass(passes)
    while inputs_of(h, done).exists():  # the pass that saw the new files removes the old ones
        await loop.wait_for_pass(loop.passes)
    assert not inputs_of(h, done).exists()


async def test_hosted_results_go_at_their_stated_expiry_also_across_a_restart(
    make_harness: HarnessFactory,
) -> None:
    garbage = os.urandom(11 * 1024 * 1024)  # too large for Discord and impossible to re-encode: hosted
    h = await make_harness("acedata", provider_options={"auto": False, "result_video": garbage})
    first = await start_job(h)
    await finish_silently(h, first)
    await h.provider.post_callback(task_of(h, first), h.provider.callback_bodies(task_of(h, first))[0][0])
    first = await h.wait_delivered(first.id, timeout=20)
    hosted = h.running.engine.hosting.hosted_result_path(first.id)
    assert hosted.is_file() and media_gauge(h.running) == len(garbage)
    assert first.finished_at is not None
    expiry = first.finished_at + RESULT_LINK_LIFETIME

    move_clock_to(h, expiry - 1)
    await sweep(h)
    assert hosted.is_file()
    h.clock.advance(2)
    await sweep(h)
    assert not hosted.exists() and media_gauge(h.running) == 0

    second = await start_job(h)
    await finish_silently(h, second)
    await h.provider.post_callback(task_of(h, second), h.provider.callback_bodies(task_of(h, second))[0][0])
    second = await h.wait_delivered(second.id, timeout=20)
    link = h.running.engine.hosting.result_url(second)
    assert link is not None and (await get(link))[0] == 200
    await h.stop()
    h.clock.advance(RESULT_LINK_LIFETIME + 1)
    await h.start()
    await first_pass_after_start(h)
    assert not h.running.engine.hosting.hosted_result_path(second.id).exists()
    assert media_gauge(h.running) == 0


async def test_processed_callbacks_and_posted_audit_lines_are_pruned_by_age(
    make_harness: HarnessFactory,
) -> None:
    h = await make_harness("acedata", provider_options={"auto": False}, audit_retention_days=30)
    job = await start_job(h)
    await h.provider.succeed(task_of(h, job).task_id)  # by callback
    job = await h.wait_delivered(job.id)
    store = h.running.store
    processed, posted = await store.earliest_processed_callback(), await store.earliest_posted_audit()
    assert processed is not None and posted is not None

    move_clock_to(h, processed + 7 * DAY - 1)
    await sweep(h)
    assert await store.earliest_processed_callback() == processed
    h.clock.advance(2)
    await sweep(h)
    assert await store.earliest_processed_callback() is None
    assert await store.earliest_posted_audit() == posted

    move_clock_to(h, posted + 30 * DAY + 1)
    await sweep(h)
    assert await store.earliest_posted_audit() is None
    assert await store.get_job(job.id) is not None  # the job itself stays: /jobs and usage need it
