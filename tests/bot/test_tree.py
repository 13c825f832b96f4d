"""The one error handler: plain ephemeral sentences, a reference for surprises, a channel fallback."""

from __future__ import annotations

import asyncio
import logging
import re

import discord
import pytest
from discord import app_commands

from bot.errors import UserFacingError
from tests.fakes.discord import EPHEMERAL
from tests.harness import Harness


async def add_command(harness: Harness, command: app_commands.Command[..., ..., None]) -> None:
    bot = harness.running
    bot.tree.add_command(command, guild=discord.Object(harness.guild.id))
    await bot.tree.sync(guild=discord.Object(harness.guild.id))


async def test_unexpected_errors_get_a_reference_and_a_log_entry(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    @app_commands.command(name="explode", description="raises")
    async def explode(interaction: discord.Interaction) -> None:
        raise RuntimeError("kaboom")

    await add_command(harness, explode)
    with caplog.at_level(logging.ERROR):
        handle = await harness.slash("explode")
        response = await handle.response()
    text = response["data"]["content"]
    assert response["data"]["flags"] & EPHEMERAL
    reference = re.search(r"reference `([0-9a-f]{6})`", text)
    assert reference and "Nothing was charged" in text
    assert any(reference.group(1) in r.getMessage() and r.exc_info for r in caplog.records)


async def test_user_facing_errors_after_a_defer_are_followups_seen_only_by_the_member(
    harness: Harness,
) -> None:
    @app_commands.command(name="refuse", description="refuses")
    async def refuse(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        raise UserFacingError("You can't do that here; try #videos.")

    await add_command(harness, refuse)
    handle = await harness.slash("refuse")
    reply = await harness.reply(handle)
    assert reply.content == "You can't do that here; try #videos." and reply.ephemeral


async def test_an_expired_interaction_falls_back_to_the_channel(harness: Harness) -> None:
    release = asyncio.Event()

    @app_commands.command(name="slow", description="answers late")
    async def slow(interaction: discord.Interaction) -> None:
        await release.wait()
        raise UserFacingError("That took too long.")

    await add_command(harness, slow)
    await harness.slash("slow")
    harness.fake.advance(20 * 60)  # past both the 3-second window and the token's 15 minutes
    release.set()
    message = await harness.fake.wait_for(
        lambda: next(
            (
                m
                for m in harness.fake.messages_in(harness.guild.channel_id)
                if "That took too long." in m.content
            ),
            None,
        )
    )
    assert message.content.startswith(f"<@{harness.guild.member_id}>")
    assert message.posted_by == "bot" and not message.mentioned_everyone_or_roles()
    assert message.mentions == [harness.guild.member_id]
