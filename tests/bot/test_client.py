"""The real bot boots against the fake Discord, syncs its commands and answers one."""

from __future__ import annotations

from tests.fakes.discord import EPHEMERAL
from tests.harness import Harness


async def test_boot_syncs_every_command_to_the_dev_guild(harness: Harness) -> None:
    synced = {cmd["name"] for cmd in harness.fake.guild_commands[harness.guild.id]}
    assert {"motion", "video", "jobs", "job", "quota", "help", "kling-admin"} <= synced
    assert harness.fake.global_commands == []
    call = harness.fake.calls_matching("PUT", rf"/applications/\d+/guilds/{harness.guild.id}/commands")[0]
    assert call.auth == "bot"


async def test_help_is_answered_privately(harness: Harness) -> None:
    handle = await harness.slash("help")
    response = await handle.response()
    assert response["type"] == 4
    assert response["data"]["flags"] & EPHEMERAL
    assert "/motion" in response["data"]["content"]


async def test_restart_keeps_working(harness: Harness) -> None:
    await harness.restart()
    handle = await harness.slash("help")
    assert (await handle.response())["type"] == 4
