"""What each model can do, as /video text and /video image meet it: the newer fields at the provider field
by field, their costs, the model lists the autocompletes offer, and one sentence for each refusal, given
before anything is downloaded or charged."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cogs.test_motion import (
    HarnessFactory,
    accepted_id,
    assert_nothing_spent,
    assert_one_sentence,
    cdn_gets,
    png,
    public_base,
    task_of,
    video_command,
)
from tests.harness import Harness


async def test_4k_with_sound_at_the_provider_and_its_cost(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    _, answer = await video_command(
        harness,
        "text",
        {"prompt": "a storm over the sea", "model": "kling-v3", "mode": "4k", "duration": 8, "sound": True},
    )

    job_id = accepted_id(answer)
    assert "12 credits" in answer.content  # two 5 s units, 4k x 4, sound x 1.5
    task = await task_of(harness, job_id)
    job = await harness.wait_job(lambda j: True, job_id)
    assert task.request == {
        "action": "text2video",
        "prompt": "a storm over the sea",
        "model": "kling-v3",
        "mode": "4k",
        "aspect_ratio": "16:9",
        "duration": 8,
        "generate_audio": True,
        "callback_url": f"{public_base(harness)}/callbacks/{job.callback_token}",
    }
    assert job.credits == 12 and job.params["sound"] is True


async def test_sound_off_is_sent_and_costs_nothing_extra(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    _, answer = await video_command(
        harness,
        "image",
        {"model": "kling-v2-6", "mode": "pro", "duration": 10, "sound": False},
        attachments={"image": png()},
    )
    task = await task_of(harness, accepted_id(answer))
    assert task.request["generate_audio"] is False and task.request["model"] == "kling-v2-6"
    assert "4 credits" in answer.content


async def test_a_model_that_always_makes_sound_is_charged_for_it(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    _, answer = await video_command(
        harness, "text", {"prompt": "a fox in the snow", "model": "kling-v3-turbo", "duration": 3}
    )
    task = await task_of(harness, accepted_id(answer))
    assert "generate_audio" not in task.request  # the model's own default: always on
    assert "2 credits" in answer.content  # one unit x 1.5, rounded up


REFUSALS: list[tuple[str, dict[str, Any], str]] = [
    (
        "text",
        {"model": "kling-v2-6", "sound": True},
        "kling-v2-6 makes sound only in pro mode; choose mode: pro or turn sound off.",
    ),
    ("text", {"model": "kling-v1", "mode": "4k"}, "kling-v1 has no 4k mode; choose mode: std or pro."),
    (
        "text",
        {"model": "kling-o1", "duration": 10},
        "kling-o1 makes 5 seconds, not 10; choose duration: 5.",
    ),
    (
        "text",
        {"duration": 7},
        "kling-v1 makes 5 or 10 seconds, not 7; choose duration: 5 or 10.",
    ),
    (
        "text",
        {"model": "kling-v9"},
        "This bot's video provider (acedata) has no text-to-video model kling-v9; choose model: kling-v1, "
        "kling-v1-6, kling-v2-master, kling-v2-1-master, kling-v2-5-turbo, kling-v2-6, kling-v3, "
        "kling-v3-omni, kling-v3-turbo or kling-o1.",
    ),
    (
        "text",
        {"model": "kling-v3-turbo", "sound": False},
        "kling-v3-turbo always makes sound; leave sound on or choose another model.",
    ),
    (
        "text",
        {"model": "kling-v3-omni", "negative_prompt": "blur"},
        "kling-v3-omni does not take a negative prompt; choose model: kling-v1, kling-v1-6, kling-v2-master, "
        "kling-v2-1-master, kling-v2-5-turbo, kling-v2-6 or kling-v3, or remove the negative prompt.",
    ),
    (
        "text",
        {"model": "kling-v2-master", "cfg_scale": 0.5},
        "kling-v2-master does not take cfg_scale; choose model: kling-v1, kling-v1-6 or kling-v3, "
        "or remove cfg_scale.",
    ),
    (
        "text",
        {"model": "kling-v3", "mode": "4k", "camera": "zoom_in"},
        "kling-v3 does not take the camera movement together with mode 4k; remove one of them.",
    ),
    (
        "text",
        {"model": "kling-v2-6", "camera": "pan_left"},
        "kling-v2-6 does not take a camera movement; choose model: kling-v1 or kling-v3, or remove the "
        "camera movement.",
    ),
    (
        "text",
        {"model": "kling v3"},
        "That is not a model name; pick one from the list the model option shows.",
    ),
    (
        "image",
        {"model": "kling-v1-6", "mode": "std"},
        "kling-v1-6 takes an end frame only in pro mode; choose mode: pro or remove the end frame.",
    ),
]


@pytest.mark.parametrize(("command", "options", "expected"), REFUSALS, ids=[r[2][:40] for r in REFUSALS])
async def test_each_refusal_is_one_sentence_before_any_download(
    harness: Harness, command: str, options: dict[str, Any], expected: str
) -> None:
    attachments = {"image": png(), "end_image": png(name="last.png")} if command == "image" else None
    prompt = {"prompt": "a lighthouse at dawn"} if command == "text" else {}
    _, answer = await video_command(harness, command, {**prompt, **options}, attachments=attachments)
    assert answer.content == expected
    assert_one_sentence(answer.content)
    assert cdn_gets(harness) == []
    await assert_nothing_spent(harness)


async def test_kie_says_it_offers_none_of_the_newer_commands(make_harness: HarnessFactory) -> None:
    harness = await make_harness("kie")
    _, answer = await video_command(
        harness, "reference", {"prompt": "@image1 waves"}, attachments={"image1": png()}
    )
    assert (
        answer.content
        == "This bot's video provider (kie) does not offer text-to-video; only /motion works here."
    )
    assert cdn_gets(harness) == []


async def choices(harness: Harness, subcommand: str, typed: str = "") -> list[str]:
    handle = await harness.fake.send_autocomplete(
        "video", {"prompt": "x", "model": typed}, "model", subcommand=subcommand
    )
    assert (await handle.response())["type"] == 8
    return [choice["value"] for choice in handle.choices()]


async def test_model_autocompletes_come_from_the_providers_table(make_harness: HarnessFactory) -> None:
    acedata = await make_harness()
    assert await choices(acedata, "text") == [
        "kling-v1",
        "kling-v1-6",
        "kling-v2-master",
        "kling-v2-1-master",
        "kling-v2-5-turbo",
        "kling-v2-6",
        "kling-v3",
        "kling-v3-omni",
        "kling-v3-turbo",
        "kling-o1",
    ]
    assert await choices(acedata, "text", "OMNI") == ["kling-v3-omni"]
    assert await choices(acedata, "reference") == ["kling-v3-omni", "kling-o1"]
    assert await choices(acedata, "shots") == ["kling-v3", "kling-v3-omni"]
    official = await make_harness("kling")
    assert "kling-v3-turbo" not in await choices(official, "text")  # the official API has no turbo


async def test_motion_offers_the_families_motion_models(make_harness: HarnessFactory) -> None:
    harness = await make_harness()
    handle = await harness.fake.send_autocomplete("motion", {"model": ""}, "model")
    assert (await handle.response())["type"] == 8
    assert [choice["value"] for choice in handle.choices()] == ["kling-v2-6", "kling-v3"]
