"""/kling-admin channels: where videos may be made (an empty list: anywhere)."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.discord_ui import admin_text
from bot.discord_ui.render import channel_mention
from bot.errors import UserFacingError
from cogs.admin.checks import ChannelOption, ModeratorGroup, guild_of, list_or_file, reply
from cogs.common import services


class ChannelCommands(
    ModeratorGroup, name="channels", description="Where videos may be made (empty list: anywhere)"
):
    @app_commands.command(
        name="allow", description="Allow videos in a channel (once any is allowed, only those are)"
    )
    @app_commands.describe(channel="A channel where members may make videos")
    async def allow(self, interaction: discord.Interaction, channel: ChannelOption) -> None:
        change = await services(interaction).admin.allow_channel(
            guild_of(interaction), interaction.user.id, channel.id
        )
        await reply(interaction, admin_text.channel_allowed_text(channel.id, change))

    @app_commands.command(name="deny", description="Take a channel off the allowed list")
    @app_commands.describe(channel="A channel currently on the allowed list")
    async def deny(self, interaction: discord.Interaction, channel: ChannelOption) -> None:
        change = await services(interaction).admin.deny_channel(
            guild_of(interaction), interaction.user.id, channel.id
        )
        if not change.changed:
            raise UserFacingError(admin_text.channel_not_listed_text(channel.id, change))
        await reply(interaction, admin_text.channel_denied_text(channel.id, change))

    @app_commands.command(name="list", description="Channels where videos may be made")
    async def list_channels(self, interaction: discord.Interaction) -> None:
        settings = await services(interaction).admin.settings(guild_of(interaction))
        if not settings.allowed_channels:
            await reply(
                interaction,
                "Every channel is allowed (the allowed list is empty). "
                "/kling-admin channels allow restricts videos to the channels you add.",
            )
            return
        lines = [f"• {channel_mention(channel_id)}" for channel_id in sorted(settings.allowed_channels)]
        text, file = list_or_file("**Videos can be made only in:**", lines, "channels.txt")
        await reply(interaction, text, file)
