"""The line, end to end: jobs wait for a provider slot instead of being refused, in fair order; a full
provider sends a job back to the front; pause holds the line; cancel refunds; waiting has a limit;
the job timeout counts from submission; a restart keeps the order."""

from __future__ import annotations

import pytest

from db.records import JobRecord, JobState, Settlement
from tests.bot.jobs.helpers import motion_attachments
from tests.cogs import answer, ledger, make_video
from tests.cogs.test_motion import progress_history
from tests.conftest import HarnessFactory
from tests.fakes.discord import FakeMessage
from tests.harness import Harness

FAMILIES = ["kling", "acedata", "kie", "gateway"]


async def enqueue(h: Harness, user_id: int, prompt: str = "a quiet harbour") -> str:
    """/video text (or /motion on kie, which offers nothing else) as `user_id`; the accepted job's id."""
    if h.provider_name == "kie":
        handle = await h.slash(
            "motion", {"prompt": prompt}, user_id=user_id, attachments=motion_attachments()
        )
        text = (await h.reply(handle)).content
    else:
        job_id, text = await make_video(h, prompt, user_id=user_id)
        assert job_id is not None, text
        return job_id
    assert "accepted" in text, text
    return text.split("`")[1]


async def job(h: Harness, job_id: str) -> JobRecord:
    found = await h.running.store.get_job(job_id)
    assert found is not None
    return found


async def submitted(h: Harness, job_id: str) -> JobRecord:
    return await h.wait_job(lambda j: j.provider_task_id is not None, job_id)


async def finish(h: Harness, job_id: str) -> JobRecord:
    task_id = (await submitted(h, job_id)).provider_task_id
    assert task_id is not None
    await h.provider.succeed(task_id)
    return await h.wait_delivered(job_id)


def members(h: Harness, count: int) -> list[int]:
    return [h.fake.add_member(h.guild.id, username=f"queue{i}").user_id for i in range(count)]


def task_order(h: Harness) -> list[str]:
    """The jobs in the order the provider received them (each task carries its job's prompt)."""
    return [str(t.request.get("prompt") or t.request["input"]["prompt"]) for t in h.provider.tasks.values()]


async def place_shown(h: Harness, job_id: str, text: str) -> FakeMessage:
    def shown() -> FakeMessage | None:
        found = [m for m in h.fake.messages_in(h.guild.channel_id) if f"`{job_id}`" in m.content]
        return next((m for m in found if m.content.endswith(text)), None)

    return await h.fake.wait_for(shown)


# ---- slots, caps, fairness ------------------------------------------------------------------------


async def test_past_the_slots_jobs_wait_and_move_up_as_slots_free(make_harness: HarnessFactory) -> None:
    h = await make_harness(provider_options={"auto": False}, provider_max_concurrency=1)
    first, second, third = members(h, 3)
    running = await enqueue(h, first, "one")
    await submitted(h, running)
    waiting = await enqueue(h, second, "two")
    last_id, last_text = await make_video(h, "three", user_id=third)
    assert last_id is not None and f"`{last_id}` accepted — 2nd in line" in last_text
    assert (await job(h, waiting)).status is JobState.QUEUED
    message = await place_shown(h, last_id, "⏳ In line — 1 ahead of you")
    assert any(
        c["custom_id"] == f"kling:cancel:{last_id}" for row in message.components for c in row["components"]
    )

    await finish(h, running)
    await finish(h, waiting)
    await place_shown(h, last_id, "⏳ Queued")  # at the provider now: the ordinary stages
    await finish(h, last_id)
    history = progress_history(h, message.id)
    assert history[:2] == [
        f"**Text to video** `{last_id}` for <@{third}> — ⏳ In line — 1 ahead of you",
        f"**Text to video** `{last_id}` for <@{third}> — ⏳ In line — next up",
    ]
    assert task_order(h) == ["one", "two", "three"]
    assert h.provider.peak_running == 1
    assert h.fake.messages[message.id].components == []  # the Cancel button went with the line


async def test_a_members_running_cap_holds_their_third_job_while_others_pass(
    make_harness: HarnessFactory,
) -> None:
    h = await make_harness(provider_options={"auto": False}, provider_max_concurrency=5)
    busy, other = members(h, 2)
    mine = [await enqueue(h, busy, f"mine {i}") for i in range(3)]
    theirs = await enqueue(h, other, "theirs")
    await submitted(h, theirs)
    assert [(await job(h, job_id)).status for job_id in mine] == [
        JobState.SUBMITTED,
        JobState.SUBMITTED,
        JobState.QUEUED,
    ]
    await finish(h, mine[0])
    await submitted(h, mine[2])


async def test_one_members_backlog_does_not_starve_a_later_member(make_harness: HarnessFactory) -> None:
    h = await make_harness(
        provider_options={"auto": False}, provider_max_concurrency=1, max_jobs_in_flight_per_user=5
    )
    heavy, light = members(h, 2)
    backlog = [await enqueue(h, heavy, f"heavy {i}") for i in range(4)]
    single = await enqueue(h, light, "light")
    for job_id in [*backlog[:2], single, *backlog[2:]]:
        await finish(h, job_id)
    # "heavy 0" went at once; the light member's one job then waited behind one more job of the heavy
    # member (who had been waiting longer), not behind all of them.
    assert task_order(h) == ["heavy 0", "heavy 1", "light", "heavy 2", "heavy 3"]


# ---- the provider says it is full -------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
async def test_a_full_provider_sends_the_job_back_to_the_front_and_fewer_slots_are_used(
    make_harness: HarnessFactory, family: str
) -> None:
    h = await make_harness(
        family,
        provider_options={"auto": False, "max_running": 1},
        provider_max_concurrency=3,
        provider_slot_recovery_seconds=600,
    )
    engine, store = h.running.engine, h.running.store
    first, second, third = members(h, 3)
    running = await enqueue(h, first, "one")
    await submitted(h, running)
    refused = await enqueue(h, second, "two")  # the provider answers "full": back to the line
    await h.wait_job(lambda j: j.status is JobState.QUEUED and j.submit_attempts == 1, refused)
    assert h.provider.refused_full == 1
    state = await store.slot_state(engine.line.rules)
    assert (state.running, state.working_limit, state.lowered) == (1, 1, True)
    later = await enqueue(h, third, "three")
    assert (await job(h, later)).status is JobState.QUEUED  # one slot now, and it is taken

    await finish(h, running)
    await finish(h, refused)  # first in line again, ahead of the later job
    await finish(h, later)
    assert task_order(h) == ["one", "two", "three"]
    assert h.provider.refused_full == 1 and h.provider.peak_running == 1
    for job_id in (running, refused, later):
        assert (await job(h, job_id)).settlement is Settlement.CHARGED

    # Quiet for a while: one more slot, then back to the configured three.
    h.clock.advance(601)
    await engine.line.dispatch()
    assert (await store.slot_state(engine.line.rules)).working_limit == 2
    h.clock.advance(601)
    await engine.line.dispatch()
    state = await store.slot_state(engine.line.rules)
    assert (state.working_limit, state.lowered) == (3, False)


# ---- pause, cancel, the waiting limit --------------------------------------------------------------


async def test_pause_holds_the_line_and_resume_lets_it_move(make_harness: HarnessFactory) -> None:
    h = await make_harness(provider_options={"auto": False}, provider_max_concurrency=1)
    first, second = members(h, 2)
    running = await enqueue(h, first, "one")
    await submitted(h, running)
    waiting = await enqueue(h, second, "two")
    await answer(h, "kling-admin", {"reason": "maintenance"}, subcommand="pause", user_id=h.guild.owner_id)
    await place_shown(h, waiting, "⏸️ In line — held while video generation is paused on this server")
    await finish(h, running)  # a running job still finishes and is delivered
    assert (await job(h, waiting)).status is JobState.QUEUED
    await h.running.engine.line.dispatch()
    assert (await job(h, waiting)).status is JobState.QUEUED
    await answer(h, "kling-admin", subcommand="resume", user_id=h.guild.owner_id)
    await finish(h, waiting)


async def test_the_requester_cancels_with_the_button_and_gets_the_credits_back(
    make_harness: HarnessFactory,
) -> None:
    h = await make_harness(provider_options={"auto": False}, provider_max_concurrency=1)
    first, second = members(h, 2)
    running = await enqueue(h, first, "one")
    await submitted(h, running)
    waiting = await enqueue(h, second, "two")
    message = await place_shown(h, waiting, "⏳ In line — next up")

    stranger = await h.fake.send_component_click(f"kling:cancel:{waiting}", message.id, user_id=first)
    refused = await stranger.response()
    assert refused["data"]["content"] == (
        "Only the member who asked for this video, or a moderator, can cancel it."
    )
    click = await h.fake.send_component_click(f"kling:cancel:{waiting}", message.id, user_id=second)
    done = await click.response()
    assert done["data"]["content"] == f"Job `{waiting}` is out of the line; your 1 credit came back."
    cancelled = await job(h, waiting)
    assert (cancelled.status, cancelled.settlement) == (JobState.CANCELLED, Settlement.REFUNDED)
    assert await h.running.store.spent_credits(h.guild.id, second, 0) == 0
    await place_shown(h, waiting, "🚫 Cancelled by the member who asked for it. 1 credit refunded.")
    audit = ledger(h, "SELECT action, actor_id FROM audit_log WHERE job_id = ?", (waiting,))
    assert ("job cancelled", second) in audit

    # A running job cannot be taken back from the provider.
    again = await h.slash("queue", {"cancel": running}, user_id=first)
    assert (await h.reply(again)).content == (
        f"Job `{running}` has already gone to the video provider, which can't stop it once started; it "
        "will finish and be posted as usual."
    )
    await finish(h, running)
    assert len(h.provider.tasks) == 1


async def test_moderators_see_everyones_line_and_cancel_with_queue(make_harness: HarnessFactory) -> None:
    h = await make_harness(provider_options={"auto": False}, provider_max_concurrency=1)
    first, second = members(h, 2)
    running = await enqueue(h, first, "one")
    await submitted(h, running)
    waiting = await enqueue(h, second, "two")

    mine = (await answer(h, "queue", user_id=second)).content.splitlines()
    assert mine[0] == "**Your videos in the line** (the provider runs 1 of 1 at a time)"
    assert mine[1] == f"⏳ `{waiting}` Text to video · 1st in line"
    job_view = await h.slash("job", {"id": waiting}, user_id=second)
    assert "Waiting: 1st in line." in (await h.reply(job_view)).content

    everyone = (await answer(h, "queue", user_id=h.guild.owner_id)).content.splitlines()
    assert everyone[0] == "**The line on this server** (the provider runs 1 of 1 at a time)"
    assert everyone[1].startswith(f"▶️ `{running}` Text to video for <@{first}> · running since <t:")
    assert everyone[2] == f"⏳ `{waiting}` Text to video for <@{second}> · 1st in line"

    cancelled = await answer(h, "queue", {"cancel": waiting}, user_id=h.guild.owner_id)
    assert cancelled.content == f"Job `{waiting}` is out of the line; <@{second}>'s 1 credit came back."
    told = await place_shown(h, waiting, "came back.")
    assert told.content == (
        f"<@{second}> your video job `{waiting}` was taken out of the line by a moderator. "
        "Your 1 credit came back."
    )
    assert (await job(h, waiting)).settlement is Settlement.REFUNDED


async def test_a_job_that_waited_too_long_is_cancelled_and_refunded(make_harness: HarnessFactory) -> None:
    h = await make_harness(
        provider_options={"auto": False}, provider_max_concurrency=1, max_queue_wait_seconds=600
    )
    first, second = members(h, 2)
    running = await enqueue(h, first, "one")
    await submitted(h, running)
    waiting = await enqueue(h, second, "two")
    h.clock.advance(599)
    assert await h.running.engine.line.expire_waits() == 0
    h.clock.advance(2)
    assert await h.running.engine.line.expire_waits() == 1
    cancelled = await job(h, waiting)
    assert (cancelled.status, cancelled.settlement) == (JobState.CANCELLED, Settlement.REFUNDED)
    await place_shown(
        h,
        waiting,
        f"`{waiting}` was taken out of the line because it waited in line too long. Your 1 credit came back.",
    )
    await finish(h, running)
    assert len(h.provider.tasks) == 1


async def test_the_job_timeout_counts_from_submission_not_acceptance(make_harness: HarnessFactory) -> None:
    h = await make_harness(
        provider_options={"auto": False}, provider_max_concurrency=1, job_timeout_seconds=100
    )
    engine = h.running.engine
    first, second = members(h, 2)
    running = await enqueue(h, first, "one")
    await submitted(h, running)
    waiting = await enqueue(h, second, "two")
    h.clock.advance(90)  # waiting in line for 90 s
    await finish(h, running)
    late = await submitted(h, waiting)
    h.clock.advance(50)  # 140 s after acceptance, 50 s after submission
    assert await engine.fail_timed_out_jobs() == 0
    assert (await job(h, waiting)).status is JobState.SUBMITTED
    h.clock.advance(51)
    assert await engine.fail_timed_out_jobs() == 1
    assert (await job(h, late.id)).status is JobState.FAILED


async def test_a_restart_keeps_the_line_and_its_order(make_harness: HarnessFactory) -> None:
    h = await make_harness(provider_options={"auto": False}, provider_max_concurrency=1)
    people = members(h, 4)
    running = await enqueue(h, people[0], "zero")
    await submitted(h, running)
    waiting = [await enqueue(h, member, f"n{i}") for i, member in enumerate(people[1:], 1)]
    await h.crash()
    await h.start()
    for job_id in [running, *waiting]:
        await finish(h, job_id)
    assert task_order(h) == ["zero", "n1", "n2", "n3"]
