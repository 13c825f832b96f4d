"""The baseline for defer latency: a bare discord.py bot whose /motion only defers."""

from __future__ import annotations

import asyncio
import os

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_endpoints import configure_discord_endpoints


async def main() -> None:
    configure_discord_endpoints(os.environ["DISCORD_API_BASE"], os.environ["DISCORD_GATEWAY_URL"])
    bot = commands.Bot(command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.05)
    guild = discord.Object(int(os.environ["DEV_GUILD_ID"]))

    @app_commands.command(name="motion", description="defers only")
    async def motion(
        interaction: discord.Interaction,
        image: discord.Attachment,
        video: discord.Attachment,
        prompt: str | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)

    bot.tree.add_command(motion, guild=guild)

    @bot.event
    async def setup_hook() -> None:
        await bot.tree.sync(guild=guild)

    async with bot:
        await bot.start(os.environ["DISCORD_TOKEN"])


if __name__ == "__main__":
    asyncio.run(main())
