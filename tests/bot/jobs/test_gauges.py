"""The operator gauges are true after every transition: jobs not yet finished by state, the callback
inbox's backlog, and the media folder's bytes."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.client import KlingBot
from bot.jobs.inputs import folder_bytes
from bot.jobs.publisher import DeliveryResult
from bot.models import TaskUpdate
from db.records import JobRecord, JobState
from tests.bot.jobs.helpers import no_more_work, start_job, task_of
from tests.conftest import HarnessFactory
from tests.harness import Harness


def in_flight(bot: KlingBot) -> dict[str, float]:
    """klingbot_jobs_in_flight by state, states holding no job left out."""
    return {
        sample.labels["state"]: sample.value
        for metric in bot.metrics.registry.collect()
        if metric.name == "klingbot_jobs_in_flight"
        for sample in metric.samples
        if sample.value
    }


def gauge(bot: KlingBot, name: str) -> float:
    value = bot.metrics.registry.get_sample_value(name)
    assert value is not None, name
    return value


def record_after_each_transition(h: Harness) -> list[dict[str, float]]:
    """What the gauge reads right after each transition (consecutive repeats, e.g. progress, folded)."""
    transitions = h.running.engine.transitions
    refresh = transitions.after_change
    assert refresh is not None
    seen: list[dict[str, float]] = []

    async def refresh_and_record() -> None:
        await refresh()
        now = in_flight(h.running)
        if not seen or seen[-1] != now:
            seen.append(now)

    transitions.after_change = refresh_and_record
    return seen


def hold_deliveries(h: Harness) -> asyncio.Event:
    """Deliveries wait for the returned event, so "succeeded" is seen before "delivered"."""
    publisher = h.running.publisher
    assert publisher is not None
    deliver = publisher.deliver
    release = asyncio.Event()

    async def held(job: JobRecord) -> DeliveryResult:
        await release.wait()
        return await deliver(job)

    publisher.deliver = held  # type: ignore[method-assign]
    return release


async def test_jobs_in_flight_by_state_after_every_transition(make_harness: HarnessFactory) -> None:
    h = await make_harness("acedata", provider_options={"auto": False})
    assert in_flight(h.running) == {}
    seen = record_after_each_transition(h)
    release = hold_deliveries(h)

    made = await start_job(h)  # accepted (pending), then submitted
    await h.provider.succeed(task_of(h, made).task_id)
    await h.wait_job(lambda j: j.status is JobState.SUCCEEDED, made.id)
    release.set()
    await h.wait_delivered(made.id)
    failing = await start_job(h)
    await h.provider.fail(task_of(h, failing).task_id, "no person in the picture")
    await h.wait_job(lambda j: j.status is JobState.FAILED, failing.id)
    timing_out = await start_job(h)
    h.clock.advance(3601)
    h.running.engine.wake()
    await h.wait_job(lambda j: j.status is JobState.FAILED, timing_out.id)

    # Every accepted job enters the line first (queued), then is claimed for the provider (pending).
    assert seen == [
        {"queued": 1},
        {"pending": 1},
        {"submitted": 1},
        {"succeeded": 1},
        {},  # delivered
        {"queued": 1},
        {"pending": 1},
        {"submitted": 1},
        {},  # failed
        {"queued": 1},
        {"pending": 1},
        {"submitted": 1},
        {},  # timed out
    ]


async def test_the_gauges_are_counted_again_at_start_up(make_harness: HarnessFactory) -> None:
    h = await make_harness("acedata", provider_options={"auto": False}, max_jobs_in_flight_per_user=5)
    await start_job(h, "motion")
    await start_job(h)
    media = folder_bytes(h.running.settings.media_path)
    await h.restart()
    assert in_flight(h.running) == {"submitted": 2}
    assert gauge(h.running, "klingbot_media_bytes") == media > 0


async def test_inbox_backlog_counts_callbacks_until_processed(make_harness: HarnessFactory) -> None:
    h = await make_harness("acedata", provider_options={"auto": False})
    job = await start_job(h)
    engine = h.running.engine
    apply_update = engine.callbacks.apply_update
    reached, go_on = asyncio.Event(), asyncio.Event()

    async def held(record: JobRecord, update: TaskUpdate) -> Any:
        reached.set()
        await go_on.wait()
        return await apply_update(record, update)

    engine.callbacks.apply_update = held
    await h.provider.succeed(task_of(h, job).task_id)  # its callback is stored, then processing waits
    await reached.wait()
    assert gauge(h.running, "klingbot_inbox_backlog") == 1
    passes = engine._inbox_loop.passes
    go_on.set()
    await engine._inbox_loop.wait_for_pass(passes)
    assert gauge(h.running, "klingbot_inbox_backlog") == 0
    await h.wait_delivered(job.id)
    await no_more_work(h)
