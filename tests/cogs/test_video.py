"""/video text, /video image and /video extend end to end, against the AceData fake (and kie's, which
cannot make these videos)."""

from __future__ import annotations

import pytest

from db.records import JobState
from tests.cogs.test_motion import (
    IMAGE,
    HarnessFactory,
    accepted_id,
    assert_nothing_spent,
    assert_one_sentence,
    attachment_urls,
    cdn_gets,
    fail,
    finish,
    interaction_callback,
    png,
    public_base,
    stored_input,
    task_of,
    video_command,
)
from tests.fakes.discord import EPHEMERAL
from tests.harness import Harness
from tests.support.media import make_image


async def text_job(
    harness: Harness, prompt: str = "a lighthouse at dawn", *, user_id: int | None = None
) -> str:
    _, answer = await video_command(harness, "text", {"prompt": prompt}, user_id=user_id)
    return accepted_id(answer)


# ---- /video text ----------------------------------------------------------------------------------


async def test_text_with_every_option(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    handle, answer = await video_command(
        harness,
        "text",
        {
            "prompt": "a paper boat in the rain",
            "model": "kling-v3",
            "mode": "pro",
            "aspect_ratio": "9:16",
            "duration": 10,
            "negative_prompt": "blur",
            "cfg_scale": 0.4,
            "camera": "zoom_in",
        },
    )

    assert interaction_callback(harness, handle).json == {"type": 5, "data": {"flags": EPHEMERAL}}
    job_id = accepted_id(answer)
    assert "4 credits" in answer.content  # pro doubles, 10 seconds doubles again
    task = await task_of(harness, job_id)
    job = await harness.wait_job(lambda j: True, job_id)
    [request] = harness.provider.requests_to("/kling/videos")
    assert request.body == {
        "action": "text2video",
        "prompt": "a paper boat in the rain",
        "model": "kling-v3",
        "mode": "pro",
        "aspect_ratio": "9:16",
        "duration": 10,
        "negative_prompt": "blur",
        "cfg_scale": 0.4,
        "camera_control": {
            "type": "simple",
            "config": {"horizontal": 0.0, "vertical": 0.0, "pan": 0.0, "tilt": 0.0, "roll": 0.0, "zoom": 5.0},
        },
        "callback_url": f"{public_base(harness)}/callbacks/{job.callback_token}",
    }
    assert task.inputs == {}
    assert job.kind == "text2video" and job.credits == 4 and job.params["camera_preset"] == "zoom_in"


async def test_text_defaults(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    task = await task_of(harness, await text_job(harness, "a cat on a roof"))
    job = await harness.wait_job(lambda j: True)
    assert task.request == {
        "action": "text2video",
        "prompt": "a cat on a roof",
        "mode": "std",
        "aspect_ratio": "16:9",
        "duration": 5,
        "callback_url": f"{public_base(harness)}/callbacks/{job.callback_token}",
    }


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"prompt": "x" * 2501}, "The prompt is 2501 characters long; keep it to 2500 or fewer."),
        (
            {"prompt": "a boat", "negative_prompt": "y" * 201},
            "The negative prompt is 201 characters long; keep it to 200 or fewer.",
        ),
        ({"prompt": "   "}, "Write a prompt describing the video."),
    ],
    ids=["prompt-too-long", "negative-prompt-too-long", "blank-prompt"],
)
async def test_text_option_errors_are_refused_privately(
    harness: Harness, options: dict[str, object], expected: str
) -> None:
    _, answer = await video_command(harness, "text", options)
    assert answer.content == expected
    assert_one_sentence(answer.content)
    await assert_nothing_spent(harness)


# ---- /video image ---------------------------------------------------------------------------------


async def test_image_with_an_end_image(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    end = make_image(512, 512, "JPEG")
    handle, answer = await video_command(
        harness,
        "image",
        {"prompt": "the flower opens", "mode": "pro"},
        attachments={"image": png(), "end_image": ("last.jpg", end, "image/jpeg")},
    )

    callback = interaction_callback(harness, handle)
    assert callback.seq < min(call.seq for call in cdn_gets(harness))
    job_id = accepted_id(answer)
    task = await task_of(harness, job_id)
    job = await harness.wait_job(lambda j: True, job_id)
    inputs = f"{public_base(harness)}/inputs/{job.input_token}"
    assert task.request == {
        "action": "image2video",
        "start_image_url": f"{inputs}/image.png",
        "end_image_url": f"{inputs}/end_image.jpg",
        "prompt": "the flower opens",
        "mode": "pro",
        "duration": 5,
        "callback_url": f"{public_base(harness)}/callbacks/{job.callback_token}",
    }
    assert task.inputs == {f"{inputs}/image.png": IMAGE, f"{inputs}/end_image.jpg": end}
    assert job.credits == 2


async def test_image_without_a_public_url_hands_over_discords_copy(make_harness: HarnessFactory) -> None:
    harness = await make_harness(callbacks=False, provider_options={"auto": False})
    handle, answer = await video_command(harness, "image", {}, attachments={"image": png()})

    task = await task_of(harness, accepted_id(answer))
    url = attachment_urls(handle)["image"]
    assert task.request == {
        "action": "image2video",
        "start_image_url": url,
        "mode": "std",
        "duration": 5,
        "async": True,
    }
    assert task.inputs == {url: IMAGE}


async def test_image_webp_is_converted_and_the_member_told(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    webp = make_image(600, 400, "WEBP")
    _, answer = await video_command(
        harness, "image", {"prompt": "waves"}, attachments={"image": ("sea.webp", webp, "image/webp")}
    )

    assert answer.content.splitlines()[1:] == ["• Your WebP image was converted to PNG."]
    job_id = accepted_id(answer)
    task = await task_of(harness, job_id)
    job = await harness.wait_job(lambda j: True, job_id)
    sent = task.inputs[task.request["start_image_url"]]
    assert sent.startswith(b"\x89PNG") and sent == stored_input(harness, job, "image")


async def test_an_end_image_needs_five_seconds(harness: Harness) -> None:
    _, answer = await video_command(
        harness,
        "image",
        {"duration": 10},
        attachments={"image": png(), "end_image": png(name="last.png")},
    )
    # The capability table's sentence (kling-v3 takes an end frame at any length; the default kling-v1
    # only at 5 s), before anything is downloaded.
    assert answer.content == (
        "kling-v1 takes an end frame only for 5 seconds; choose duration: 5 or remove the end frame."
    )
    assert cdn_gets(harness) == []
    await assert_nothing_spent(harness)


async def test_an_end_image_that_is_not_a_picture_is_refused(harness: Harness) -> None:
    _, answer = await video_command(
        harness,
        "image",
        {},
        attachments={"image": png(), "end_image": ("last.png", b"%PDF-1.7 not a picture", "image/png")},
    )
    assert answer.content == (
        "The end image is not a picture the bot can read; attach a JPG or PNG picture (WebP and GIF are "
        "converted)."
    )
    await assert_nothing_spent(harness)


# ---- /video extend ---------------------------------------------------------------------------------


async def test_extend_carries_the_parents_video_id(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    parent = await finish(harness, await text_job(harness))
    assert parent.result_video_id

    _, answer = await video_command(harness, "extend", {"job": parent.id, "prompt": "the sun rises"})

    job_id = accepted_id(answer)
    task = await task_of(harness, job_id)
    job = await harness.wait_job(lambda j: True, job_id)
    assert task.request == {
        "action": "extend",
        "video_id": parent.result_video_id,
        "prompt": "the sun rises",
        "callback_url": f"{public_base(harness)}/callbacks/{job.callback_token}",
    }
    assert job.kind == "extend" and job.parent_job_id == parent.id and job.credits == 1


async def test_extend_autocomplete_lists_only_the_members_finished_videos(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness(provider_options={"auto": False})
    member, other = harness.guild.member_id, harness.guild.other_member_id
    finished = await finish(harness, await text_job(harness, "a red kite"))
    await fail(harness, await text_job(harness, "a blue kite"))
    await text_job(harness, "a green kite")  # still generating
    await finish(harness, await text_job(harness, "someone else's kite", user_id=other))

    async def choices(typed: str) -> list[dict[str, object]]:
        handle = await harness.fake.send_autocomplete(
            "video", {"job": typed}, "job", subcommand="extend", user_id=member
        )
        assert (await handle.response())["type"] == 8
        return handle.choices()

    assert await choices("") == [{"name": f"{finished.id} · text2video · a red kite", "value": finished.id}]
    assert await choices(finished.id[:4]) == [
        {"name": f"{finished.id} · text2video · a red kite", "value": finished.id}
    ]
    assert await choices("zzzz") == []


async def test_extending_someone_elses_video_is_refused(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    parent = await finish(harness, await text_job(harness))
    requests = len(harness.provider.requests)

    _, answer = await video_command(
        harness, "extend", {"job": parent.id}, user_id=harness.guild.other_member_id
    )

    assert answer.content == f"Job `{parent.id}` belongs to someone else; you can extend your own videos."
    assert len(harness.provider.requests) == requests
    assert [j.id for j in await harness.running.store.list_jobs(guild_id=harness.guild.id, user_id=None)] == [
        parent.id
    ]


async def test_extending_an_unknown_or_unfinished_job_is_refused(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    failed = await fail(harness, await text_job(harness))

    _, unknown = await video_command(harness, "extend", {"job": "nosuch00"})
    assert (
        unknown.content == "There is no job `nosuch00` on this server; pick one of your videos from the list."
    )
    _, unfinished = await video_command(harness, "extend", {"job": failed.id})
    assert unfinished.content == f"Job `{failed.id}` has no finished video to extend; pick one from /jobs."
    assert [
        j.status for j in await harness.running.store.list_jobs(guild_id=harness.guild.id, user_id=None)
    ] == [JobState.FAILED]


# ---- a provider that cannot make these videos --------------------------------------------------------


async def test_kie_refuses_text_and_image_videos_clearly(make_harness: HarnessFactory) -> None:
    harness = await make_harness("kie")

    _, text = await video_command(harness, "text", {"prompt": "a lighthouse at dawn"})
    assert text.content == (
        "This bot's video provider (kie) does not offer text-to-video; only /motion works here."
    )
    _, image = await video_command(harness, "image", {}, attachments={"image": png()})
    assert image.content == (
        "This bot's video provider (kie) does not offer image-to-video; only /motion works here."
    )
    assert cdn_gets(harness) == []  # refused before reading the picture
    await assert_nothing_spent(harness)
