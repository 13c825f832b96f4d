"""Damaged attachments end to end: a picture or video whose headers are fine but whose data is garbage.

The real bot against the fake Discord and the AceData fake: such a file is refused privately in one
sentence before anything is charged, kept or sent to the provider, and the next command still works.
"""

from __future__ import annotations

import pytest

from tests.cogs.test_motion import (
    accepted_id,
    assert_nothing_spent,
    assert_one_sentence,
    motion,
    mp4,
    png,
    video_command,
)
from tests.harness import Harness
from tests.support.media import make_damaged_jpeg, make_damaged_video

DAMAGED_JPEG = make_damaged_jpeg(512, 512)
DAMAGED_IMAGE = (
    "The character image is damaged and could not be read; export it again as a JPG or PNG and attach it."
)
DAMAGED_VIDEO = (
    "The reference video is damaged (its first seconds could not be decoded); "
    "export it again as an MP4 (H.264) and attach it."
)


def jpeg(data: bytes = DAMAGED_JPEG, name: str = "me.jpg") -> tuple[str, bytes, str]:
    return (name, data, "image/jpeg")


async def test_motion_with_a_damaged_picture_is_refused_and_costs_nothing(harness: Harness) -> None:
    _, answer = await motion(harness, image=jpeg())

    assert answer.content == DAMAGED_IMAGE
    assert_one_sentence(answer.content)
    await assert_nothing_spent(harness)


@pytest.mark.parametrize("intact_frames", [0, 1], ids=["from-the-start", "after-the-first-picture"])
async def test_motion_with_a_damaged_video_is_refused_and_costs_nothing(
    harness: Harness, intact_frames: int
) -> None:
    video = make_damaged_video(4.0, 360, 640, intact_frames=intact_frames)
    _, answer = await motion(harness, video=mp4(video))

    assert answer.content == DAMAGED_VIDEO
    assert_one_sentence(answer.content)
    await assert_nothing_spent(harness)


async def test_video_image_with_a_damaged_picture_is_refused_and_costs_nothing(harness: Harness) -> None:
    _, answer = await video_command(harness, "image", {"prompt": "waves"}, attachments={"image": jpeg()})

    assert answer.content == DAMAGED_IMAGE.replace("The character image", "The image")
    assert_one_sentence(answer.content)
    await assert_nothing_spent(harness)


async def test_after_a_damaged_file_a_sound_one_is_accepted(harness: Harness) -> None:
    _, refused = await motion(harness, image=jpeg())
    assert refused.content == DAMAGED_IMAGE

    _, answer = await motion(harness, image=png())
    job = await harness.wait_delivered(accepted_id(answer))
    assert job.credits == 1
