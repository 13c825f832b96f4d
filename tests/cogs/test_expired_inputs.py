"""Re-run and /job on a job whose attachments retention removed: both say plainly that they expired,
and the Re-run click charges nothing and starts nothing."""

from __future__ import annotations

import re

from tests.cogs.test_buttons import click, job_count
from tests.cogs.test_jobs import fields_of, job_card
from tests.cogs.test_motion import HarnessFactory, accepted_id, motion, private_answer

HOUR = 3600.0


async def test_rerun_and_job_say_the_attachments_expired(make_harness: HarnessFactory) -> None:
    h = await make_harness(media_retention_seconds=2 * HOUR)
    _, answer = await motion(h, prompt="jumps for joy")
    job = await h.wait_delivered(accepted_id(answer))
    [post] = h.posts_in(h.guild.channel_id)
    h.clock.advance(2 * HOUR + 1)
    await h.running.engine.retention.run_pass()
    store, member = h.running.store, h.guild.member_id
    spent = await store.spent_credits(h.guild.id, member, 0.0)

    refused = await private_answer(h, await click(h, "rerun", job, post))

    assert re.fullmatch(
        rf"The attachments of job `{job.id}` have expired: I keep a finished job's files for 2 hours, and "
        r"these were removed <t:\d+:R>\. Nothing was charged; run the command again with the files\.",
        refused.content,
    ), refused.content
    assert await job_count(h) == 1
    assert await store.spent_credits(h.guild.id, member, 0.0) == spent
    assert len(h.provider.requests_to("/kling/motion")) == 1

    card = await job_card(h, job.id)
    assert re.fullmatch(
        r"expired <t:\d+:R>: Re-run needs them again, so start a new job", fields_of(card)["Attachments"]
    )
