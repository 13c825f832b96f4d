"""/help: what the bot does and how to use it."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

HELP_TEXT = (
    "**klingbot makes videos with Kling.**\n"
    "• `/motion image video` — your character performs the motion of a reference clip (3–30 s MP4/MOV).\n"
    "• `/video text prompt` — a video from a description.\n"
    "• `/video image image` — bring a picture to life (optionally ending on a second picture).\n"
    "• `/video reference prompt` — a video from up to four pictures and a clip, named @image1… and @video.\n"
    "• `/video edit prompt` — change a clip, attached or one of your videos.\n"
    "• `/video shots` — a video of up to five shots you write, or that Kling cuts from one prompt.\n"
    "• `/video extend job` — add about five seconds to one of your videos.\n"
    "• `/jobs`, `/job id` — your jobs, their status and results.\n"
    "• `/queue` — where your videos stand in line when the provider is busy (and cancelling one).\n"
    "• `/quota` — your credits, what they buy and when they reset.\n"
    "Videos are posted in the channel you asked in, usually within a few minutes. Moderators: `/kling-admin`."
)


class HelpCog(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(name="help", description="What this bot does and how to use it")
    async def help(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(HELP_TEXT, ephemeral=True)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(HelpCog(bot))
