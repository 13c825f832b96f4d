"""/quota: a member's credits — how many are left, what they buy, when they reset, jobs in progress."""

from __future__ import annotations

import dataclasses

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_ui.limits import fit_content
from bot.discord_ui.quota_text import quota_text
from bot.errors import UserFacingError
from cogs.common import is_moderator, requester_from, services


class QuotaCog(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(
        name="quota", description="Your credits: how many are left, what they buy, when they reset"
    )
    @app_commands.guild_only()
    @app_commands.describe(user="Moderators: look at someone else's credits")
    async def quota(self, interaction: discord.Interaction, user: discord.Member | None = None) -> None:
        requester = requester_from(interaction)
        name: str | None = None
        if user is not None and user.id != interaction.user.id:
            if not await is_moderator(interaction):
                raise UserFacingError(
                    "Only moderators can look at someone else's credits; /quota shows yours."
                )
            # Their roles decide their limit, so ask about the member of the option.
            roles = tuple(role.id for role in user.roles if not role.is_default())
            requester = dataclasses.replace(requester, user_id=user.id, role_ids=roles)
            name = user.display_name
        status = await services(interaction).quota.status(requester)
        await interaction.response.send_message(
            fit_content(quota_text(status, channel_id=requester.channel_id, name=name)),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(QuotaCog(bot))
