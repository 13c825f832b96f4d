"""The command tree with the one error handler every app command shares."""

from __future__ import annotations

import logging
import secrets

import discord
from discord import app_commands

from bot.discord_ui.limits import fit_content, quote
from bot.discord_ui.refusal_text import refusal_text
from bot.errors import UserFacingError
from bot.jobs.refusals import JobRefused

log = logging.getLogger(__name__)

# Discord's codes for an interaction that can no longer be answered.
_EXPIRED_CODES = {10062, 10015, 50027}


def describe_error(error: Exception) -> tuple[str, bool]:
    """The member-facing sentence for an error, and whether it was unexpected (needs a log entry)."""
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    if isinstance(original, JobRefused):
        return refusal_text(original), False
    if isinstance(original, UserFacingError):
        return original.message, False
    if isinstance(error, app_commands.MissingPermissions):
        needed = ", ".join(p.replace("_", " ").title() for p in error.missing_permissions)
        return f"You need the {needed} permission to use this command.", False
    if isinstance(error, app_commands.BotMissingPermissions):
        needed = ", ".join(p.replace("_", " ").title() for p in error.missing_permissions)
        return f"I need the {needed} permission in this channel; ask a moderator to grant it.", False
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works in a server channel.", False
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down a little: try again in {error.retry_after:.0f} seconds.", False
    if isinstance(error, app_commands.TransformerError):
        shown = quote(repr(error.value))
        return f"I could not understand {shown} for that option; pick one of the suggestions.", False
    if isinstance(error, app_commands.CheckFailure):
        return "You are not allowed to use this command here.", False
    return "", True


async def send_ephemeral(interaction: discord.Interaction, content: str) -> None:
    """Answer only the member who asked; when the interaction has expired, say it in the channel."""
    content = fit_content(content)
    try:
        if interaction.response.is_done():
            await interaction.followup.send(content, ephemeral=True)
        else:
            await interaction.response.send_message(content, ephemeral=True)
        return
    except discord.HTTPException as exc:
        if exc.code not in _EXPIRED_CODES and exc.status not in (401, 404):
            raise
    channel = interaction.channel
    if isinstance(channel, discord.abc.Messageable):
        mention = interaction.user.mention
        await channel.send(
            fit_content(f"{mention} {content}"),
            allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, users=[interaction.user]),
        )


async def report_error(interaction: discord.Interaction, error: Exception) -> None:
    """The one way errors reach members, for commands, buttons and modals alike."""
    message, unexpected = describe_error(error)
    if unexpected:
        reference = secrets.token_hex(3)
        where = interaction.command.qualified_name if interaction.command else "a button or form"
        log.error("%s failed (ref %s)", where, reference, exc_info=error, extra={"ref": reference})
        message = (
            f"Something went wrong on my side (reference `{reference}`). Nothing was charged; "
            "please try again, and quote the reference to a moderator if it keeps happening."
        )
    try:
        await send_ephemeral(interaction, message)
    except discord.HTTPException:
        log.warning("could not tell the member about an error in %s", interaction.command)


class KlingCommandTree(app_commands.CommandTree[discord.Client]):
    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        await report_error(interaction, error)
