"""Extending a video made by a model the provider's extend action does not take: /video extend and the
Extend button continue it with an omni model, the video as a `feature` reference, and say so."""

from __future__ import annotations

from tests.cogs.test_buttons import open_and_submit_extend
from tests.cogs.test_motion import (
    HarnessFactory,
    accepted_id,
    finish,
    motion,
    private_answer,
    public_base,
    task_of,
    video_command,
)
from tests.harness import Harness


async def finished_v3_video(harness: Harness) -> str:
    _, answer = await video_command(
        harness, "text", {"prompt": "a red kite", "model": "kling-v3", "aspect_ratio": "9:16", "mode": "pro"}
    )
    return accepted_id(answer)


async def test_extend_continues_a_kling_v3_video_with_the_omni_model(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    parent = await finish(harness, await finished_v3_video(harness))
    assert parent.result_url and parent.result_duration

    _, answer = await video_command(harness, "extend", {"job": parent.id, "prompt": "the kite climbs"})

    assert answer.content.splitlines()[1:] == [
        f"• Job `{parent.id}` was made with kling-v3, which the provider's extend action does not take, "
        "so kling-v3-omni continues it, with the video as its reference."
    ]
    job_id = accepted_id(answer)
    task = await task_of(harness, job_id)
    job = await harness.wait_job(lambda j: True, job_id)
    assert task.request == {
        "action": "text2video",
        "prompt": "Continue <<<video_1>>> seamlessly: the kite climbs",
        "model": "kling-v3-omni",
        "mode": "pro",
        "aspect_ratio": "9:16",
        "duration": 5,
        "video_list": [{"video_url": parent.result_url, "refer_type": "feature"}],
        "callback_url": f"{public_base(harness)}/callbacks/{job.callback_token}",
    }
    assert list(task.inputs) == [parent.result_url]
    assert job.kind == "extend" and job.parent_job_id == parent.id and job.credits == 2
    assert job.params["reference_seconds"] == round(parent.result_duration, 3)


async def test_a_kling_v1_video_keeps_the_extend_action(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    _, answer = await video_command(harness, "text", {"prompt": "a kite", "model": "kling-v1"})
    parent = await finish(harness, accepted_id(answer))

    _, answer = await video_command(harness, "extend", {"job": parent.id})

    assert "\n" not in answer.content  # nothing to explain
    task = await task_of(harness, accepted_id(answer))
    assert task.request["action"] == "extend" and task.request["video_id"] == parent.result_video_id


async def test_the_extend_button_takes_the_omni_path_too(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    await finish(harness, await finished_v3_video(harness))
    [post] = harness.posts_in(harness.guild.channel_id)
    parent = await harness.wait_job(lambda j: j.result_url is not None)

    answer = await private_answer(harness, await open_and_submit_extend(harness, parent, post, ""))

    assert f"Job `{parent.id}` was made with kling-v3" in answer.content
    task = await task_of(harness, accepted_id(answer))
    assert task.request["model"] == "kling-v3-omni"
    assert task.request["prompt"] == (
        "Continue <<<video_1>>> naturally, keeping the same subject, style and camera."
    )
    assert task.request["video_list"] == [{"video_url": parent.result_url, "refer_type": "feature"}]


async def test_a_motion_video_is_continued_by_the_omni_model(harness: Harness) -> None:
    """Motion control's default model (kling-v2-6) has no extend action either."""
    _, answer = await motion(harness)
    parent = await harness.wait_delivered(accepted_id(answer))
    _, answer = await video_command(harness, "extend", {"job": parent.id})
    assert "was made with kling-v2-6" in answer.content
