"""/video shots end to end: the form of up to five "seconds: prompt" boxes, its sums, and Kling's own cuts."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cogs.test_motion import (
    HarnessFactory,
    accepted_id,
    assert_nothing_spent,
    assert_one_sentence,
    private_answer,
    public_base,
    task_of,
    video_command,
)
from tests.fakes.discord import InteractionHandle
from tests.harness import Harness


async def open_form(harness: Harness, options: dict[str, Any] | None = None) -> dict[str, Any]:
    handle = await harness.slash("video", options or {}, subcommand="shots")
    response = await handle.response()
    assert response["type"] == 9, response  # the form
    form: dict[str, Any] = response["data"]
    return form


async def submit(harness: Harness, form: dict[str, Any], boxes: list[str]) -> InteractionHandle:
    ids = [row["components"][0]["custom_id"] for row in form["components"]]
    return await harness.fake.send_modal_submit(
        form["custom_id"], dict(zip(ids, boxes, strict=False)), user_id=harness.guild.member_id
    )


async def test_the_form_has_five_shot_boxes(harness: Harness) -> None:
    form = await open_form(harness)
    assert form["title"] == "Shots of the video"
    boxes = [row["components"][0] for row in form["components"]]
    assert [box["label"] for box in boxes] == [
        f"Shot {n}: seconds, a colon, then the prompt" for n in range(1, 6)
    ]
    assert [box["required"] for box in boxes] == [True, False, False, False, False]
    assert boxes[0]["placeholder"] == "3: a gull takes off from the pier"


async def test_shots_add_up_to_the_video(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    form = await open_form(harness, {"mode": "pro", "sound": True})
    handle = await submit(
        harness, form, ["3: a gull takes off", "4 s: it flies over the bay", " 2 | it lands", "", ""]
    )
    answer = await private_answer(harness, handle)

    job_id = accepted_id(answer)
    assert "6 credits" in answer.content  # 9 s is two units, pro x 2, sound x 1.5
    task = await task_of(harness, job_id)
    job = await harness.wait_job(lambda j: True, job_id)
    assert task.request == {
        "action": "text2video",
        "prompt": "a gull takes off",
        "model": "kling-v3",
        "mode": "pro",
        "aspect_ratio": "16:9",
        "duration": 9,
        "generate_audio": True,
        "multi_shot": True,
        "shot_type": "customize",
        "multi_prompt": [
            {"index": 1, "prompt": "a gull takes off", "duration": 3},
            {"index": 2, "prompt": "it flies over the bay", "duration": 4},
            {"index": 3, "prompt": "it lands", "duration": 2},
        ],
        "callback_url": f"{public_base(harness)}/callbacks/{job.callback_token}",
    }


@pytest.mark.parametrize(
    ("options", "boxes", "expected"),
    [
        (
            {"duration": 10},
            ["3: a gull takes off", "4: it lands"],
            "The shots add up to 7 s but the video is 10 s; make them add up to 10 s.",
        ),
        ({}, ["3: a gull takes off", "0: it lands"], "Shot 2 is 0 s; each shot needs at least 1 s."),
        (
            {},
            ["3: a gull takes off", "2: " + "x" * 513],
            "Shot 2's prompt is 513 characters; a shot prompt holds at most 512.",
        ),
        (
            {},
            ["1: a gull", "1: a bay"],
            "kling-v3 makes any whole number of seconds from 3 to 15, not 2; "
            "choose duration: 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 or 15.",
        ),
        (
            {},
            ["a gull takes off"],
            "Write shot 1 as its seconds, a colon and its prompt, like “3: a gull takes off from the pier”.",
        ),
        ({}, ["3:   "], "Shot 1 has no prompt; describe the shot after its seconds and the colon."),
        (
            {},
            ["3: a gull", "", "2: a bay"],
            "Shot 2 is empty; fill the shots in order, or move the later ones up.",
        ),
    ],
    ids=[
        "wrong-sum",
        "under-one-second",
        "prompt-too-long",
        "too-short-in-all",
        "no-seconds",
        "no-prompt",
        "gap",
    ],
)
async def test_the_forms_refusals(
    harness: Harness, options: dict[str, Any], boxes: list[str], expected: str
) -> None:
    form = await open_form(harness, options)
    answer = await private_answer(harness, await submit(harness, form, boxes))
    assert answer.content == expected
    assert_one_sentence(answer.content)
    await assert_nothing_spent(harness)


async def test_a_model_without_shots_is_refused_before_the_form(harness: Harness) -> None:
    _, answer = await video_command(harness, "shots", {"model": "kling-v2-6"})
    assert answer.content == (
        "kling-v2-6 does not make multi-shot videos; choose model: kling-v3 or kling-v3-omni, "
        "or remove the shots."
    )
    await assert_nothing_spent(harness)


async def test_kling_cuts_the_shots_from_one_prompt(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    _, answer = await video_command(
        harness,
        "shots",
        {
            "shot_type": "intelligence",
            "prompt": "a day at the harbour",
            "model": "kling-v3-omni",
            "duration": 12,
        },
    )
    task = await task_of(harness, accepted_id(answer))
    assert {k: v for k, v in task.request.items() if k != "callback_url"} == {
        "action": "text2video",
        "prompt": "a day at the harbour",
        "model": "kling-v3-omni",
        "mode": "std",
        "aspect_ratio": "16:9",
        "duration": 12,
        "multi_shot": True,
        "shot_type": "intelligence",
    }


async def test_kling_cutting_the_shots_needs_a_prompt(harness: Harness) -> None:
    _, answer = await video_command(harness, "shots", {"shot_type": "intelligence"})
    assert answer.content == "Write a prompt describing the video."
