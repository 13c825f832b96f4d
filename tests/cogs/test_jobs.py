"""/jobs and /job end to end: a member's list (moderators may look at anyone's), one job's card."""

from __future__ import annotations

import hashlib
import re

import pytest

from db.records import JobRecord, JobState
from tests.cogs.test_motion import (
    HarnessFactory,
    accepted_id,
    fail,
    finish,
    private_answer,
    task_of,
    video_command,
)
from tests.fakes.discord import EPHEMERAL, FakeMessage
from tests.harness import Harness


async def text_job(harness: Harness, prompt: str, *, user_id: int | None = None) -> str:
    _, answer = await video_command(harness, "text", {"prompt": prompt}, user_id=user_id)
    return accepted_id(answer)


async def jobs(
    harness: Harness, options: dict[str, object] | None = None, *, user_id: int | None = None
) -> str:
    handle = await harness.slash("jobs", options, user_id=user_id)
    answer = await private_answer(harness, handle)
    assert answer.mentions == [], "a job list must not ping anyone"
    return answer.content


def line(harness: Harness, job: JobRecord, status: str) -> str:
    text = f"`{job.id}` · Text to video · {status} · <t:{int(job.created_at)}:R>"
    if job.delivered_message_id is not None:
        link = f"https://discord.com/channels/{harness.guild.id}/{job.delivered_channel_id}/{job.delivered_message_id}"
        text += f" · [video]({link})"
    return text


async def current(harness: Harness, job_id: str) -> JobRecord:
    job = await harness.running.store.get_job(job_id)
    assert job is not None
    return job


@pytest.fixture
async def three_jobs(make_harness: HarnessFactory) -> tuple[Harness, JobRecord, JobRecord, JobRecord]:
    """A member with a finished, a failed and a running job (oldest first)."""
    harness = await make_harness(provider_options={"auto": False})
    done = await finish(harness, await text_job(harness, "a red kite"))
    failed = await fail(harness, await text_job(harness, "a blue kite"), "The prompt was unclear.")
    running_id = await text_job(harness, "a green kite")
    await task_of(harness, running_id)
    return harness, done, failed, await current(harness, running_id)


# ---- /jobs ---------------------------------------------------------------------------------------


async def test_jobs_when_there_are_none(harness: Harness) -> None:
    assert await jobs(harness) == "Your job list is empty. Start one with /motion."
    assert await jobs(harness, {"status": "failed"}) == (
        "Your job list is empty for that status. Start one with /motion."
    )


async def test_jobs_lists_the_members_jobs_newest_first(
    three_jobs: tuple[Harness, JobRecord, JobRecord, JobRecord],
) -> None:
    harness, done, failed, running = three_jobs
    await text_job(harness, "not mine", user_id=harness.guild.other_member_id)

    assert (await jobs(harness)).splitlines() == [
        "**Your recent jobs**",
        line(harness, running, "⏳ Queued"),
        line(harness, failed, "❌ Failed"),
        line(harness, done, "✅ Done"),
    ]


@pytest.mark.parametrize(("status", "which"), [("active", 3), ("finished", 1), ("failed", 2)])
async def test_jobs_status_filter(
    three_jobs: tuple[Harness, JobRecord, JobRecord, JobRecord], status: str, which: int
) -> None:
    harness = three_jobs[0]
    wanted = three_jobs[which]
    text = await jobs(harness, {"status": status})
    lines = text.splitlines()
    assert lines[0] == "**Your recent jobs**"
    assert [re.match(r"`(\w+)`", item).group(1) for item in lines[1:]] == [wanted.id]  # type: ignore[union-attr]


async def test_only_moderators_see_someone_elses_jobs(make_harness: HarnessFactory) -> None:
    harness = await make_harness()
    member, other = harness.guild.member_id, harness.guild.other_member_id
    job = await harness.wait_delivered(await text_job(harness, "a red kite"))

    assert await jobs(harness, {"user": member}, user_id=other) == (
        "Only moderators can look at someone else's jobs."
    )
    assert (await jobs(harness, {"user": member}, user_id=member)).startswith("**Your recent jobs**\n")
    owner_view = await jobs(harness, {"user": member}, user_id=harness.guild.owner_id)
    assert owner_view.splitlines() == ["**member's recent jobs**", line(harness, job, "✅ Done")]

    harness.fake.add_member_roles(harness.guild.id, other, harness.guild.moderator_role_id)
    assert (await jobs(harness, {"user": member}, user_id=other)).startswith("**member's recent jobs**\n")


# ---- /job ----------------------------------------------------------------------------------------


async def job_card(harness: Harness, job_id: str, *, user_id: int | None = None) -> FakeMessage:
    handle = await harness.slash("job", {"id": job_id}, user_id=user_id)
    return await harness.reply(handle)


def fields_of(message: FakeMessage) -> dict[str, str]:
    [embed] = message.embeds
    return {f["name"]: f["value"] for f in embed["fields"]}


async def test_job_shows_a_finished_video_with_its_buttons(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    job = await finish(harness, await text_job(harness, "a red kite"))

    card = await job_card(harness, job.id.upper(), user_id=harness.guild.other_member_id)

    assert not card.flags & EPHEMERAL  # like Midjourney's /show: anyone may look and use the buttons
    assert card.mentions == []
    link = f"https://discord.com/channels/{harness.guild.id}/{job.delivered_channel_id}/{job.delivered_message_id}"
    assert card.content == f"First posted: {link}"
    # Re-posted like Midjourney's /show: the video itself, with its buttons.
    [video] = card.attachments
    assert video.filename == f"{job.id}.mp4"
    assert video.sha256 == hashlib.sha256(harness.provider.result_video).hexdigest()
    [embed] = card.embeds
    assert embed["title"] == "Text to video" and embed["description"] == "a red kite"
    fields = fields_of(card)
    assert list(fields) == [
        "Mode",
        "Aspect ratio",
        "Duration",
        "Length",
        "Timing",
        "Status",
        "Requested by",
        "Delivered",
    ]
    assert fields["Status"] == "✅ Done" and fields["Requested by"] == f"<@{harness.guild.member_id}>"
    assert re.fullmatch(r"after \d+s", fields["Delivered"])
    assert embed["footer"]["text"] == f"Job {job.id} · 1 credit"
    buttons = [c["custom_id"] for row in card.components for c in row["components"]]
    assert buttons == [f"kling:extend:{job.id}", f"kling:rerun:{job.id}", f"kling:delete:{job.id}"]


async def test_job_explains_a_failure(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    job = await fail(harness, await text_job(harness, "a blue kite"), "The prompt was unclear.")

    card = await job_card(harness, job.id)

    assert card.content == "" and card.components == []
    fields = fields_of(card)
    assert fields["Status"] == "❌ Failed"
    assert (
        fields["Why it failed"] == "The generation failed: The prompt was unclear. Your 1 credit came back."
    )
    assert "Delivered" not in fields


async def test_job_unknown_id_is_refused_privately(harness: Harness) -> None:
    handle = await harness.slash("job", {"id": "nosuch00"})
    answer = await private_answer(harness, handle)
    assert answer.content == "There is no job `nosuch00` on this server. /jobs lists yours."


async def test_job_with_the_longest_id_discord_lets_a_member_type_is_answered(harness: Harness) -> None:
    """Quoting all 4,000 characters made a 4,053-character answer, which Discord refuses."""
    handle = await harness.slash("job", {"id": "x" * 4000})
    answer = await private_answer(harness, handle)
    assert answer.content == f"There is no job `{'x' * 39}…` on this server. /jobs lists yours."


async def test_jobs_lists_as_many_as_fit_in_one_message(make_harness: HarnessFactory) -> None:
    harness = await make_harness()
    store = harness.running.store
    for _ in range(15):  # /jobs shows up to 15; with links to their posts they need over 2,000 characters
        job = await harness.wait_delivered(await text_job(harness, "a red kite"))
    assert job.delivered_message_id is not None and job.delivered_channel_id is not None
    every = await store.list_jobs(guild_id=harness.guild.id, user_id=None, limit=100)

    text = await jobs(harness)

    assert len("\n".join(line(harness, j, "✅ Done") for j in every)) > 2000
    assert len(text) <= 2000
    shown = text.splitlines()[1:-1]
    assert shown == [line(harness, j, "✅ Done") for j in every[: len(shown)]]
    assert text.endswith(f"\n…and {15 - len(shown)} more.")


async def test_job_reposts_a_video_the_provider_no_longer_keeps_as_an_explanation(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness(provider_options={"auto": False})
    job = await finish(harness, await text_job(harness, "a green kite"))
    harness.provider.fail_next("/_results/", 404, {"error": "gone"})

    card = await job_card(harness, job.id)

    assert card.attachments == []
    assert card.content.endswith("The provider no longer keeps this video (results expire after a few days).")
    assert fields_of(card)["Status"] == "✅ Done"


async def test_job_says_when_a_video_could_not_be_posted_anywhere(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    harness.fake.set_bot_can_send(harness.guild.channel_id, False)
    harness.fake.set_dms_open(harness.guild.member_id, False)
    job_id = await text_job(harness, "a red kite")
    harness.fake.expire_interaction_tokens()
    job = await finish(harness, job_id)
    assert job.status is JobState.DELIVERED and job.delivered_message_id is None

    card = await job_card(harness, job.id, user_id=harness.guild.member_id)

    assert card.content == ""
    assert fields_of(card)["Delivered"] == "not posted: I could not post it anywhere"
