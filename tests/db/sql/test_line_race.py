"""Two processes' stores racing for one line: the slot count and the one-claim-per-job hold, because the
store decides both atomically (the queue lock, then each job's lease for its submission)."""

from __future__ import annotations

import asyncio

from db.records import JobState, Lease, LineRules
from db.sql.store import SqlStore
from tests.db.factories import NOW, new_job
from tests.db.servers import make_store

SLOTS = 3
RULES = LineRules(max_concurrency=SLOTS, max_running_per_member=2)
JOBS = 30


async def work_the_line(store: SqlStore, owner: str, claimed: list[str], peaks: list[int]) -> None:
    """Claim while slots are free, submit what it claimed (if it wins the job's lease), finish it."""
    lease = Lease(owner, NOW, NOW + 60)
    while True:
        job = await store.claim_next_job(RULES, NOW, lease)
        if job is None:
            if await store.count_in_states([JobState.QUEUED]) == 0:
                return
            await asyncio.sleep(0)  # another process holds the slots: let it finish one
            continue
        claimed.append(job.id)
        peaks.append(await store.count_in_states([JobState.PENDING, JobState.SUBMITTED]))
        if await store.claim_job(job.id, JobState.PENDING, lease) is not None:
            assert await store.mark_submitted(job.id, f"task-{job.id}", NOW, NOW + 60)
        await store.mark_failed(job.id, category="transient", message="done", provider_status=None, now=NOW)


async def test_two_stores_racing_for_the_line_keep_the_slots_and_claim_each_job_once(
    store: SqlStore, store_url: str
) -> None:
    for index in range(JOBS):
        await store.create_job(new_job(f"j{index:02d}", user=index % 6, queued=True), None)
    other = make_store(store_url)
    await other.open()
    try:
        claimed: list[str] = []
        peaks: list[int] = []
        await asyncio.wait_for(
            asyncio.gather(
                work_the_line(store, "worker-a", claimed, peaks),
                work_the_line(other, "worker-b", claimed, peaks),
            ),
            timeout=30,
        )
    finally:
        await other.close()
    assert sorted(claimed) == [f"j{index:02d}" for index in range(JOBS)]  # each once, none lost
    assert max(peaks) <= SLOTS
    submitted = [job for job in await store.jobs_in_states([JobState.FAILED]) if job.provider_task_id]
    assert len(submitted) == JOBS
