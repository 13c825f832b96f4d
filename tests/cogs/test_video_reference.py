"""/video reference and /video edit end to end: the omni models' references from attachment to the
provider's request field by field, the prompt written in Kling's reference forms, and every refusal in one
sentence before anything is charged."""

from __future__ import annotations

import pytest

from tests.cogs.test_motion import (
    IMAGE,
    HarnessFactory,
    Upload,
    accepted_id,
    assert_nothing_spent,
    assert_one_sentence,
    cdn_gets,
    finish,
    mp4,
    png,
    public_base,
    task_of,
    video_command,
)
from tests.cogs.test_video import text_job
from tests.harness import Harness
from tests.support.media import make_image, make_video

CLIP = make_video(4.0, 704, 704, fps=24)  # fits both omni models (each side at least 700 px)
OTHER = make_image(640, 480, "JPEG")


def clip(data: bytes = CLIP) -> Upload:
    return mp4(data, name="clip.mp4")


async def test_images_and_a_clip_named_in_the_prompt(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    _, answer = await video_command(
        harness,
        "reference",
        {"prompt": "@image1 dances with @image2 in the style of @video", "aspect_ratio": "9:16"},
        attachments={"image1": png(), "image2": ("b.jpg", OTHER, "image/jpeg"), "video": clip()},
    )

    job_id = accepted_id(answer)
    assert answer.content.count("\n") == 0  # every reference was named: nothing to tell
    task = await task_of(harness, job_id)
    job = await harness.wait_job(lambda j: True, job_id)
    inputs = f"{public_base(harness)}/inputs/{job.input_token}"
    assert task.request == {
        "action": "text2video",
        "prompt": "<<<image_1>>> dances with <<<image_2>>> in the style of <<<video_1>>>",
        "model": "kling-v3-omni",
        "mode": "std",
        "aspect_ratio": "9:16",
        "duration": 5,
        "image_list": [
            {"image_url": f"{inputs}/ref_image_1.png"},
            {"image_url": f"{inputs}/ref_image_2.jpg"},
        ],
        "video_list": [{"video_url": f"{inputs}/ref_video.mp4", "refer_type": "feature"}],
        "callback_url": f"{public_base(harness)}/callbacks/{job.callback_token}",
    }
    assert task.inputs == {
        f"{inputs}/ref_image_1.png": IMAGE,
        f"{inputs}/ref_image_2.jpg": OTHER,
        f"{inputs}/ref_video.mp4": CLIP,
    }
    assert job.kind == "text2video" and job.credits == 1 and job.params["reference_seconds"] == 4.0


async def test_a_prompt_naming_no_reference_gets_them_appended(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    _, answer = await video_command(
        harness,
        "reference",
        {"prompt": "a cat dances in the rain", "model": "kling-o1", "mode": "pro"},
        attachments={"image1": png(), "image2": png(name="two.png")},
    )

    assert answer.content.splitlines()[1:] == [
        "• Your prompt did not mention @image1 and @image2, so I added them at its end (Kling ignores "
        "references a prompt leaves out); mention each where it belongs next time."
    ]
    task = await task_of(harness, accepted_id(answer))
    assert task.request["prompt"] == "a cat dances in the rain. References: <<<image_1>>>, <<<image_2>>>."
    assert task.request["model"] == "kling-o1" and task.request["mode"] == "pro"
    assert "video_list" not in task.request and len(task.request["image_list"]) == 2


@pytest.mark.parametrize(
    ("options", "attachments", "expected"),
    [
        (
            {"prompt": "@image1 hugs @image3"},
            {"image1": png(), "image2": png(name="two.png")},
            "Your prompt mentions @image3, but only 2 reference images are attached (@image1 and @image2); "
            "attach a third image or remove @image3 from the prompt.",
        ),
        (
            {"prompt": "@image1 moves like @video"},
            {"image1": png()},
            "Your prompt mentions @video, but no reference video is attached; attach one as the video option "
            "or remove @video from the prompt.",
        ),
        (
            {"prompt": "a dance"},
            {},
            "Attach at least one reference picture (image1) or a reference clip (video); /video text makes a "
            "video from words alone.",
        ),
        (
            {"prompt": "@image1 waves"},
            {"image2": png()},
            "Attach the reference pictures in order (image1, then image2, …), so @image1… in the prompt "
            "point at the right ones.",
        ),
        (
            {"prompt": "@image1 waves", "model": "kling-v3"},
            {"image1": png()},
            "kling-v3 does not take reference images; choose model: kling-v3-omni or kling-o1, or remove the "
            "reference images.",
        ),
        (
            {"prompt": "@image1 waves", "mode": "4k"},
            {"image1": png()},
            "kling-v3-omni does not take the reference images together with mode 4k; remove one of them.",
        ),
        (
            {"prompt": "@image1 dances like @video", "sound": True},
            {"image1": png(), "video": clip()},
            "kling-v3-omni does not take sound together with the reference video; remove one of them.",
        ),
    ],
    ids=[
        "image-not-attached",
        "video-not-attached",
        "no-reference",
        "gap",
        "not-omni",
        "4k",
        "sound-and-video",
    ],
)
async def test_refusals_before_any_download(
    harness: Harness, options: dict[str, object], attachments: dict[str, Upload], expected: str
) -> None:
    _, answer = await video_command(harness, "reference", options, attachments=attachments)
    assert answer.content == expected
    assert_one_sentence(answer.content)
    assert cdn_gets(harness) == []
    await assert_nothing_spent(harness)


@pytest.mark.parametrize(
    ("model", "video", "expected"),
    [
        (
            "kling-o1",
            (10.5, 704, 704, 24),
            "kling-o1 takes a reference video of 3 s to 10 s, and this one is 10.5 s; "
            "trim it or attach another.",
        ),
        (
            "kling-v3-omni",
            (4.0, 360, 640, 24),
            "kling-v3-omni takes a reference video of 700 to 4553 pixels a side, at most 8,294,400 pixels in "
            "all, width/height 0.4 to 2, and this one is 360×640; attach another.",
        ),
        (
            "kling-v3-omni",
            (4.0, 704, 704, 12),
            "The reference video has 12 frames a second; Kling takes reference videos of 24 to 60, so export "
            "it again at 30 fps.",
        ),
    ],
    ids=["too-long-for-o1", "too-small", "frame-rate"],
)
async def test_the_clip_is_checked_once_read(
    harness: Harness, model: str, video: tuple[float, int, int, int], expected: str
) -> None:
    seconds, width, height, fps = video  # made here, not when the tests are collected
    _, answer = await video_command(
        harness,
        "reference",
        {"prompt": "in the style of @video", "model": model},
        attachments={"video": clip(make_video(seconds, width, height, fps=fps))},
    )
    assert answer.content == expected
    assert_one_sentence(answer.content)
    await assert_nothing_spent(harness)


# ---- /video edit ----------------------------------------------------------------------------------


async def test_edit_an_attached_clip(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    _, answer = await video_command(
        harness, "edit", {"prompt": "make @video snowy", "keep_sound": False}, attachments={"video": clip()}
    )
    job_id = accepted_id(answer)
    task = await task_of(harness, job_id)
    job = await harness.wait_job(lambda j: True, job_id)
    inputs = f"{public_base(harness)}/inputs/{job.input_token}"
    assert task.request == {
        "action": "text2video",
        "prompt": "make <<<video_1>>> snowy",
        "model": "kling-v3-omni",
        "mode": "std",
        "aspect_ratio": "16:9",
        "duration": 5,
        "video_list": [
            {"video_url": f"{inputs}/ref_video.mp4", "refer_type": "base", "keep_original_sound": "no"}
        ],
        "callback_url": f"{public_base(harness)}/callbacks/{job.callback_token}",
    }
    assert task.inputs == {f"{inputs}/ref_video.mp4": CLIP}


async def test_edit_one_of_the_members_videos(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    parent = await finish(harness, await text_job(harness, "a red kite"))
    assert parent.result_url

    _, answer = await video_command(harness, "edit", {"prompt": "turn it to night", "job": parent.id})

    assert answer.content.splitlines()[1:] == [
        "• Your prompt did not mention @video, so I added it at its end (Kling ignores references a prompt "
        "leaves out); mention each where it belongs next time."
    ]
    job_id = accepted_id(answer)
    task = await task_of(harness, job_id)
    job = await harness.wait_job(lambda j: True, job_id)
    assert task.request["prompt"] == "turn it to night. References: <<<video_1>>>."
    assert task.request["video_list"] == [{"video_url": parent.result_url, "refer_type": "base"}]
    assert job.parent_job_id == parent.id and job.params["reference_video"]["job_id"] == parent.id
    assert list(task.inputs) == [parent.result_url]  # the provider fetched its own earlier video


async def test_edit_needs_exactly_one_clip(harness: Harness) -> None:
    _, answer = await video_command(harness, "edit", {"prompt": "snow"})
    assert answer.content == (
        "Attach the clip to change (video) or pick one of your finished videos (job), not both."
    )
    await assert_nothing_spent(harness)


async def test_edit_of_someone_elses_video_is_refused(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    parent = await finish(harness, await text_job(harness, "a kite", user_id=harness.guild.other_member_id))
    _, answer = await video_command(harness, "edit", {"prompt": "snow", "job": parent.id})
    assert answer.content == f"Job `{parent.id}` belongs to someone else; you can edit your own videos."


async def test_the_official_api_gets_an_omni_job_and_finds_it_when_polled(
    make_harness: HarnessFactory,
) -> None:
    """No callbacks: the job is polled by its kind (text2video), and found at omni-video."""
    harness = await make_harness("kling", callbacks=False)
    _, answer = await video_command(
        harness,
        "reference",
        {"prompt": "@image1 in the style of @video", "model": "kling-o1"},
        attachments={"image1": png(), "video": clip()},
    )
    job = await harness.wait_delivered(accepted_id(answer))

    [sent] = harness.provider.requests_to("/v1/videos/omni-video", "POST")
    assert sent.body is not None
    assert {k: v for k, v in sent.body.items() if k not in ("image_list", "video_list")} == {
        "prompt": "<<<image_1>>> in the style of <<<video_1>>>",
        "model_name": "kling-video-o1",
        "mode": "std",
        "aspect_ratio": "16:9",
        "duration": "5",
        "external_task_id": job.id,
    }
    assert [item["refer_type"] for item in sent.body["video_list"]] == ["feature"]
    polled = [r.path for r in harness.provider.requests if r.method == "GET"]
    assert f"/v1/videos/omni-video/{job.provider_task_id}" in polled
