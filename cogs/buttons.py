"""Extend, Re-run and Delete on finished videos, and Cancel on a waiting job's progress message:
persistent buttons whose custom id carries the job id.

They are DynamicItems registered at start-up, so a click on a message posted by an earlier process
works: the job is loaded from the store, not from memory.
"""

from __future__ import annotations

import re
from typing import Any

import discord
from discord.ext import commands

from bot.custom_ids import TEMPLATE
from bot.discord_ui import job_text
from bot.discord_ui.queue_text import cancel_answer
from bot.errors import UserFacingError
from bot.jobs.services.jobs import InputsExpired, InputsGone
from bot.tree import report_error
from cogs.common import is_moderator, requester_from, services
from cogs.submit import hand_over
from cogs.video import check_may_extend, extend_draft
from db.records import JobRecord


class ExtendPrompt(discord.ui.Modal, title="Extend the video"):
    prompt: discord.ui.TextInput[ExtendPrompt] = discord.ui.TextInput(
        label="What happens next? (optional)",
        style=discord.TextStyle.paragraph,
        required=False,
        max_length=2500,
    )

    def __init__(self, parent: JobRecord) -> None:
        super().__init__(timeout=600)
        self.parent = parent

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        draft, notes = extend_draft(interaction, self.parent, self.prompt.value or None)
        await hand_over(interaction, draft, notes)

    async def on_error(  # type: ignore[override]  # Modal's own signature has no `item`
        self, interaction: discord.Interaction, error: Exception
    ) -> None:
        await report_error(interaction, error)


class JobButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
    def __init__(self, action: str, job_id: str) -> None:
        super().__init__(discord.ui.Button(label=action, custom_id=f"kling:{action}:{job_id}"))
        self.action = action
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> JobButton:
        return cls(match["action"], match["job_id"])

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await self._handle(interaction)
        except Exception as error:
            await report_error(interaction, error)

    async def _handle(self, interaction: discord.Interaction) -> None:
        job = await services(interaction).jobs.get(self.job_id)
        if job is None:
            raise UserFacingError("I no longer know this job.")
        if self.action == "delete":
            await self._delete(interaction, job)
            return
        if self.action == "cancel":
            await self._cancel(interaction, job)
            return
        if interaction.guild_id is None or interaction.guild_id != job.guild_id:
            # A copy of the video in a DM: a job made here would escape the server's quota and rules.
            raise UserFacingError(
                f"Re-run and Extend work in the server where the video was made; run `/job {job.id}` "
                "there to get these buttons again."
            )
        if self.action == "extend":
            await check_may_extend(interaction, job)  # before the form, not after the member typed
            await interaction.response.send_modal(ExtendPrompt(job))
        else:
            await self._rerun(interaction, job)

    async def _delete(self, interaction: discord.Interaction, job: JobRecord) -> None:
        if interaction.user.id != job.user_id and not await is_moderator(interaction):
            raise UserFacingError("Only the member who asked for this video, or a moderator, can delete it.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        if interaction.message is not None:
            try:
                await interaction.message.delete()
            except discord.HTTPException as exc:
                raise UserFacingError(
                    "I couldn't delete that message; I may lack Manage Messages here."
                ) from exc
        await services(interaction).jobs.video_deleted(job, interaction.user.id)
        await interaction.edit_original_response(content=f"Deleted the video of job `{job.id}`.")

    async def _cancel(self, interaction: discord.Interaction, job: JobRecord) -> None:
        """Take a waiting job out of the line: the requester, or a moderator of its server."""
        moderator = interaction.guild_id == job.guild_id and await is_moderator(interaction)
        outcome = await services(interaction).queue.cancel(job, interaction.user.id, moderator=moderator)
        await interaction.response.send_message(
            cancel_answer(outcome, job, interaction.user.id),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    async def _rerun(self, interaction: discord.Interaction, job: JobRecord) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            draft = await services(interaction).jobs.rerun_draft(
                job, requester_from(interaction), interaction.filesize_limit
            )
        except InputsExpired as expired:
            raise UserFacingError(
                job_text.inputs_expired_text(job.id, expired.removed_at, expired.kept_for)
            ) from None
        except InputsGone:
            raise UserFacingError(
                f"The attachments of job `{job.id}` are no longer kept; run the command again with them."
            ) from None
        await hand_over(interaction, draft, [f"Re-running job `{job.id}` with the same settings."])


class ButtonsCog(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(JobButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(JobButton)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(ButtonsCog(bot))
