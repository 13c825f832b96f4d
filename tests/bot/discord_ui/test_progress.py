"""The progress board forgets a job once it has ended: nothing per job stays in memory."""

from __future__ import annotations

from db.records import JobState
from tests.bot.jobs.helpers import no_more_work, progress_posted, start_job, task_of
from tests.conftest import HarnessFactory


async def test_nothing_per_job_stays_in_memory_after_jobs_end(make_harness: HarnessFactory) -> None:
    h = await make_harness("acedata", provider_options={"auto": False})
    publisher = h.running.publisher
    assert publisher is not None
    delivered = await start_job(h)
    failed = await start_job(h, prompt="a second fox")
    await progress_posted(h, delivered)
    failed_progress = await progress_posted(h, failed)
    assert publisher.board.tracked_jobs() == 2  # both are showing their stage

    await h.provider.succeed(task_of(h, delivered).task_id)
    await h.provider.fail(task_of(h, failed).task_id, "no luck")
    await h.wait_delivered(delivered.id)
    await h.wait_job(lambda j: j.status is JobState.FAILED, failed.id)
    await h.fake.wait_for(  # the member is told last
        lambda: any(
            "no luck" in m.content and m.id != failed_progress.id
            for m in h.fake.messages_in(h.guild.channel_id)
        )
    )
    await no_more_work(h)
    assert publisher.board.tracked_jobs() == 0
