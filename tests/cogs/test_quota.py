"""/quota end to end: credits left, what they buy, when they reset, which limit applies, jobs in flight."""

from __future__ import annotations

from db.records import JobState
from tests.cogs import HarnessFactory, admin, answer, make_video, start_bot

PRICES = (
    "**What credits buy**\n"
    "• 1 credit: a 5 s standard clip or extending a standard clip\n"
    "• 2 credits: a 5 s pro clip or a 10 s standard clip\n"
    "• 4 credits: a 10 s pro clip\n"
    "• /motion: 1 credit per started 5 s of reference video (2 in pro); a 12 s reference costs 3\n"
    "• mode 4k: 4× a standard clip of the same length (a 5 s 4k clip costs 4)\n"
    "• sound: 1.5× the price, rounded up to whole credits (a 5 s standard clip with sound costs 2)"
)


def next_midnight(now: float) -> int:
    return (int(now) // 86400 + 1) * 86400


async def test_without_limits(make_harness: HarnessFactory) -> None:
    h = await start_bot(make_harness)
    job, _ = await make_video(h, mode="pro")
    assert job is not None
    await h.wait_delivered(job)
    message = await answer(h, "quota")
    assert message.content == (
        "**Your credits**: no limit (no limit is set on this server).\n"
        "Used today: 2 credits.\n"
        "Videos in progress: 0 of 2 at a time.\n" + PRICES
    )


async def test_credits_left_reset_and_jobs_in_flight(make_harness: HarnessFactory) -> None:
    # The provider holds tasks until told, so jobs stay in flight.
    h = await start_bot(make_harness, provider_options={"auto": False})
    g = h.guild
    await admin(h, "quota set", {"limit": 5})
    first, _ = await make_video(h)
    second, _ = await make_video(h, duration=10)
    assert first is not None and second is not None
    await h.wait_job(lambda j: j.status is JobState.SUBMITTED, second)

    midnight = next_midnight(h.running.engine.clock())
    message = await answer(h, "quota")
    assert message.content == (
        "**Your credits** (the server's default limit: 5 credits a day)\n"
        f"**2 of 5** left today · resets <t:{midnight}:R> (<t:{midnight}:f>)\n"
        "That's enough for 2 standard 5 s clips.\n"
        "Videos in progress: 2 of 2 at a time.\n" + PRICES
    )

    # Issue 12: the cap on jobs in flight holds a third in the line (its credit reserved) instead of
    # refusing it; taken out of the line, its credit comes back.
    third, accepted = await make_video(h)
    assert third is not None and "accepted — 1st in line" in accepted
    assert (await answer(h, "quota")).content.splitlines()[1].startswith("**1 of 5** left today")
    cancelled = await answer(h, "queue", {"cancel": third})
    assert cancelled.content == f"Job `{third}` is out of the line; your 1 credit came back."

    # One finishes: its credits stay spent, its slot comes free.
    first_job = await h.running.store.get_job(first)
    assert first_job is not None and first_job.provider_task_id is not None
    await h.provider.succeed(first_job.provider_task_id)
    await h.wait_delivered(first)
    lines = (await answer(h, "quota")).content.splitlines()
    assert lines[1].startswith("**2 of 5** left today")
    assert lines[3] == "Videos in progress: 1 of 2 at a time."

    # Another member has the whole allowance.
    other = (await answer(h, "quota", user_id=g.other_member_id)).content.splitlines()
    assert other[1].startswith("**5 of 5** left today")


async def test_out_of_credits_and_zero_limits(make_harness: HarnessFactory) -> None:
    h = await start_bot(make_harness)
    g = h.guild
    await admin(h, "quota set", {"limit": 2, "user": g.member_id, "period": "month"})
    job, _ = await make_video(h)
    assert job is not None
    await h.wait_delivered(job)
    await admin(h, "quota set", {"limit": 1, "user": g.member_id})
    lines = (await answer(h, "quota")).content.splitlines()
    assert lines[0] == "**Your credits** (your personal limit: 1 credit a month)"
    assert lines[1].startswith("**0 of 1** left this month · resets <t:")
    assert lines[2] == (
        "That's not enough for another video until the reset; a moderator can give credits back with "
        "/kling-admin quota reset."
    )

    await admin(h, "quota set", {"limit": 0})
    other = (await answer(h, "quota", user_id=g.other_member_id)).content.splitlines()
    assert other[0] == "**Your credits** (the server's default limit: 0 credits a day)"
    assert other[2] == "A moderator has set this limit to 0, so no new videos can be started."


async def test_mentions_pause_and_channel_rules(make_harness: HarnessFactory) -> None:
    h = await start_bot(make_harness)
    g = h.guild
    await admin(h, "channels allow", {"channel": g.channel_id})
    await admin(h, "pause")
    text = (await answer(h, "quota", channel_id=g.other_channel_id)).content
    assert "\n⏸️ Video generation is paused on this server right now.\n" in text
    assert f"\nVideos can't be made in this channel; use <#{g.channel_id}>.\n" in text
    assert "can't be made in this channel" not in (await answer(h, "quota")).content


async def test_a_server_with_hundreds_of_allowed_channels_names_a_few(make_harness: HarnessFactory) -> None:
    h = await start_bot(make_harness)
    g = h.guild
    allowed = sorted(h.fake.add_channel(g.id, f"videos-{i}").id for i in range(150))
    for channel_id in allowed:
        await h.running.store.allow_channel(g.id, channel_id)
    named = ", ".join(f"<#{c}>" for c in allowed[:20])

    text = (await answer(h, "quota")).content
    refused = (await answer(h, "video", {"prompt": "a kite"}, subcommand="text")).content

    assert f"\nVideos can't be made in this channel; use {named} and 130 more.\n" in text
    assert refused == f"Videos can't be made in this channel. Try one of these: {named} and 130 more."


async def test_moderators_can_look_at_a_members_credits(make_harness: HarnessFactory) -> None:
    h = await start_bot(make_harness)
    g = h.guild
    h.fake.add_member_roles(g.id, g.other_member_id, g.vip_role_id)
    await admin(h, "quota set", {"limit": 7, "role": g.vip_role_id, "period": "week"})

    message = await answer(h, "quota", {"user": g.other_member_id}, user_id=g.owner_id)
    first = message.content.splitlines()[0]
    assert first.endswith(
        f"'s credits** (the limit of their role <@&{g.vip_role_id}>, the most generous of their roles: "
        "7 credits a week)"
    )
    assert message.content.splitlines()[1].startswith("**7 of 7** left this week")

    refused = await answer(h, "quota", {"user": g.other_member_id}, user_id=g.member_id)
    assert refused.content == "Only moderators can look at someone else's credits; /quota shows yours."
    own = await answer(h, "quota", {"user": g.member_id}, user_id=g.member_id)
    assert own.content.startswith("**Your credits**")
