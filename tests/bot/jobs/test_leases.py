"""The engine and its leases in one process: every step it works on is leased to its INSTANCE_ID and the
lease ends with the step; a slot that frees is announced through the store to every worker."""

from __future__ import annotations

import asyncio

from db.notify import Channel
from db.records import JobState
from tests.bot.jobs.helpers import start_job, task_of
from tests.conftest import HarnessFactory


async def test_a_submission_is_leased_to_this_instance_and_the_lease_ends_with_it(
    make_harness: HarnessFactory,
) -> None:
    h = await make_harness("acedata", provider_options={"auto": False}, instance_id="worker-7")
    assert h.running.engine.leases.owner == "worker-7"
    job = await start_job(h)
    submitted = await h.wait_job(lambda j: j.status is JobState.SUBMITTED, job.id)
    assert (submitted.lease_owner, submitted.lease_until) == (None, None)  # the step ended


async def test_a_finished_job_announces_its_free_slot_through_the_store(make_harness: HarnessFactory) -> None:
    h = await make_harness("acedata", provider_options={"auto": False})
    freed: asyncio.Queue[str] = asyncio.Queue()
    subscription = await h.running.store.notifier.listen(Channel.SLOT_FREED, freed.put_nowait)
    try:
        job = await start_job(h)
        await h.provider.succeed(task_of(h, job).task_id)
        await asyncio.wait_for(freed.get(), timeout=10)
        delivered = await h.wait_delivered(job.id)
        assert (delivered.lease_owner, delivered.lease_until) == (None, None)
    finally:
        subscription.cancel()
