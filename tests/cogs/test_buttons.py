"""The Extend, Re-run and Delete buttons on finished videos, end to end, including after a restart."""

from __future__ import annotations

from typing import Any

from db.records import JobRecord, JobState
from tests.cogs.test_motion import (
    IMAGE,
    VIDEO,
    HarnessFactory,
    accepted_id,
    finish,
    interaction_callback,
    motion,
    private_answer,
    task_of,
    video_command,
)
from tests.fakes.discord import EPHEMERAL, FakeMessage, InteractionHandle
from tests.harness import Harness


async def finished_text_video(harness: Harness, prompt: str = "a red kite") -> tuple[JobRecord, FakeMessage]:
    _, answer = await video_command(harness, "text", {"prompt": prompt})
    job = await finish(harness, accepted_id(answer))
    [post] = harness.posts_in(harness.guild.channel_id)
    return job, post


async def click(
    harness: Harness, action: str, job: JobRecord, message: FakeMessage, *, user_id: int | None = None
) -> InteractionHandle:
    return await harness.fake.send_component_click(
        f"kling:{action}:{job.id}", message.id, user_id=user_id or harness.guild.member_id
    )


async def refusal(handle: InteractionHandle) -> str:
    """An immediate private answer (type 4, ephemeral): what a refused click shows."""
    response = await handle.response()
    assert response["type"] == 4 and response["data"]["flags"] & EPHEMERAL, response
    return str(response["data"]["content"])


async def job_count(harness: Harness) -> int:
    return len(await harness.running.store.list_jobs(guild_id=harness.guild.id, user_id=None, limit=100))


# ---- Re-run --------------------------------------------------------------------------------------


async def test_rerun_after_a_restart_repeats_the_job(harness: Harness) -> None:
    _, answer = await motion(
        harness, prompt="jumps for joy", mode="pro", orientation="video", keep_sound=False
    )
    first = await harness.wait_delivered(accepted_id(answer))
    [post] = harness.posts_in(harness.guild.channel_id)
    [original] = harness.provider.requests_to("/kling/motion")

    await harness.restart()  # the post and its buttons come from the previous process
    handle = await click(harness, "rerun", first, post)
    answer = await private_answer(harness, handle)

    assert interaction_callback(harness, handle).json == {"type": 5, "data": {"flags": EPHEMERAL}}
    rerun_id = accepted_id(answer)
    assert rerun_id != first.id
    assert answer.content.splitlines()[1:] == [f"• Re-running job `{first.id}` with the same settings."]
    rerun = await harness.wait_delivered(rerun_id)
    assert rerun.kind == "motion" and rerun.parent_job_id == first.id and rerun.credits == first.credits
    for key in ("prompt", "mode", "orientation", "keep_sound", "reference_seconds"):
        assert rerun.params[key] == first.params[key], key

    [_, again] = harness.provider.requests_to("/kling/motion")
    assert again.body is not None and original.body is not None
    fresh = {"image_url", "video_url", "callback_url"}  # the new job's own addresses
    assert {k: v for k, v in again.body.items() if k not in fresh} == {
        k: v for k, v in original.body.items() if k not in fresh
    }
    assert again.body["callback_url"].endswith(f"/callbacks/{rerun.callback_token}")
    task = harness.provider.tasks[rerun.provider_task_id or ""]
    assert task.inputs == {again.body["image_url"]: IMAGE, again.body["video_url"]: VIDEO}


async def test_rerun_by_another_member_is_charged_to_them(harness: Harness) -> None:
    _, answer = await video_command(harness, "text", {"prompt": "a red kite", "mode": "pro"})
    first = await harness.wait_delivered(accepted_id(answer))
    [post] = harness.posts_in(harness.guild.channel_id)
    other = harness.guild.other_member_id

    answer = await private_answer(harness, await click(harness, "rerun", first, post, user_id=other))
    rerun = await harness.wait_delivered(accepted_id(answer))

    assert rerun.user_id == other and rerun.params["mode"] == "pro"
    assert await harness.running.store.spent_credits(harness.guild.id, other, 0.0) == 2


# ---- Extend --------------------------------------------------------------------------------------


async def open_and_submit_extend(
    harness: Harness, job: JobRecord, post: FakeMessage, typed: str
) -> InteractionHandle:
    opened = await click(harness, "extend", job, post)
    response = await opened.response()
    assert response["type"] == 9, response  # a form, shown to the member who clicked
    form: dict[str, Any] = response["data"]
    assert form["title"] == "Extend the video"
    [field] = form["components"][0]["components"]
    assert field["label"] == "What happens next? (optional)" and field["required"] is False
    return await harness.fake.send_modal_submit(
        form["custom_id"], {field["custom_id"]: typed}, message_id=post.id, user_id=harness.guild.member_id
    )


async def test_extend_button_opens_a_form_whose_answer_extends_the_video(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness(provider_options={"auto": False})
    parent, post = await finished_text_video(harness)

    submitted = await open_and_submit_extend(harness, parent, post, "the kite flies into a cloud")
    answer = await private_answer(harness, submitted)

    job_id = accepted_id(answer)
    task = await task_of(harness, job_id)
    job = await harness.wait_job(lambda j: True, job_id)
    assert job.kind == "extend" and job.parent_job_id == parent.id
    assert task.request == {
        "action": "extend",
        "video_id": parent.result_video_id,
        "prompt": "the kite flies into a cloud",
        "callback_url": f"http://127.0.0.1:{harness.webhook_port}/callbacks/{job.callback_token}",
    }


async def test_extend_button_on_someone_elses_video_is_refused(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    parent, post = await finished_text_video(harness)

    handle = await click(harness, "extend", parent, post, user_id=harness.guild.other_member_id)

    assert await refusal(handle) == (
        f"Job `{parent.id}` belongs to someone else; you can extend your own videos."
    )
    assert await job_count(harness) == 1


async def test_extend_with_an_empty_form_still_makes_a_video(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    parent, post = await finished_text_video(harness)

    answer = await private_answer(harness, await open_and_submit_extend(harness, parent, post, ""))
    job_id = accepted_id(answer)
    job = await harness.wait_job(lambda j: j.status is not JobState.PENDING, job_id)
    assert job.status is JobState.SUBMITTED, job.error_message


# ---- Delete --------------------------------------------------------------------------------------


async def test_delete_by_the_requester_removes_the_post(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    job, post = await finished_text_video(harness)

    answer = await private_answer(harness, await click(harness, "delete", job, post))

    assert answer.content == f"Deleted the video of job `{job.id}`."
    assert harness.fake.messages[post.id].deleted
    [deletion] = harness.fake.calls_matching("DELETE", rf"^/channels/\d+/messages/{post.id}$")
    assert deletion.auth == "bot" and deletion.status == 204


async def test_delete_by_another_member_is_refused(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    job, post = await finished_text_video(harness)

    handle = await click(harness, "delete", job, post, user_id=harness.guild.other_member_id)

    assert await refusal(handle) == (
        "Only the member who asked for this video, or a moderator, can delete it."
    )
    assert not harness.fake.messages[post.id].deleted
    assert harness.fake.calls_matching("DELETE", r"^/channels/") == []


async def test_delete_by_a_moderator(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    job, post = await finished_text_video(harness)
    moderator = harness.guild.other_member_id
    harness.fake.add_member_roles(harness.guild.id, moderator, harness.guild.moderator_role_id)

    answer = await private_answer(harness, await click(harness, "delete", job, post, user_id=moderator))

    assert answer.content == f"Deleted the video of job `{job.id}`."
    assert harness.fake.messages[post.id].deleted


# ---- a copy delivered by DM ----------------------------------------------------------------------


async def test_buttons_on_a_dm_copy(make_harness: HarnessFactory) -> None:
    """The channel refused the video, so it went by DM: new jobs are not started from there (they would
    escape the server's quota and rules), but the member may still delete their copy."""
    harness = await make_harness(provider_options={"auto": False})
    member = harness.guild.member_id
    harness.fake.set_bot_can_send(harness.guild.channel_id, False)
    _, answer = await video_command(harness, "text", {"prompt": "a red kite"})
    harness.fake.expire_interaction_tokens()
    job = await finish(harness, accepted_id(answer))
    assert job.delivered_via == "dm"
    dm = harness.fake.dm_channel_of(member)
    assert dm is not None
    [copy] = [m for m in harness.fake.messages_in(dm.id) if m.components]

    for action in ("rerun", "extend"):
        handle = await harness.fake.send_component_click(f"kling:{action}:{job.id}", copy.id, user_id=member)
        assert await refusal(handle) == (
            "Re-run and Extend work in the server where the video was made; run "
            f"`/job {job.id}` there to get these buttons again."
        )
    assert await job_count(harness) == 1

    deleted = await harness.fake.send_component_click(f"kling:delete:{job.id}", copy.id, user_id=member)
    assert (await private_answer(harness, deleted)).content == f"Deleted the video of job `{job.id}`."
    assert harness.fake.messages[copy.id].deleted
