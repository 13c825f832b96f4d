"""/jobs lists a member's recent jobs; /job shows one and re-posts its result with the buttons."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_ui import job_text
from bot.discord_ui.limits import ID_SHOWN, NAME_SHOWN, fit_choices, fit_content, quote
from bot.discord_ui.reposting import repost_job
from bot.errors import UserFacingError
from cogs.common import is_moderator, kling_bot, services
from db.records import JobState

STATUS_CHOICES = [
    app_commands.Choice(name="In progress", value="active"),
    app_commands.Choice(name="Finished", value="finished"),
    app_commands.Choice(name="Failed", value="failed"),
    app_commands.Choice(name="Cancelled", value="cancelled"),
]
STATUS_FILTERS = {
    "active": [JobState.QUEUED, JobState.PENDING, JobState.SUBMITTED, JobState.SUCCEEDED],
    "finished": [JobState.DELIVERED],
    "failed": [JobState.FAILED],
    "cancelled": [JobState.CANCELLED],
}
QUIET = discord.AllowedMentions.none()


class JobsCog(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(name="jobs", description="Your recent video jobs")
    @app_commands.guild_only()
    @app_commands.describe(status="Only jobs in this state", user="Moderators: someone else's jobs")
    @app_commands.choices(status=STATUS_CHOICES)
    async def jobs(
        self,
        interaction: discord.Interaction,
        status: app_commands.Choice[str] | None = None,
        user: discord.Member | None = None,
    ) -> None:
        target = interaction.user
        if user is not None and user.id != interaction.user.id:
            if not await is_moderator(interaction):
                raise UserFacingError("Only moderators can look at someone else's jobs.")
            target = user
        states = STATUS_FILTERS[status.value] if status else None
        found = await services(interaction).jobs.search(
            interaction.guild_id, target.id, states=states, limit=15
        )
        whose = "Your" if target.id == interaction.user.id else f"{quote(target.display_name, NAME_SHOWN)}'s"
        await interaction.response.send_message(
            fit_content(job_text.job_list_text(found, whose, status is not None)),
            ephemeral=True,
            allowed_mentions=QUIET,
        )

    @app_commands.command(name="job", description="One job's details, and its video again with the buttons")
    @app_commands.guild_only()
    @app_commands.describe(id="The job id, like k7f3a9c2")
    async def job(self, interaction: discord.Interaction, id: str) -> None:
        record = await services(interaction).jobs.find(interaction.guild_id, id)
        if record is None:
            # Answered before deferring, so the refusal stays private.
            raise UserFacingError(
                f"There is no job `{quote(id, ID_SHOWN)}` on this server. /jobs lists yours."
            )
        await interaction.response.defer(thinking=True)  # public, like Midjourney's /show
        standing = await services(interaction).queue.standing(record)
        await repost_job(interaction, record, standing, kling_bot(interaction).publisher)

    @job.autocomplete("id")
    async def job_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        found = await services(interaction).jobs.search(
            interaction.guild_id, interaction.user.id, query=current
        )
        return fit_choices(app_commands.Choice(name=job_text.job_choice_label(j), value=j.id) for j in found)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(JobsCog(bot))
