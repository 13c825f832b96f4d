"""Attachments are read within deadlines: when Discord's CDN stalls in the middle of a file, the member
hears so in one private sentence within the configured time, and nothing is spent."""

from __future__ import annotations

import asyncio

import pytest

from tests.cogs.test_motion import (
    HarnessFactory,
    assert_nothing_spent,
    assert_one_sentence,
    motion,
    mp4,
    png,
)
from tests.harness import Harness

STALL_SECONDS = 0.3
TOTAL_SECONDS = 2.0  # the whole download; a stalled one must be given up well before


@pytest.fixture
async def quick(make_harness: HarnessFactory) -> Harness:
    """The bot with short download deadlines (each test releases what the CDN holds back)."""
    return await make_harness(
        download_stall_seconds=STALL_SECONDS,
        image_download_seconds=TOTAL_SECONDS,
        video_download_seconds=TOTAL_SECONDS,
    )


@pytest.mark.parametrize(
    ("stalled", "role"), [("me.png", "character image"), ("move.mp4", "reference video")]
)
async def test_a_stalled_attachment_is_answered_within_the_deadline(
    quick: Harness, stalled: str, role: str
) -> None:
    release = quick.fake.stall_cdn(stalled)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        _, answer = await motion(quick, image=png(name="me.png"), video=mp4(name="move.mp4"))
        elapsed = loop.time() - started
    finally:
        release.set()

    assert answer.content == (
        f"Discord took too long to send me the {role}; attach it again and retry — nothing was charged."
    )
    assert_one_sentence(answer.content)
    assert elapsed < TOTAL_SECONDS
    await quick.fake.wait_for_call("GET", rf"^/ephemeral-attachments/.*/{stalled}$")  # recorded once done
    await assert_nothing_spent(quick)


async def test_after_a_stall_the_next_attempt_works(quick: Harness) -> None:
    release = quick.fake.stall_cdn("me.png")
    try:
        _, refused = await motion(quick, image=png(name="me.png"))
    finally:
        release.set()
    assert refused.content.startswith("Discord took too long to send me the character image")

    _, answer = await motion(quick, image=png(name="me.png"))
    job = await quick.wait_delivered()
    assert f"Job `{job.id}` accepted" in answer.content


async def test_an_error_from_discords_cdn_is_one_sentence_and_costs_nothing(quick: Harness) -> None:
    quick.fake.inject("GET", r"^/ephemeral-attachments/.*/move\.mp4$", 503)
    _, answer = await motion(quick, video=mp4(name="move.mp4"))

    assert answer.content == (
        "I couldn't download the reference video from Discord (503); attach it again and retry."
    )
    await assert_nothing_spent(quick)
