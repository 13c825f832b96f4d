"""What every /kling-admin command shares: the moderator check, channel options, private answers."""

from __future__ import annotations

import io
from typing import Any

import discord
from discord import app_commands

from bot.discord_ui.limits import fit_content
from bot.discord_ui.render import channel_mention
from bot.errors import Refusal, UserFacingError
from cogs.common import require_moderator

MESSAGE_LIMIT = 1900  # Discord allows 2000 characters; leave room for a closing line
# Channels a video can be asked for and posted in.
POSTABLE_CHANNEL_TYPES = [
    discord.ChannelType.text,
    discord.ChannelType.news,
    discord.ChannelType.voice,
    discord.ChannelType.stage_voice,
    discord.ChannelType.public_thread,
    discord.ChannelType.private_thread,
    discord.ChannelType.news_thread,
]

AnyChannel = app_commands.AppCommandChannel | app_commands.AppCommandThread


class ModeratorOnly(app_commands.CheckFailure, Refusal):
    """A failed moderator check. Being a CheckFailure lets discord.py route it to the tree's handler;
    being a Refusal makes that handler show its sentence instead of a generic one."""


class OptionRefused(app_commands.AppCommandError, UserFacingError):
    """An option value refused while discord.py converts it; shown like any UserFacingError."""


async def check_moderator(interaction: discord.Interaction) -> bool:
    """Runs before every /kling-admin command, whatever Discord's permission settings let through."""
    if interaction.guild is None:
        raise ModeratorOnly("This command only works in a server channel.")
    try:
        await require_moderator(interaction)
    except Refusal as refusal:
        raise ModeratorOnly(refusal.message) from None
    return True


class ModeratorGroup(app_commands.Group):
    """A /kling-admin subgroup: discord.py runs a subgroup's own check, not the parent's."""

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        return await check_moderator(interaction)


class PostableChannel(app_commands.Transformer):
    """A channel option limited to channels with a chat, taken as Discord resolved it.

    Resolving from the payload (not the cache) means a channel the bot has not seen yet still works.
    """

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        return POSTABLE_CHANNEL_TYPES

    async def transform(self, interaction: discord.Interaction, value: Any, /) -> AnyChannel:
        if not isinstance(value, app_commands.AppCommandChannel | app_commands.AppCommandThread):
            raise app_commands.TransformerError(value, self.type, self)
        if value.type not in POSTABLE_CHANNEL_TYPES:
            raise OptionRefused(
                f"{channel_mention(value.id)} has no chat; pick a text channel, a thread or a voice chat."
            )
        return value


ChannelOption = app_commands.Transform[AnyChannel, PostableChannel]


def guild_of(interaction: discord.Interaction) -> int:
    assert interaction.guild_id is not None  # the moderator check refuses anything else
    return interaction.guild_id


def list_or_file(title: str, lines: list[str], filename: str) -> tuple[str, discord.File | None]:
    """A list as a message, or as a text file when it would not fit in one."""
    text = title + "\n" + "\n".join(lines)
    if len(text) <= MESSAGE_LIMIT:
        return text, None
    data = ("\n".join(lines) + "\n").encode()
    return f"{title}\nThe list is too long for a message; it's in the attached file.", discord.File(
        io.BytesIO(data), filename=filename
    )


async def reply(interaction: discord.Interaction, text: str, file: discord.File | None = None) -> None:
    await interaction.response.send_message(
        fit_content(text),
        ephemeral=True,
        file=file if file is not None else discord.utils.MISSING,
        allowed_mentions=discord.AllowedMentions.none(),
    )
