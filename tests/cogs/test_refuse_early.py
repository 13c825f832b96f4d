"""Refuse cheaply first: a member out of credits, or with no room for another job, is refused before a
single attachment byte is downloaded; motion's exact cost is still checked once the reference is probed."""

from __future__ import annotations

import os

from db.records import QuotaLimit
from tests.cogs.test_motion import (
    HarnessFactory,
    accepted_id,
    assert_nothing_spent,
    cdn_gets,
    motion,
    mp4,
    task_of,
)
from tests.harness import Harness
from tests.support.media import make_video

BIG_REFERENCE = mp4(os.urandom(20 * 1000 * 1000), name="big.mp4")  # 20 MB: never read when refused


async def limit_member(h: Harness, credits: int) -> None:
    await h.running.store.set_quota_limit(
        QuotaLimit(h.guild.id, "user", h.guild.member_id, credits, "day"), h.clock()
    )


async def test_a_member_with_no_credits_left_costs_no_download(harness: Harness) -> None:
    await limit_member(harness, 0)
    _, answer = await motion(harness, video=BIG_REFERENCE)
    assert answer.content.startswith("This video costs at least 1 credit and you have 0 left today")
    assert cdn_gets(harness) == []
    await assert_nothing_spent(harness)


async def test_a_member_with_a_full_share_of_the_line_costs_no_download(make_harness: HarnessFactory) -> None:
    # Issue 12: the running cap makes a job wait; "no room for another job" is a full share of the line.
    h = await make_harness(
        provider_options={"auto": False}, max_jobs_in_flight_per_user=1, max_queued_per_user=1
    )
    running = accepted_id((await motion(h))[1])
    await task_of(h, running)
    _, waiting = await motion(h)
    assert "in line" in waiting.content
    downloads = len(cdn_gets(h))

    _, answer = await motion(h, video=BIG_REFERENCE)

    assert answer.content.startswith("You already have 1 video waiting in line")
    assert len(cdn_gets(h)) == downloads  # the refused command read nothing


async def test_the_exact_motion_cost_is_checked_after_probing(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    await limit_member(h, 1)  # enough for the cheapest motion job, not for a 10-second reference
    _, answer = await motion(h, video=mp4(make_video(10.0, 360, 640)))
    assert answer.content.startswith("This video costs 2 credits and you have 1 left today")
    assert len(cdn_gets(h)) == 2  # read and probed: the cheapest cost fitted
    await assert_nothing_spent(h)
