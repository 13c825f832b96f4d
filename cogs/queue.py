"""/queue: what runs and what waits on this server. Members see their own jobs, moderators everyone's;
`cancel` takes a waiting job out of the line (its requester, or a moderator)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_ui import queue_text
from bot.discord_ui.limits import ID_SHOWN, fit_choices, fit_content, quote
from bot.errors import UserFacingError
from cogs.common import is_moderator, services

QUIET = discord.AllowedMentions.none()


class QueueCog(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(name="queue", description="What runs and waits in line for the video provider")
    @app_commands.guild_only()
    @app_commands.describe(cancel="A waiting job to take out of the line (yours, or anyone's for moderators)")
    async def queue(self, interaction: discord.Interaction, cancel: str | None = None) -> None:
        moderator = await is_moderator(interaction)
        if cancel is not None:
            await self._cancel(interaction, cancel, moderator)
            return
        view = await services(interaction).queue.view(
            interaction.guild_id, None if moderator else interaction.user.id
        )
        await interaction.response.send_message(
            fit_content(queue_text.queue_text(view, everyone=moderator)),
            ephemeral=True,
            allowed_mentions=QUIET,
        )

    async def _cancel(self, interaction: discord.Interaction, job_id: str, moderator: bool) -> None:
        job = await services(interaction).jobs.find(interaction.guild_id, job_id)
        if job is None:
            raise UserFacingError(
                f"There is no job `{quote(job_id, ID_SHOWN)}` on this server. /queue lists the line."
            )
        outcome = await services(interaction).queue.cancel(job, interaction.user.id, moderator=moderator)
        await interaction.response.send_message(
            fit_content(queue_text.cancel_answer(outcome, job, interaction.user.id)),
            ephemeral=True,
            allowed_mentions=QUIET,
        )

    @queue.autocomplete("cancel")
    async def cancel_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        moderator = await is_moderator(interaction)
        view = await services(interaction).queue.view(
            interaction.guild_id, None if moderator else interaction.user.id
        )
        needle = current.strip().lower()
        return fit_choices(
            app_commands.Choice(name=queue_text.waiting_choice(w), value=w.job.id)
            for w in view.waiting
            if needle in w.job.id
        )


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(QueueCog(bot))
