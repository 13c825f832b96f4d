"""Nothing about a job stays in memory once it has ended: many jobs later, every per-job structure of the
engine, the progress board and discord.py's view store is empty, and the token cache stays in its bound."""

from __future__ import annotations

import asyncio

from db.records import JobState
from tests.bot.jobs.helpers import motion_attachments, no_more_work
from tests.conftest import HarnessFactory
from tests.harness import Harness

JOBS = 40
TOKEN_CACHE = 5


async def one_job(h: Harness, index: int) -> str:
    if index % 4 == 0:
        handle = await h.slash("motion", {"prompt": f"dance {index}"}, attachments=motion_attachments())
    else:
        handle = await h.slash("video", {"prompt": f"a red fox, take {index}"}, subcommand="text")
    reply = await h.reply(handle, timeout=30)
    assert "accepted" in reply.content, reply.content
    return reply.content.split("`")[1]


async def test_many_jobs_leave_nothing_per_job_in_memory(make_harness: HarnessFactory) -> None:
    h = await make_harness(  # the fake finishes jobs itself; one member, so room for all of them
        "acedata", max_jobs_in_flight_per_user=JOBS, max_queued_per_user=JOBS, provider_max_concurrency=JOBS
    )
    engine = h.running.engine
    engine.callbacks.tokens.capacity = TOKEN_CACHE
    ids = await asyncio.gather(*(one_job(h, index) for index in range(JOBS)))
    for job_id in ids:
        await h.wait_job(lambda j: j.status in (JobState.DELIVERED, JobState.FAILED), job_id, timeout=60)
    await no_more_work(h)

    assert engine.background.tasks == set()
    assert engine.submitter._submitting == set()
    assert engine.deliveries._delivering == set()
    assert engine.callbacks._writer._pending == []
    assert 0 < len(engine.callbacks.tokens) <= TOKEN_CACHE
    publisher = h.running.publisher
    assert publisher is not None and publisher.board.tracked_jobs() == 0
    views = h.running._connection._view_store
    assert views._synced_message_views == {} and views._views == {}  # no view kept per posted video
    assert h.running.engine.metrics.registry.get_sample_value("klingbot_inbox_backlog") == 0
