"""/jobs lists a member's recent jobs; /job shows one and re-posts its result with the buttons."""

from __future__ import annotations

from pathlib import Path

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_ui.render import (
    KIND_TITLES,
    STAGE_LINES,
    failure_sentence,
    format_duration,
    result_buttons,
    result_embed,
)
from bot.errors import UserFacingError
from bot.jobs.publisher import DeliveryRetry
from cogs.common import is_moderator, kling_bot
from db.records import JobRecord, JobState

STATUS_CHOICES = [
    app_commands.Choice(name="In progress", value="active"),
    app_commands.Choice(name="Finished", value="finished"),
    app_commands.Choice(name="Failed", value="failed"),
]
STATUS_FILTERS = {
    "active": [JobState.PENDING, JobState.SUBMITTED, JobState.SUCCEEDED],
    "finished": [JobState.DELIVERED],
    "failed": [JobState.FAILED],
}


def status_word(job: JobRecord) -> str:
    if job.status is JobState.FAILED:
        return STAGE_LINES["failed"]
    if job.status is JobState.DELIVERED:
        return STAGE_LINES["done"]
    return STAGE_LINES.get(job.progress_stage, job.progress_stage)


def message_link(job: JobRecord) -> str | None:
    if job.delivered_message_id is None or job.delivered_channel_id is None:
        return None
    guild = str(job.guild_id) if job.guild_id and job.delivered_via != "dm" else "@me"
    return f"https://discord.com/channels/{guild}/{job.delivered_channel_id}/{job.delivered_message_id}"


def job_line(job: JobRecord) -> str:
    link = message_link(job)
    parts = [
        f"`{job.id}`",
        KIND_TITLES.get(job.kind, job.kind),
        status_word(job),
        f"<t:{int(job.created_at)}:R>",
    ]
    if link:
        parts.append(f"[video]({link})")
    return " · ".join(parts)


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
        found = await kling_bot(interaction).store.list_jobs(
            guild_id=interaction.guild_id, user_id=target.id, states=states, limit=15
        )
        whose = "Your" if target.id == interaction.user.id else f"{target.display_name}'s"
        if not found:
            text = f"{whose} job list is empty{' for that status' if status else ''}. Start one with /motion."
        else:
            text = f"**{whose} recent jobs**\n" + "\n".join(job_line(job) for job in found)
        await interaction.response.send_message(
            text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )

    @app_commands.command(name="job", description="One job's details, and its video again with the buttons")
    @app_commands.guild_only()
    @app_commands.describe(id="The job id, like k7f3a9c2")
    async def job(self, interaction: discord.Interaction, id: str) -> None:
        bot = kling_bot(interaction)
        record = await bot.store.get_job(id.strip().lower())
        if record is None or record.guild_id != interaction.guild_id:
            # Answered before deferring, so the refusal stays private.
            raise UserFacingError(f"There is no job `{id}` on this server. /jobs lists yours.")
        await interaction.response.defer(thinking=True)  # public, like Midjourney's /show
        embed = result_embed(record)
        embed.add_field(name="Status", value=status_word(record), inline=True)
        embed.add_field(name="Requested by", value=f"<@{record.user_id}>", inline=True)
        if record.status is JobState.FAILED:
            embed.add_field(name="Why it failed", value=failure_sentence(record)[:1000], inline=False)
        if record.delivered_at is not None:
            if record.delivered_message_id is None:
                delivered = "not posted: I could not post it anywhere"
            else:
                delivered = f"after {format_duration(record.delivered_at - record.created_at)}"
            embed.add_field(name="Delivered", value=delivered)
        finished = record.status in (JobState.SUCCEEDED, JobState.DELIVERED)
        link = message_link(record)
        lines = [f"First posted: {link}"] if link else []
        view = result_buttons(record) if finished else discord.utils.MISSING
        quiet = discord.AllowedMentions.none()
        if not finished or record.result_url is None or bot.publisher is None:
            await interaction.followup.send("\n".join(lines), embed=embed, view=view, allowed_mentions=quiet)
            return
        try:
            async with bot.publisher.result_for_upload(record, interaction.filesize_limit) as result:
                if isinstance(result, Path):
                    await interaction.followup.send(
                        "\n".join(lines),
                        embed=embed,
                        view=view,
                        allowed_mentions=quiet,
                        file=discord.File(result, filename=f"{record.id}.mp4"),
                    )
                    return
                lines.append(result)
        except DeliveryRetry:
            lines.append("The provider no longer keeps this video (results expire after a few days).")
        await interaction.followup.send("\n".join(lines), embed=embed, view=view, allowed_mentions=quiet)

    @job.autocomplete("id")
    async def job_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        found = await kling_bot(interaction).store.list_jobs(
            guild_id=interaction.guild_id,
            user_id=interaction.user.id,
            limit=25,
            query=current.strip() or None,
        )
        return [
            app_commands.Choice(name=f"{j.id} · {j.kind} · {j.status.value}"[:100], value=j.id) for j in found
        ]


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(JobsCog(bot))
