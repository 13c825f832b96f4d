"""The fake Discord, exercised by the real discord.py client: a minimal commands.Bot defined here logs in,
syncs, takes slash commands, and talks back over every route the bot will use."""

from __future__ import annotations

import asyncio
import hashlib
import io
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.fakes.discord import MIB, FakeDiscord, fixtures, pointed_at, seed_default_world

fake_discord = fixtures.fake_discord  # the fixtures, visible to this module's tests
fake_discord_patched = fixtures.fake_discord_patched

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
VIDEO = b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 300_000


class MiniBot(commands.Bot):
    """A bare bot: commands are added per test (fresh objects, so no state leaks between bots)."""

    def __init__(self, guild_id: int, *, views: list[discord.ui.View] | None = None) -> None:
        super().__init__(command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.05)
        self.guild_ref = discord.Object(guild_id)
        self.ready_event = asyncio.Event()
        self.results: asyncio.Queue[Any] = asyncio.Queue()
        self._views = views or []

    async def setup_hook(self) -> None:
        for view in self._views:
            self.add_view(view)
        await self.tree.sync(guild=self.guild_ref)

    async def on_ready(self) -> None:
        self.ready_event.set()


@asynccontextmanager
async def running(bot: MiniBot, fake: FakeDiscord) -> AsyncIterator[MiniBot]:
    """Run `bot` against `fake` until the block ends; fail fast if it cannot start."""
    with pointed_at(fake.api_base, fake.gateway_url):
        task = asyncio.create_task(bot.start(fake.bot_token))
        ready = asyncio.create_task(bot.ready_event.wait())
        done, _ = await asyncio.wait({task, ready}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
        try:
            if task in done:
                task.result()
                raise AssertionError("bot stopped before it was ready")
            assert done, "bot did not become ready"
            yield bot
        finally:
            ready.cancel()
            await bot.close()
            await asyncio.wait_for(task, 5)


async def outcome(bot: MiniBot) -> Any:
    """What a command handler reported (a value or the exception it caught)."""
    return await asyncio.wait_for(bot.results.get(), 5)


def add_command(bot: MiniBot, command: app_commands.Command[Any, Any, Any] | app_commands.Group) -> None:
    bot.tree.add_command(command, guild=bot.guild_ref)


# ---- boot and sync --------------------------------------------------------------------------------


async def test_boot_and_sync(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    world = fake.world

    @app_commands.command(name="animate", description="Animate a picture")
    async def animate(interaction: discord.Interaction, image: discord.Attachment, prompt: str = "") -> None:
        pass

    bot = MiniBot(world.guild_id)
    add_command(bot, animate)
    async with running(bot, fake):
        assert bot.user is not None and bot.user.id == fake.app_id == fake.bot_user_id
        assert bot.application_id == fake.app_id
        guild = bot.get_guild(world.guild_id)
        assert guild is not None and guild.me is not None
        assert guild.get_channel(world.general_id) is not None
        assert guild.filesize_limit == 10 * MIB
        assert fake.gateway_connected and fake.identify_count == 1

    me = fake.calls_matching("GET", r"^/users/@me$")[0]
    assert me.auth == "bot" and me.status == 200
    assert fake.calls_matching("GET", r"^/oauth2/applications/@me$")[0].status == 200
    sync = fake.calls_matching("PUT", rf"^/applications/{fake.app_id}/guilds/{world.guild_id}/commands$")[0]
    assert sync.json[0]["options"][0] == {"type": 11, "name": "image", "description": "…", "required": True}
    registered = fake.guild_commands[world.guild_id]
    assert [c["name"] for c in registered] == ["animate"]
    assert registered[0]["application_id"] == str(fake.app_id) and registered[0]["id"]
    assert registered[0]["guild_id"] == str(world.guild_id)
    assert [f.t for f in fake.frames if f.t][:2] == ["READY", "GUILD_CREATE"]
    assert not fake.unhandled_calls


async def test_json_content_type_auth_and_unknown_routes(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    async with aiohttp.ClientSession() as http:
        async with http.get(
            f"{fake.api_base}/users/@me", headers={"Authorization": f"Bot {fake.bot_token}"}
        ) as r:
            assert r.status == 200
            assert r.headers["Content-Type"] == "application/json"  # exactly: discord.py compares it
        async with http.get(f"{fake.api_base}/users/@me", headers={"Authorization": "Bot wrong"}) as r:
            assert r.status == 401
        async with http.post(f"{fake.api_base}/channels/1/nothing-here", json={"a": 1}) as r:
            assert r.status == 404
            assert await r.json() == {"message": "404: Not Found", "code": 0}
    unhandled = fake.unhandled_calls
    assert len(unhandled) == 1 and unhandled[0].json == {"a": 1}
    assert [c.auth for c in fake.calls] == ["bot", "invalid", "none"]


async def test_command_validation_rejects_bad_names(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    url = f"{fake.api_base}/applications/{fake.app_id}/guilds/{fake.world.guild_id}/commands"
    bad = [{"name": "Bad Name", "description": "x", "type": 1}]
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bot {fake.bot_token}"}) as http,
        http.put(url, json=bad) as r,
    ):
        body = await r.json()
    assert r.status == 400 and body["code"] == 50035
    assert "APPLICATION_COMMAND_INVALID_NAME" in str(body["errors"])


# ---- the slash-command flow ------------------------------------------------------------------------


async def test_slash_command_with_attachment_full_flow(fake_discord: FakeDiscord) -> None:
    fake, world = fake_discord, fake_discord.world

    @app_commands.command(name="animate", description="Animate a picture")
    async def animate(interaction: discord.Interaction, image: discord.Attachment, prompt: str = "") -> None:
        await interaction.response.defer(thinking=True)
        await interaction.edit_original_response(content=f"Queued: {prompt}")
        data = await image.read()
        assert interaction.channel_id is not None
        by_followup = await interaction.followup.send(
            content="done", file=discord.File(io.BytesIO(VIDEO), "result.mp4"), wait=True
        )
        channel = bot.get_partial_messageable(interaction.channel_id, guild_id=interaction.guild_id)
        by_channel = await channel.send(
            content=interaction.user.mention,
            file=discord.File(io.BytesIO(VIDEO), "result.mp4"),
            allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, users=True),
        )
        await bot.results.put((data, image.filename, image.content_type, by_followup.id, by_channel.id))

    bot = MiniBot(world.guild_id)
    add_command(bot, animate)
    async with running(bot, fake):
        handle = await fake.send_slash_command(
            "animate", {"prompt": "dance"}, attachments={"image": ("cat.png", PNG, "image/png")}
        )
        assert await handle.response() == {"type": 5}
        data, filename, ctype, followup_id, channel_msg_id = await outcome(bot)

    assert (data, filename, ctype) == (PNG, "cat.png", "image/png")
    original = handle.original()
    assert original is not None and original.content == "Queued: dance" and not original.loading
    assert [m.id for m in handle.followups] == [followup_id]
    followup = handle.followups[0]
    assert followup.posted_by == "interaction" and followup.attachments[0].filename == "result.mp4"
    assert followup.attachments[0].sha256 == hashlib.sha256(VIDEO).hexdigest()
    assert followup.attachments[0].content_type == "video/mp4"
    posted = fake.messages[channel_msg_id]
    assert posted.posted_by == "bot" and posted.channel_id == world.general_id
    assert posted.mentions == [world.alice_id] and not posted.mention_everyone
    assert posted.attachments[0].read_bytes() == VIDEO
    assert posted in fake.messages_in(world.general_id)
    # The upload is recorded decoded, and the post was pushed to the gateway.
    upload = fake.calls_matching("POST", rf"^/channels/{world.general_id}/messages$")[0]
    assert upload.json["attachments"] == [{"id": 0, "filename": "result.mp4"}]
    assert upload.json["enforce_nonce"] is True and upload.json["allowed_mentions"]["parse"] == ["users"]
    assert [(f.field, f.filename, f.size) for f in upload.files] == [("files[0]", "result.mp4", len(VIDEO))]
    assert any(f.t == "MESSAGE_CREATE" and f.d["id"] == str(channel_msg_id) for f in fake.frames)
    cdn = fake.calls_matching("GET", r"^/ephemeral-attachments/")[0]
    assert cdn.auth == "none" and cdn.status == 200
    callback = fake.calls_matching("POST", r"^/interactions/\d+/[^/]+/callback$")[0]
    assert callback.auth == "none" and callback.query == {"with_response": "1"}


async def test_first_followup_after_defer_edits_the_original(fake_discord: FakeDiscord) -> None:
    fake = fake_discord

    @app_commands.command(name="ping", description="Ping")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        first = await interaction.followup.send("first", wait=True)
        second = await interaction.followup.send("second", ephemeral=True, wait=True)
        await bot.results.put((first.id, second.id))

    bot = MiniBot(fake.world.guild_id)
    add_command(bot, ping)
    async with running(bot, fake):
        handle = await fake.send_slash_command("ping")
        first_id, second_id = await outcome(bot)
    original = handle.original()
    assert original is not None and original.id == first_id and original.content == "first"
    assert original.ephemeral and not original.loading
    assert [m.id for m in handle.followups] == [second_id]
    assert handle.followups[0].ephemeral


async def test_expired_interaction_token_is_401_50027(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    gate = asyncio.Event()

    @app_commands.command(name="slow", description="Slow")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        await gate.wait()
        for attempt in (
            lambda: interaction.followup.send("late", wait=True),
            lambda: interaction.edit_original_response(content="late"),
        ):
            try:
                await attempt()
            except discord.HTTPException as exc:
                await bot.results.put((exc.status, exc.code))

    bot = MiniBot(fake.world.guild_id)
    add_command(bot, slow)
    async with running(bot, fake):
        handle = await fake.send_slash_command("slow")
        await handle.response()
        fake.advance(15 * 60 + 1)
        gate.set()
        assert await outcome(bot) == (401, 50027)
        assert await outcome(bot) == (401, 50027)

        # The same through expire_interaction_tokens(), without moving the clock.
        gate.clear()
        handle = await fake.send_slash_command("slow")
        await handle.response()
        fake.expire_interaction_tokens()
        gate.set()
        assert await outcome(bot) == (401, 50027)
        assert await outcome(bot) == (401, 50027)


async def test_missed_three_second_window_is_404_10062(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    gate = asyncio.Event()

    @app_commands.command(name="sleepy", description="Sleepy")
    async def sleepy(interaction: discord.Interaction) -> None:
        await gate.wait()
        try:
            await interaction.response.defer()
        except discord.NotFound as exc:
            await bot.results.put((exc.status, exc.code))

    bot = MiniBot(fake.world.guild_id)
    add_command(bot, sleepy)
    async with running(bot, fake):
        handle = await fake.send_slash_command("sleepy")
        fake.advance(3.5)
        gate.set()
        assert await outcome(bot) == (404, 10062)
    assert not handle.acknowledged


async def test_second_acknowledgement_is_400_40060(fake_discord: FakeDiscord) -> None:
    fake = fake_discord

    @app_commands.command(name="ack", description="Ack")
    async def ack(interaction: discord.Interaction) -> None:
        await interaction.response.defer()

    bot = MiniBot(fake.world.guild_id)
    add_command(bot, ack)
    async with running(bot, fake):
        handle = await fake.send_slash_command("ack")
        await handle.response()
    url = f"{fake.api_base}/interactions/{handle.id}/{handle.token}/callback?with_response=1"
    async with aiohttp.ClientSession() as http, http.post(url, json={"type": 5}) as r:
        assert r.status == 400 and (await r.json())["code"] == 40060


# ---- size limits ---------------------------------------------------------------------------------


async def test_413_by_boost_tier_and_by_attachment_size_limit(fake_discord: FakeDiscord) -> None:
    fake, world = fake_discord, fake_discord.world
    big = b"\x00" * (10 * MIB + 1)

    @app_commands.command(name="upload", description="Upload")
    async def upload(interaction: discord.Interaction, size: int) -> None:
        await interaction.response.defer()
        await interaction.edit_original_response(content="uploading")
        for n in (size + 1, size):
            try:
                file = discord.File(io.BytesIO(b"x" * n), "v.mp4")
                msg = await interaction.followup.send(file=file, wait=True)
                await bot.results.put(("ok", msg.attachments[0].size))
            except discord.HTTPException as exc:
                await bot.results.put((exc.status, exc.code))

    bot = MiniBot(world.guild_id)
    add_command(bot, upload)
    async with running(bot, fake):
        channel = bot.get_partial_messageable(world.general_id, guild_id=world.guild_id)
        with pytest.raises(discord.HTTPException) as too_big:
            await channel.send(file=discord.File(io.BytesIO(big), "big.mp4"))
        assert (too_big.value.status, too_big.value.code) == (413, 40005)

        updated = asyncio.create_task(bot.wait_for("guild_update", timeout=5))
        fake.set_premium_tier(world.guild_id, 2)
        _, guild = await updated
        assert guild.premium_tier == 2 and guild.filesize_limit == 50 * MIB
        msg = await channel.send(file=discord.File(io.BytesIO(big), "big.mp4"))
        assert msg.attachments[0].size == len(big)

        handle = await fake.send_slash_command("upload", {"size": 1000}, attachment_size_limit=1000)
        assert handle.payload["attachment_size_limit"] == 1000
        assert await outcome(bot) == (413, 40005)
        assert await outcome(bot) == ("ok", 1000)
    rejected = fake.calls_matching("POST", rf"^/channels/{world.general_id}/messages$")[0]
    assert rejected.status == 413 and rejected.files[0].size == len(big)


# ---- CDN -------------------------------------------------------------------------------------------


async def test_cdn_urls_are_signed_and_expire(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    payload = fake.add_attachment("cat.png", PNG, "image/png")
    url: str = payload["url"]
    assert "ex=" in url and "is=" in url and "hm=" in url
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as r:
            assert r.status == 200 and await r.read() == PNG
            assert r.headers["Content-Type"] == "image/png"
        async with http.get(url.replace("hm=", "hm=0")) as r:
            assert r.status == 404
        fake.advance(24 * 3600 + 1)
        async with http.get(url) as r:
            assert r.status == 404
            assert await r.text() == "This content is no longer available."
        # An API payload produced now carries a freshly signed URL.
        fresh = fake.attachment_payload(fake.attachments[int(payload["id"])])["url"]
        async with http.get(fresh) as r:
            assert r.status == 200


async def test_expired_cdn_url_is_not_found_for_the_bot(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    gate = asyncio.Event()

    @app_commands.command(name="late", description="Late")
    async def late(interaction: discord.Interaction, image: discord.Attachment) -> None:
        await interaction.response.defer()
        await gate.wait()
        try:
            await image.read()
        except discord.NotFound as exc:
            await bot.results.put(exc.status)

    bot = MiniBot(fake.world.guild_id)
    add_command(bot, late)
    async with running(bot, fake):
        handle = await fake.send_slash_command("late", attachments={"image": ("a.png", PNG, "image/png")})
        await handle.response()
        fake.advance(25 * 3600)
        gate.set()
        assert await outcome(bot) == 404


# ---- components, groups, autocomplete ------------------------------------------------------------


class RetryView(discord.ui.View):
    def __init__(self, results: asyncio.Queue[Any] | None = None) -> None:
        super().__init__(timeout=None)
        self.results = results

    @discord.ui.button(label="Retry", style=discord.ButtonStyle.primary, custom_id="job:retry:42")
    async def retry(self, interaction: discord.Interaction, button: discord.ui.Button[RetryView]) -> None:
        await interaction.response.send_message("retrying job 42", ephemeral=True)
        if self.results is not None:
            await self.results.put(button.custom_id)


async def test_persistent_view_button_after_restart(fake_discord: FakeDiscord) -> None:
    fake, world = fake_discord, fake_discord.world

    first = MiniBot(world.guild_id)
    async with running(first, fake):
        channel = first.get_partial_messageable(world.videos_id, guild_id=world.guild_id)
        posted = await channel.send("your video", view=RetryView())

    second = MiniBot(world.guild_id)
    second._views.append(RetryView(second.results))
    async with running(second, fake):
        assert fake.identify_count == 2 and len(fake.gateway.sessions) == 1
        handle = await fake.send_component_click("job:retry:42", posted.id, user_id=world.bob_id)
        assert await outcome(second) == "job:retry:42"
        response = await handle.response()
    assert response["type"] == 4 and response["data"]["flags"] == 64
    reply = handle.original()
    assert reply is not None and reply.ephemeral and reply.content == "retrying job 42"
    with pytest.raises(ValueError):
        await fake.send_component_click("job:nope", posted.id)


class JobButtons(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Hide file", custom_id="job:hide:1")
    async def hide(self, interaction: discord.Interaction, button: discord.ui.Button[JobButtons]) -> None:
        await interaction.response.edit_message(content="hidden", attachments=[])

    @discord.ui.button(label="Delete", custom_id="job:delete:1")
    async def delete(self, interaction: discord.Interaction, button: discord.ui.Button[JobButtons]) -> None:
        await interaction.response.defer()
        await interaction.edit_original_response(content="deleting…")
        await interaction.delete_original_response()


async def test_reply_with_file_then_update_and_delete_by_buttons(fake_discord: FakeDiscord) -> None:
    fake = fake_discord

    @app_commands.command(name="show", description="Show a job")
    async def show(interaction: discord.Interaction) -> None:
        file = discord.File(io.BytesIO(VIDEO), "job.mp4")
        await interaction.response.send_message("job 1", file=file, view=JobButtons())

    bot = MiniBot(fake.world.guild_id)
    add_command(bot, show)
    async with running(bot, fake):
        handle = await fake.send_slash_command("show")
        shown = await handle.wait_original()
        assert shown.attachments[0].size == len(VIDEO) and shown.type == 20
        assert [c["custom_id"] for c in shown.components[0]["components"]] == ["job:hide:1", "job:delete:1"]

        hide = await fake.send_component_click("job:hide:1", shown.id)
        assert (await hide.response())["type"] == 7
        await fake.wait_for(lambda: shown.content == "hidden")
        assert shown.attachments == [] and len(shown.components[0]["components"]) == 2

        delete = await fake.send_component_click("job:delete:1", shown.id)
        await fake.wait_for(lambda: shown.deleted)
    assert (await delete.response())["type"] == 6
    assert delete.original() is None and shown.edit_count == 2
    upload = fake.calls_matching("POST", r"/callback$")[0]
    assert upload.json["type"] == 4 and upload.files[0].sha256 == hashlib.sha256(VIDEO).hexdigest()
    assert [c.status for c in fake.calls_matching(None, r"/messages/@original$")] == [200, 204]


def build_admin_group(results: asyncio.Queue[Any]) -> app_commands.Group:
    admin = app_commands.Group(name="kling-admin", description="Moderator settings")
    quota = app_commands.Group(name="quota", description="Quotas", parent=admin)

    @quota.command(name="set", description="Set a quota")
    async def quota_set(
        interaction: discord.Interaction, limit: int, user: discord.Member | None = None
    ) -> None:
        await interaction.response.send_message(f"limit {limit}", ephemeral=True)
        await results.put((limit, user, interaction.permissions.manage_guild))

    return admin


async def test_subcommand_group_with_user_option(fake_discord: FakeDiscord) -> None:
    fake, world = fake_discord, fake_discord.world
    bot = MiniBot(world.guild_id)
    add_command(bot, build_admin_group(bot.results))
    async with running(bot, fake):
        handle = await fake.send_slash_command(
            "kling-admin",
            {"limit": 5, "user": world.bob_id},
            subcommand="quota set",
            user_id=world.moderator_id,
        )
        limit, member, can_manage = await outcome(bot)
    assert limit == 5 and isinstance(member, discord.Member) and member.id == world.bob_id
    assert member.name == "bob" and can_manage is True
    options = handle.payload["data"]["options"]
    assert options[0]["name"] == "quota" and options[0]["type"] == 2
    assert options[0]["options"][0] == {
        "name": "set",
        "type": 1,
        "options": [
            {"name": "limit", "type": 4, "value": 5},
            {"name": "user", "type": 6, "value": str(world.bob_id)},
        ],
    }
    assert str(world.bob_id) in handle.payload["data"]["resolved"]["members"]
    with pytest.raises(ValueError):
        await fake.send_slash_command("kling-admin", {"limit": 1}, subcommand="quota nope")


async def test_autocomplete_is_answered_with_choices(fake_discord: FakeDiscord) -> None:
    fake = fake_discord

    @app_commands.command(name="extend", description="Extend a video")
    async def extend(interaction: discord.Interaction, job: str) -> None:
        await interaction.response.send_message(job)

    @extend.autocomplete("job")
    async def job_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        jobs = ["ab12", "ab34", "cd56"]
        return [app_commands.Choice(name=f"job {j}", value=j) for j in jobs if j.startswith(current)]

    bot = MiniBot(fake.world.guild_id)
    add_command(bot, extend)
    async with running(bot, fake):
        handle = await fake.send_autocomplete("extend", {"job": "ab"}, focused="job")
        response = await handle.response()
    assert response["type"] == 8
    assert handle.choices() == [{"name": "job ab12", "value": "ab12"}, {"name": "job ab34", "value": "ab34"}]
    assert handle.payload["data"]["options"] == [{"name": "job", "type": 3, "value": "ab", "focused": True}]


# ---- channel posts: nonce, permissions, DMs, rate limits ------------------------------------------


async def test_enforce_nonce_returns_the_existing_message(fake_discord: FakeDiscord) -> None:
    fake, world = fake_discord, fake_discord.world
    bot = MiniBot(world.guild_id)
    async with running(bot, fake):
        channel = bot.get_partial_messageable(world.videos_id, guild_id=world.guild_id)
        first = await channel.send("delivery for job 7", nonce="job-7")
        again = await channel.send("delivery for job 7", nonce="job-7")
        other = await channel.send("delivery for job 8", nonce="job-8")
        fake.advance(600)  # outside Discord's few-minute window the nonce no longer deduplicates
        later = await channel.send("delivery for job 7", nonce="job-7")
    assert first.id == again.id != other.id
    assert later.id != first.id
    assert [m.content for m in fake.messages_in(world.videos_id)] == [
        "delivery for job 7",
        "delivery for job 8",
        "delivery for job 7",
    ]
    assert len(fake.frames_of("MESSAGE_CREATE")) == 3


async def test_channel_errors_and_dm_fallback(fake_discord: FakeDiscord) -> None:
    fake, world = fake_discord, fake_discord.world
    bot = MiniBot(world.guild_id)
    async with running(bot, fake):
        guild = bot.get_guild(world.guild_id)
        assert guild is not None and guild.me is not None
        no_bot = guild.get_channel(world.no_bot_channel_id)
        assert no_bot is not None and not no_bot.permissions_for(guild.me).send_messages
        blocked = bot.get_partial_messageable(world.no_bot_channel_id, guild_id=world.guild_id)
        with pytest.raises(discord.Forbidden) as forbidden:
            await blocked.send("hi")
        assert forbidden.value.code == 50013

        fake.delete_channel(world.videos_id)
        gone = bot.get_partial_messageable(world.videos_id, guild_id=world.guild_id)
        with pytest.raises(discord.NotFound) as not_found:
            await gone.send("hi")
        assert not_found.value.code == 10003

        user = await bot.fetch_user(world.alice_id)
        dm = await user.create_dm()
        sent = await dm.send("your video is ready", file=discord.File(io.BytesIO(b"v" * 10), "v.mp4"))
        dm_channel = fake.dm_channel_of(world.alice_id)
        assert dm_channel is not None and dm.id == dm_channel.id
        assert [m.id for m in fake.messages_in(dm_channel.id)] == [sent.id]

        fake.set_dms_open(world.bob_id, False)
        bob = await bot.fetch_user(world.bob_id)
        with pytest.raises(discord.Forbidden) as closed:
            await (await bob.create_dm()).send("hi")
        assert closed.value.code == 50007


async def test_429_with_via_and_retry_after_is_retried(fake_discord: FakeDiscord) -> None:
    fake, world = fake_discord, fake_discord.world
    bot = MiniBot(world.guild_id)
    async with running(bot, fake):
        fake.inject_rate_limit("POST", rf"^/channels/{world.general_id}/messages$", retry_after=0.01)
        channel = bot.get_partial_messageable(world.general_id, guild_id=world.guild_id)
        msg = await channel.send("after a rate limit")
        fake.inject(
            "POST", rf"^/channels/{world.general_id}/messages$", 403, {"message": "nope", "code": 50001}
        )
        with pytest.raises(discord.Forbidden):
            await channel.send("injected failure")
    posts = fake.calls_matching("POST", rf"^/channels/{world.general_id}/messages$")
    assert [(c.status, c.injected) for c in posts] == [(429, True), (200, False), (403, True)]
    assert fake.messages[msg.id].content == "after a rate limit"


# ---- gateway -----------------------------------------------------------------------------------


async def test_gateway_zlib_stream_and_plain_frames() -> None:
    for compression in (True, False):
        async with FakeDiscord(gateway_compression=compression) as fake:
            world = seed_default_world(fake)
            bot = MiniBot(world.guild_id)
            async with running(bot, fake):
                assert bot.get_guild(world.guild_id) is not None
            sent = [f for f in fake.frames if f.direction == "sent"]
            assert sent and all(f.compressed is compression for f in sent)
            ready = next(f for f in sent if f.t == "READY")
            assert ready.d["resume_gateway_url"] == fake.gateway_url


async def test_auto_sharded_bot_asks_gateway_bot(fake_discord: FakeDiscord) -> None:
    fake, world = fake_discord, fake_discord.world
    ready = asyncio.Event()
    bot = commands.AutoShardedBot(
        command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.05
    )

    async def on_ready() -> None:
        ready.set()

    bot.add_listener(on_ready, "on_ready")
    with pointed_at(fake.api_base, fake.gateway_url):
        task = asyncio.create_task(bot.start(fake.bot_token))
        try:
            await asyncio.wait_for(ready.wait(), 5)
            assert bot.shard_count == 1 and bot.get_guild(world.guild_id) is not None
        finally:
            await bot.close()
            await asyncio.wait_for(task, 5)
    assert fake.calls_matching("GET", r"^/gateway/bot$")[0].status == 200
    identify = next(f for f in fake.frames if f.direction == "received" and f.op == 2)
    assert identify.d["shard"] == [0, 1]
    assert next(f for f in fake.frames if f.t == "READY").d["shard"] == [0, 1]


async def test_zlib_stream_bytes_on_the_wire(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(fake.gateway_url + "?v=10&compress=zlib-stream") as ws,
    ):
        msg = await ws.receive()
        assert msg.type == aiohttp.WSMsgType.BINARY and msg.data.endswith(b"\x00\x00\xff\xff")
        inflater = zlib.decompressobj()
        assert b'"heartbeat_interval"' in inflater.decompress(msg.data)
        await ws.send_json({"op": 2, "d": {"token": "wrong", "properties": {}, "intents": 0}})
        closing = await ws.receive()
        assert closing.type == aiohttp.WSMsgType.CLOSE and closing.data == 4004


async def test_disconnect_and_resume(fake_discord: FakeDiscord) -> None:
    fake = fake_discord

    @app_commands.command(name="hello", description="Hello")
    async def hello(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("hello")

    bot = MiniBot(fake.world.guild_id)
    add_command(bot, hello)
    async with running(bot, fake):
        resumed = asyncio.Event()

        async def on_resumed() -> None:
            resumed.set()

        bot.add_listener(on_resumed, "on_resumed")
        await fake.disconnect_gateway()
        await asyncio.wait_for(resumed.wait(), 5)
        assert fake.gateway.resume_count == 1 and fake.identify_count == 1
        handle = await fake.send_slash_command("hello")
        original = await handle.wait_original()
    assert original.content == "hello" and original.type == 20


async def test_wait_for_times_out_with_context(fake_discord: FakeDiscord) -> None:
    never: Callable[[], bool] = lambda: False  # noqa: E731
    with pytest.raises(TimeoutError):
        await fake_discord.wait_for(never, timeout=0.01)


async def test_patched_fixture_points_discord_py_at_the_fake(fake_discord_patched: FakeDiscord) -> None:
    fake = fake_discord_patched
    assert fake.api_base == discord.http.Route.BASE
    assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == fake.gateway_url
    bot = MiniBot(fake.world.guild_id)
    async with running(bot, fake):
        assert fake.gateway_connected
    with pointed_at("http://127.0.0.1:1/api/v10", "ws://127.0.0.1:1/gateway"):
        assert discord.http.Route.BASE == "http://127.0.0.1:1/api/v10"
    assert fake.api_base == discord.http.Route.BASE
