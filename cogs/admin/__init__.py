"""/kling-admin: moderators decide who may make videos, how many and where, and see what was spent.

Default permissions hide the group from members without Manage Server, but server admins can change
that in Discord's settings, so every command also checks in code that the caller is a moderator
(the subgroups in quota, channels and blocklist run the same check).
"""

from __future__ import annotations

import io

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_ui import admin_text, usage_report
from bot.discord_ui.limits import fit_content
from bot.discord_ui.render import channel_mention
from bot.errors import UserFacingError
from bot.jobs.quota import Period
from cogs.admin.blocklist import BlocklistCommands
from cogs.admin.channels import ChannelCommands
from cogs.admin.checks import AnyChannel, ChannelOption, check_moderator, guild_of, reply
from cogs.admin.quota import QuotaCommands
from cogs.common import kling_bot, services

USAGE_PERIOD_CHOICES = [
    app_commands.Choice(name="Today", value="day"),
    app_commands.Choice(name="This week", value="week"),
    app_commands.Choice(name="This month", value="month"),
    app_commands.Choice(name="All time", value="all"),
]


def check_bot_can_post(interaction: discord.Interaction, channel: AnyChannel) -> None:
    """Refuse a log channel the bot can see it cannot post in; unknown permissions are not refused."""
    guild = interaction.guild
    resolved = channel.resolve()
    if guild is None or resolved is None or guild.me is None:
        return
    permissions = resolved.permissions_for(guild.me)
    if not (permissions.view_channel and permissions.send_messages):
        raise UserFacingError(
            f"I can't post in {channel_mention(channel.id)}. Give me View Channel and Send Messages there, "
            "or pick another channel."
        )


def member_names(
    interaction: discord.Interaction, user_ids: set[int], chosen: discord.Member | discord.User | None
) -> dict[int, str]:
    """Display names for the CSV, from what the gateway knows (nothing is fetched)."""
    assert interaction.guild is not None
    names: dict[int, str] = {}
    for user_id in user_ids:
        known: discord.Member | discord.User | None = (
            chosen
            if chosen is not None and user_id == chosen.id
            else interaction.guild.get_member(user_id) or kling_bot(interaction).get_user(user_id)
        )
        if known is not None:
            names[user_id] = known.display_name
    return names


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class AdminCog(
    commands.GroupCog,
    group_name="kling-admin",
    group_description="Moderators: quotas, channels, blocklist, pause, usage and the audit log",
):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        super().__init__()
        parent = self.app_command
        assert parent is not None  # a GroupCog is a group
        for group in (QuotaCommands(), ChannelCommands(), BlocklistCommands()):
            parent.add_command(group)

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        return await check_moderator(interaction)

    @app_commands.command(
        name="pause", description="Stop new videos server-wide (videos in progress still arrive)"
    )
    @app_commands.describe(reason="Shown to members who try to make a video")
    async def pause(
        self, interaction: discord.Interaction, reason: app_commands.Range[str, 1, 200] | None = None
    ) -> None:
        cleaned = " ".join(reason.split()) if reason else None
        was_paused = await services(interaction).admin.pause(
            guild_of(interaction), interaction.user.id, cleaned or None
        )
        await reply(interaction, admin_text.paused_text(cleaned, was_paused))

    @app_commands.command(name="resume", description="Allow new videos again after a pause")
    async def resume(self, interaction: discord.Interaction) -> None:
        if not await services(interaction).admin.resume(guild_of(interaction), interaction.user.id):
            await reply(interaction, "Video generation isn't paused; nothing to resume.")
            return
        await reply(interaction, "▶️ Video generation is back on: members can make videos again.")

    @app_commands.command(name="usage", description="Credits and jobs per member and kind, with a CSV")
    @app_commands.describe(period="Which period (default: this month)", user="Only this member")
    @app_commands.choices(period=USAGE_PERIOD_CHOICES)
    async def usage(
        self,
        interaction: discord.Interaction,
        period: app_commands.Choice[str] | None = None,
        user: discord.Member | discord.User | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        value = period.value if period is not None else "month"
        chosen = None if value == "all" else Period(value)
        report = await services(interaction).admin.usage(
            guild_of(interaction), chosen, user.id if user is not None else None
        )
        filename = usage_report.usage_filename(chosen, report)
        heading = usage_report.usage_heading(chosen, report, user.mention if user is not None else None)
        names = member_names(interaction, {row.user_id for row in report.rows}, user)
        await interaction.followup.send(
            fit_content(usage_report.usage_summary(report.rows, heading, filename)),
            file=discord.File(io.BytesIO(usage_report.usage_csv(report.rows, names)), filename=filename),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @app_commands.command(
        name="log-channel", description="Where the audit log goes (leave out to turn it off)"
    )
    @app_commands.describe(channel="A channel for one line per job and per admin change")
    async def log_channel(
        self, interaction: discord.Interaction, channel: ChannelOption | None = None
    ) -> None:
        admin = services(interaction).admin
        new_id = channel.id if channel is not None else None
        if (await admin.settings(guild_of(interaction))).log_channel_id == new_id:
            await reply(interaction, admin_text.log_channel_text(new_id, changed=False))
            return
        if channel is not None:
            check_bot_can_post(interaction, channel)
        changed = await admin.set_log_channel(guild_of(interaction), interaction.user.id, new_id)
        await reply(interaction, admin_text.log_channel_text(new_id, changed))

    @app_commands.command(
        name="mod-role", description="Members with this role are moderators too (leave out to clear)"
    )
    @app_commands.describe(role="The moderator role (Manage Server always counts)")
    async def mod_role(self, interaction: discord.Interaction, role: discord.Role | None = None) -> None:
        if role is not None and role.is_default():
            raise UserFacingError("That would make everyone a moderator; pick a specific role.")
        role_id = role.id if role is not None else None
        await services(interaction).admin.set_mod_role(guild_of(interaction), interaction.user.id, role_id)
        await reply(interaction, admin_text.mod_role_text(role_id))


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(AdminCog(bot))
