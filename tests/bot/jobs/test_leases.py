"""The engine and its leases in one process: every step it works on is leased to its INSTANCE_ID and the
lease ends with the step; a slot that frees is announced through the store to every worker."""

from __future__ import annotations

import asyncio

from db.notify import Channel
from db.records import JobState, Lease
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


async def test_retention_prunes_in_one_process_at_a_time(make_harness: HarnessFactory) -> None:
    h = await make_harness("acedata")
    engine = h.running.engine
    h.clock.advance(engine.config.lease_seconds)  # the turn this process took at start-up lapses
    now = h.clock()
    assert await h.running.store.claim_task("retention", Lease("elsewhere", now, now + 30))
    waiting = await engine.retention.run_pass()  # another process's turn: ask again a lease from now
    assert waiting is not None and waiting >= now + 30
    h.clock.advance(31)
    due = await engine.retention.run_pass()  # lapsed: this process prunes, and holds the turn
    assert due is None or due > now + 31
    assert not await h.running.store.claim_task("retention", Lease("elsewhere", now + 31, now + 91))
