"""/kling-admin end to end: quotas, channels, blocklist, pause, usage, audit log and who may use them."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import discord
import pytest

from db.records import JobState
from tests.cogs import ADMIN, HarnessFactory, admin, answer, ledger, make_video, start_bot
from tests.fakes.discord import EPHEMERAL, MANAGE_GUILD
from tests.harness import Harness

MODERATORS_ONLY = (
    "Only moderators can do that: members with Manage Server, or the moderator role set with "
    "/kling-admin mod-role."
)


@pytest.fixture
async def h(make_harness: HarnessFactory) -> Harness:
    return await start_bot(make_harness)


def provider_tasks(harness: Harness) -> int:
    return len(harness.provider.tasks)


async def delivered(harness: Harness, job_id: str | None) -> None:
    assert job_id is not None
    await harness.wait_delivered(job_id)


# ---- who may use /kling-admin ----------------------------------------------------------------------


def admin_leaf_commands(harness: Harness) -> list[str]:
    group = harness.running.tree.get_command(ADMIN)
    assert isinstance(group, discord.app_commands.Group)
    return sorted(
        c.qualified_name.removeprefix(ADMIN + " ")
        for c in group.walk_commands()
        if isinstance(c, discord.app_commands.Command)
    )


def options_for_every_command(harness: Harness) -> dict[str, dict[str, Any]]:
    g = harness.guild
    return {
        "blocklist add": {"term": "dragon"},
        "blocklist list": {},
        "blocklist remove": {"term": "dragon"},
        "channels allow": {"channel": g.channel_id},
        "channels deny": {"channel": g.channel_id},
        "channels list": {},
        "log-channel": {"channel": g.log_channel_id},
        "mod-role": {"role": g.vip_role_id},
        "pause": {"reason": "because I can"},
        "quota clear": {},
        "quota list": {},
        "quota reset": {"user": g.member_id},
        "quota set": {"limit": 1000},
        "resume": {},
        "usage": {"period": "all"},
    }


async def test_registered_hidden_from_members_and_not_in_dms(h: Harness) -> None:
    registered = next(c for c in h.fake.guild_commands[h.guild.id] if c["name"] == ADMIN)
    assert int(registered["default_member_permissions"]) == MANAGE_GUILD
    assert registered.get("contexts") == [0] or registered.get("dm_permission") is False


async def test_member_is_refused_every_admin_command_even_when_delivered(h: Harness) -> None:
    everything = options_for_every_command(h)
    assert admin_leaf_commands(h) == sorted(everything), "a new admin command needs a row here"
    before_settings = await h.running.store.get_guild_settings(h.guild.id)

    for subcommand, options in everything.items():
        handle = await h.slash(ADMIN, options, subcommand=subcommand, user_id=h.guild.member_id)
        reply = await h.reply(handle)
        assert reply.content == MODERATORS_ONLY, subcommand
        assert reply.flags & EPHEMERAL, subcommand

    # Nothing changed, nothing was logged, nobody was refunded.
    store = h.running.store
    assert await store.get_guild_settings(h.guild.id) == before_settings
    assert await store.quota_limits(h.guild.id) == []
    assert ledger(h, "SELECT COUNT(*) FROM audit_log") == [(0,)]
    assert ledger(h, "SELECT COUNT(*) FROM quota_resets") == [(0,)]
    assert not [m for m in h.fake.messages_in(h.guild.log_channel_id) if not m.ephemeral]


async def test_mod_role_and_manage_server_make_moderators(h: Harness) -> None:
    helpers = h.fake.add_role(h.guild.id, "Helpers")  # no permissions at all
    h.fake.add_member_roles(h.guild.id, h.guild.other_member_id, helpers.id)
    assert await admin(h, "quota list", user_id=h.guild.other_member_id) == MODERATORS_ONLY

    text = await admin(h, "mod-role", {"role": helpers.id})
    assert text.startswith(f"✅ Members with <@&{helpers.id}> are moderators now")
    assert (await admin(h, "quota list", user_id=h.guild.other_member_id)).startswith("No limits are set")

    # A role with Manage Server counts without being the moderator role.
    h.fake.add_member_roles(h.guild.id, h.guild.member_id, h.guild.moderator_role_id)
    assert (await admin(h, "channels list", user_id=h.guild.member_id)).startswith("Every channel is allowed")

    assert (await admin(h, "mod-role")).startswith("✅ No moderator role any more")
    assert await admin(h, "quota list", user_id=h.guild.other_member_id) == MODERATORS_ONLY
    everyone = await admin(h, "mod-role", {"role": h.guild.id})
    assert everyone == "That would make everyone a moderator; pick a specific role."


async def test_blocklist_autocomplete_is_for_moderators_only(h: Harness) -> None:
    await admin(h, "blocklist add", {"term": "Dragon"})
    await admin(h, "blocklist add", {"term": "wyvern"})

    async def suggestions(user_id: int) -> list[str]:
        handle = await h.fake.send_autocomplete(
            ADMIN, {"term": "dra"}, "term", subcommand="blocklist remove", user_id=user_id
        )
        await handle.response()
        return [c["value"] for c in handle.choices()]

    assert await suggestions(h.guild.owner_id) == ["dragon"]
    assert await suggestions(h.guild.member_id) == []


# ---- quotas -----------------------------------------------------------------------------------------


async def test_limit_refuses_the_next_job_and_reset_gives_credits_back(h: Harness) -> None:
    g = h.guild
    text = await admin(h, "quota set", {"limit": 2, "user": g.member_id, "period": "week"})
    assert text.startswith(f"✅ <@{g.member_id}>'s personal limit is now **2 credits a week**.")
    assert "They have spent 0 credits this week, so 2 left until <t:" in text

    first, _ = await make_video(h)
    await delivered(h, first)
    second, refused = await make_video(h, duration=10)  # 2 credits, 1 left
    assert second is None
    assert refused.startswith(
        "This video costs 2 credits and you have 1 left this week (your personal limit)."
    )
    assert "see /quota for details" in refused
    assert provider_tasks(h) == 1

    text = await admin(h, "quota reset", {"user": g.member_id})
    assert text.startswith(f"✅ Gave <@{g.member_id}> back the 1 credit they spent this week.")
    assert "They have 2 credits to spend until <t:" in text
    third, accepted = await make_video(h, duration=10)
    assert third is not None, accepted
    assert "2 credits (0 left this week)" in accepted
    await delivered(h, third)
    assert provider_tasks(h) == 2

    # Nothing left to give back is said, not done.
    other = await admin(h, "quota reset", {"user": g.other_member_id})
    assert other == f"<@{g.other_member_id}> hasn't spent any credits today; nothing to give back."
    assert ledger(h, "SELECT COUNT(*) FROM quota_resets") == [(1,)]


async def test_role_and_user_limits_combine(h: Harness) -> None:
    g = h.guild
    regular = h.fake.add_role(g.id, "Regular")
    h.fake.add_member_roles(g.id, g.member_id, g.vip_role_id, regular.id)

    assert (await admin(h, "quota set", {"limit": 1})).startswith(
        "✅ The server default is now **1 credit a day**."
    )
    text = await admin(h, "quota set", {"limit": 3, "role": g.vip_role_id})
    assert text.startswith(f"✅ The limit of role <@&{g.vip_role_id}> is now **3 credits a day**.")
    await admin(h, "quota set", {"limit": 2, "role": regular.id})

    async def quota_head(user_id: int) -> str:
        return (await answer(h, "quota", user_id=user_id)).content.split("\n")[1]

    # The most generous of the member's roles; the default for a member without limited roles.
    assert (await answer(h, "quota", user_id=g.member_id)).content.startswith(
        f"**Your credits** (the limit of your role <@&{g.vip_role_id}>, the most generous of your roles: "
        "3 credits a day)"
    )
    assert (await quota_head(g.member_id)).startswith("**3 of 3** left today")
    assert (await quota_head(g.other_member_id)).startswith("**1 of 1** left today")

    # A personal limit beats the roles, even a lower one.
    await admin(h, "quota set", {"limit": 1, "user": g.member_id})
    first, _ = await make_video(h)
    assert first is not None
    await delivered(h, first)
    second, refused = await make_video(h)
    assert second is None and "(your personal limit)" in refused

    # Removing it puts the roles back in charge: 3 a day, 1 spent.
    assert (await admin(h, "quota clear", {"user": g.member_id})).startswith(
        f"✅ Removed <@{g.member_id}>'s personal limit; their role limits or the server default apply again."
    )
    assert (await quota_head(g.member_id)).startswith("**2 of 3** left today")
    third, _ = await make_video(h)
    assert third is not None
    await delivered(h, third)

    # An unlimited role beats every number.
    await admin(h, "quota set", {"unlimited": True, "role": regular.id})
    assert (await answer(h, "quota", user_id=g.member_id)).content.startswith(
        f"**Your credits**: no limit (the limit of your role <@&{regular.id}>, "
        "the most generous of your roles)."
    )

    listing = await admin(h, "quota list")
    assert listing.splitlines()[1:] == [
        "• Server default: 1 credit a day",
        f"• Role <@&{min(g.vip_role_id, regular.id)}>: "
        + ("3 credits a day" if g.vip_role_id < regular.id else "unlimited"),
        f"• Role <@&{max(g.vip_role_id, regular.id)}>: "
        + ("unlimited" if g.vip_role_id < regular.id else "3 credits a day"),
    ]


async def test_quota_set_validation(h: Harness) -> None:
    g = h.guild
    assert await admin(h, "quota set", {}) == (
        "Say how many credits: `limit` (a number, 0 stops new videos), or `unlimited: True` for no limit."
    )
    assert await admin(h, "quota set", {"limit": 3, "unlimited": True}) == (
        "Give either a `limit` or `unlimited: True`, not both."
    )
    assert await admin(h, "quota set", {"limit": 3, "user": g.member_id, "role": g.vip_role_id}) == (
        "Give a member or a role, not both (leave both out to work on the server default)."
    )
    assert await admin(h, "quota set", {"limit": 3, "role": g.id}) == (
        "@everyone is the whole server: leave out `user` and `role` to work on the server default."
    )
    assert await admin(h, "quota clear", {"role": g.vip_role_id}) == (
        f"The limit of role <@&{g.vip_role_id}> isn't set, so there is nothing to remove. "
        "/kling-admin quota list shows the limits that are set."
    )
    assert await h.running.store.quota_limits(g.id) == []
    assert ledger(h, "SELECT COUNT(*) FROM audit_log") == [(0,)]

    # The period is kept when only the number changes.
    await admin(h, "quota set", {"limit": 5, "period": "month"})
    text = await admin(h, "quota set", {"limit": 0})
    assert text.startswith("✅ The server default is now **0 credits a month** (was 5 credits a month).")
    _, refused = await make_video(h)
    assert refused.startswith("This video costs 1 credit and you have 0 left this month")


async def test_ten_concurrent_requests_against_three_credits_accept_exactly_three(
    make_harness: HarnessFactory,
) -> None:
    # A high cap on jobs in flight, so only the credits decide.
    h = await start_bot(make_harness, max_jobs_in_flight_per_user=20)
    await admin(h, "quota set", {"limit": 4, "user": h.guild.member_id})
    first, _ = await make_video(h)
    await delivered(h, first)

    handles = await asyncio.gather(
        *(h.slash("video", {"prompt": f"shot {i}"}, subcommand="text") for i in range(10))
    )
    replies = await asyncio.gather(*(h.reply(handle) for handle in handles))
    accepted = [r.content for r in replies if "accepted" in r.content]
    refused = [r.content for r in replies if "accepted" not in r.content]
    assert len(accepted) == 3, accepted
    assert len(refused) == 7
    # (The engine words the period as "this day".)
    assert all(text.startswith("This video costs 1 credit and you have 0 left today") for text in refused), (
        refused
    )

    for job in await h.running.store.list_jobs(guild_id=h.guild.id, user_id=None, limit=100):
        await h.wait_delivered(job.id)
    assert ledger(h, "SELECT COUNT(*), SUM(credits) FROM credit_ledger") == [(4, 4)]
    assert provider_tasks(h) == 4


async def test_failed_jobs_credits_come_back(h: Harness) -> None:
    g = h.guild
    await admin(h, "log-channel", {"channel": g.log_channel_id})
    await admin(h, "quota set", {"limit": 1, "user": g.member_id})
    h.provider.auto_fail_message = "The model could not render this scene."
    job_id, _ = await make_video(h)
    assert job_id is not None
    failed = await h.wait_job(lambda j: j.status is JobState.FAILED, job_id)
    assert failed.settlement.value == "refunded"
    assert ledger(h, "SELECT state FROM credit_ledger WHERE job_id = ?", (job_id,)) == [("refunded",)]
    quota = (await answer(h, "quota")).content
    assert "**1 of 1** left today" in quota

    await h.fake.wait_for(
        lambda: any(
            "**job failed**" in m.content and "refunded 1" in m.content
            for m in h.fake.messages_in(g.log_channel_id)
        )
    )
    h.provider.auto_fail_message = None
    again, text = await make_video(h)
    assert again is not None, text
    await delivered(h, again)


async def test_period_rollover_with_the_clock(h: Harness) -> None:
    await admin(h, "quota set", {"limit": 1, "user": h.guild.member_id, "period": "day"})
    first, _ = await make_video(h)
    await delivered(h, first)
    second, refused = await make_video(h)
    assert second is None
    engine = h.running.engine
    midnight = (int(engine.clock()) // 86400 + 1) * 86400
    assert f"Your credits reset <t:{midnight}:R>" in refused

    h.clock.advance(midnight - engine.clock() - 30)  # just before midnight: still spent
    assert (await make_video(h))[0] is None
    h.clock.advance(31)
    quota = (await answer(h, "quota")).content
    assert f"**1 of 1** left today · resets <t:{midnight + 86400}:R>" in quota
    third, text = await make_video(h)
    assert third is not None, text
    await delivered(h, third)


# ---- server policy ----------------------------------------------------------------------------------


async def test_pause_refuses_new_jobs_without_calling_the_provider(h: Harness) -> None:
    text = await admin(h, "pause", {"reason": "  budget   review "})
    assert text == (
        "⏸️ Video generation is paused on this server: new videos are refused, videos in progress still "
        "arrive. Members see: “budget review”. /kling-admin resume turns it back on."
    )
    assert (await admin(h, "pause")) == "Video generation was already paused; the reason is updated."
    await admin(h, "pause", {"reason": "budget review"})
    job, refused = await make_video(h)
    assert job is None
    assert refused == (
        "Video generation is paused on this server (budget review). Try again once a moderator resumes it "
        "with /kling-admin resume; nothing was charged."
    )
    assert provider_tasks(h) == 0 and h.provider.requests == []
    assert ledger(h, "SELECT COUNT(*) FROM jobs") == [(0,)]
    quota = (await answer(h, "quota")).content
    assert "⏸️ Video generation is paused on this server right now (budget review)." in quota

    assert (await admin(h, "resume")) == "▶️ Video generation is back on: members can make videos again."
    assert (await admin(h, "resume")) == "Video generation isn't paused; nothing to resume."
    job, _ = await make_video(h)
    await delivered(h, job)


async def test_channel_rules(h: Harness) -> None:
    g = h.guild
    assert (await admin(h, "channels list")).startswith("Every channel is allowed")
    assert await admin(h, "channels deny", {"channel": g.other_channel_id}) == (
        f"<#{g.other_channel_id}> isn't on the allowed list: the list is empty, so every channel is allowed. "
        "To keep videos out of it, allow the channels where they may be made instead."
    )
    text = await admin(h, "channels allow", {"channel": g.channel_id})
    assert text.startswith(f"✅ Videos can now be made only in <#{g.channel_id}>")
    assert (
        await admin(h, "channels allow", {"channel": g.channel_id})
        == f"<#{g.channel_id}> is already allowed."
    )
    assert await admin(h, "channels list") == f"**Videos can be made only in:**\n• <#{g.channel_id}>"

    message = await answer(h, "video", {"prompt": "a cat"}, subcommand="text", channel_id=g.other_channel_id)
    assert message.content == f"Videos can't be made in this channel. Try one of these: <#{g.channel_id}>."
    assert provider_tasks(h) == 0
    job, _ = await make_video(h)  # in the allowed channel
    await delivered(h, job)

    text = await admin(h, "channels deny", {"channel": g.channel_id})
    assert "The list is empty now, so videos can be made in every channel again." in text
    message = await answer(h, "video", {"prompt": "a cat"}, subcommand="text", channel_id=g.other_channel_id)
    assert "accepted" in message.content


async def test_blocklist(h: Harness) -> None:
    assert await admin(h, "blocklist add", {"term": "  Red   DRAGON "}) == (
        "✅ Added `red dragon`. Prompts and negative prompts containing it as whole words (any case) "
        "are refused."
    )
    assert (
        await admin(h, "blocklist add", {"term": "red dragon"}) == "`red dragon` is already on the blocklist."
    )
    await admin(h, "blocklist add", {"term": "gore"})
    assert await admin(h, "blocklist list") == (
        "**Blocklist** (2 terms, whole words, any case)\n• `gore`\n• `red dragon`"
    )
    assert ledger(h, "SELECT term FROM blocklist ORDER BY term") == [("gore",), ("red dragon",)]

    refused_prompt = (
        'Your prompt contains a term this server does not allow ("{}"). Rephrase it and try again; nothing '
        "was charged."
    )
    _, text = await make_video(h, "A RED dragon over the sea")
    assert text == refused_prompt.format("red dragon")
    _, text = await make_video(h, "a calm sea", negative_prompt="Gore, blur")
    assert text == refused_prompt.format("gore")
    assert provider_tasks(h) == 0 and h.provider.requests == []

    job, text = await make_video(h, "a red dragonfly and gorest")  # not whole words
    assert job is not None, text
    await delivered(h, job)

    assert await admin(h, "blocklist remove", {"term": "GORE"}) == "✅ Removed `gore` from the blocklist."
    assert await admin(h, "blocklist remove", {"term": "gore"}) == (
        "`gore` isn't on the blocklist; /kling-admin blocklist list shows what is."
    )
    assert await admin(h, "blocklist add", {"term": "   "}) == "The term is empty; give a word or phrase."
    job, _ = await make_video(h, "a calm sea", negative_prompt="gore")
    assert job is not None


# ---- usage and the audit log ------------------------------------------------------------------------


async def test_usage_csv_adds_up_to_the_ledger(h: Harness) -> None:
    g = h.guild
    for options in ({}, {"mode": "pro"}, {"duration": 10, "mode": "pro"}):
        job, _ = await make_video(h, **options)
        await delivered(h, job)
    other, _ = await make_video(h, user_id=g.other_member_id)
    await delivered(h, other)
    h.provider.auto_fail_message = "no luck"
    failed, _ = await make_video(h, user_id=g.other_member_id, duration=10)
    assert failed is not None
    await h.wait_job(lambda j: j.status is JobState.FAILED, failed)

    handle = await h.slash(ADMIN, {"period": "all"}, subcommand="usage", user_id=g.owner_id)
    message = await h.reply(handle)
    assert message.flags & EPHEMERAL
    assert len(message.attachments) == 1
    attachment = message.attachments[0]
    assert attachment.filename.startswith("usage-all-") and attachment.filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(attachment.read_bytes().decode())))

    columns = ("jobs", "credits_charged", "credits_reserved", "credits_refunded")
    totals = {c: sum(int(r[c]) for r in rows) for c in columns}
    ((count, charged, reserved, refunded),) = ledger(
        h,
        "SELECT COUNT(*), SUM(CASE WHEN state = 'charged' THEN credits ELSE 0 END),"
        " SUM(CASE WHEN state = 'reserved' THEN credits ELSE 0 END),"
        " SUM(CASE WHEN state = 'refunded' THEN credits ELSE 0 END) FROM credit_ledger",
    )
    assert totals == {
        "jobs": count,
        "credits_charged": charged,
        "credits_reserved": reserved,
        "credits_refunded": refunded,
    }
    assert (count, charged, refunded) == (5, 1 + 2 + 4 + 1, 2)
    per_user = {int(r["user_id"]): 0 for r in rows}
    for r in rows:
        per_user[int(r["user_id"])] += int(r["credits_charged"])
    assert per_user == {g.member_id: 7, g.other_member_id: 1}
    assert {r["kind"] for r in rows} == {"text2video"}

    first_line = message.content.splitlines()[0]
    assert first_line == "**Usage, all time**: 5 jobs · 8 credits charged · 2 refunded"
    assert f"• <@{g.member_id}>: 3 jobs · 7 credits charged" in message.content
    assert f"• <@{g.other_member_id}>: 2 jobs · 1 credit charged · 2 refunded" in message.content

    # One member, this month.
    handle = await h.slash(
        ADMIN, {"user": g.other_member_id, "period": "month"}, subcommand="usage", user_id=g.owner_id
    )
    message = await h.reply(handle)
    rows = list(csv.DictReader(io.StringIO(message.attachments[0].read_bytes().decode())))
    assert [(int(r["user_id"]), r["jobs"], r["credits_charged"], r["credits_refunded"]) for r in rows] == [
        (g.other_member_id, "2", "1", "2")
    ]
    assert message.content.startswith(f"**Usage of <@{g.other_member_id}>, this month (since <t:")


async def test_every_admin_change_is_audited_in_the_log_channel(h: Harness) -> None:
    g = h.guild
    text = await admin(h, "log-channel", {"channel": g.log_channel_id})
    assert text.startswith(f"✅ The audit log goes to <#{g.log_channel_id}>")
    await admin(h, "quota set", {"limit": 5, "role": g.vip_role_id, "period": "week"})
    await admin(h, "channels allow", {"channel": g.channel_id})
    await admin(h, "blocklist add", {"term": "gore"})
    await admin(h, "pause", {"reason": "maintenance"})
    await admin(h, "resume")

    expected = [
        ("log channel", f"audit log now goes to <#{g.log_channel_id}>"),
        ("quota set", f"the limit of role <@&{g.vip_role_id}>: 5 credits a week"),
        ("channel allowed", f"<#{g.channel_id}>"),
        ("blocklist add", "||gore||"),
        ("paused", "maintenance"),
        ("resumed", "new videos allowed again"),
    ]

    def lines() -> list[str]:
        return [m.content for m in h.fake.messages_in(g.log_channel_id) if m.author_id == h.fake.bot_user_id]

    await h.fake.wait_for(lambda: len(lines()) >= len(expected) or None)
    for line, (action, detail) in zip(lines(), expected, strict=True):
        assert f"**{action}** · <@{g.owner_id}> · {detail}" in line
    for message in h.fake.messages_in(g.log_channel_id):
        assert not message.mention_everyone and not message.mentions and not message.mention_roles
