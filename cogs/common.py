"""What every cog needs: who is asking and where, moderator checks, reading attachments safely."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import discord

from bot.downloads import (
    DownloadError,
    DownloadFailed,
    DownloadPurpose,
    DownloadTimedOut,
    DownloadTooLarge,
    download_limits,
)
from bot.errors import Refusal, UserFacingError
from bot.jobs.drafts import Requester

if TYPE_CHECKING:
    from bot.client import KlingBot
    from bot.jobs.services import Services


def kling_bot(interaction: discord.Interaction) -> KlingBot:
    from bot.client import KlingBot

    client = interaction.client
    assert isinstance(client, KlingBot)
    return client


def services(interaction: discord.Interaction) -> Services:
    found = kling_bot(interaction).services
    if found is None:
        raise RuntimeError("services start with the engine in setup_hook")
    return found


def requester_from(interaction: discord.Interaction) -> Requester:
    user = interaction.user
    roles = tuple(role.id for role in getattr(user, "roles", ()) if not role.is_default())
    channel_id = interaction.channel_id
    if channel_id is None:
        raise UserFacingError("I can't tell which channel this is; run the command in a server channel.")
    return Requester(
        user_id=user.id,
        guild_id=interaction.guild_id,
        channel_id=channel_id,
        parent_channel_id=getattr(interaction.channel, "parent_id", None),
        role_ids=roles,
        interaction_token=interaction.token,
        interaction_expires_at=interaction.expires_at.timestamp(),
        application_id=interaction.application_id,
    )


async def is_moderator(interaction: discord.Interaction) -> bool:
    """Manage Server, or the server's configured moderator role. Checked in code on every admin call:
    default permissions are only a hint server admins can change."""
    if interaction.guild_id is None:
        return False
    permissions = interaction.permissions
    if permissions.manage_guild or permissions.administrator:
        return True
    settings = await services(interaction).admin.settings(interaction.guild_id)
    if settings.mod_role_id is None:
        return False
    return any(role.id == settings.mod_role_id for role in getattr(interaction.user, "roles", ()))


async def require_moderator(interaction: discord.Interaction) -> None:
    if not await is_moderator(interaction):
        raise Refusal(
            "Only moderators can do that: members with Manage Server, or the moderator role set with "
            "/kling-admin mod-role."
        )


def megabytes(size: int) -> str:
    """Decimal megabytes rounded up, as bot.media words them: a file just over a limit never reads as
    being at it ("10.1 MB", never "10.0 MB" for a 10 MB limit)."""
    return f"{math.ceil(size / 100_000) / 10:g} MB"


async def read_attachment(
    interaction: discord.Interaction,
    attachment: discord.Attachment,
    *,
    role: str,
    purpose: DownloadPurpose,
    max_bytes: int,
) -> bytes:
    """The attachment's bytes, read now (its URL expires) within the configured deadlines; refuses
    oversize files before downloading."""
    if attachment.size > max_bytes:
        raise UserFacingError(
            f"The {role} is {megabytes(attachment.size)}; the limit is {megabytes(max_bytes)}, "
            "so attach a smaller file and try again."
        )
    if attachment.size == 0:
        raise UserFacingError(f"The {role} is an empty file; attach the real file and try again.")
    bot = kling_bot(interaction)
    try:
        return await bot.downloader.fetch_bytes(
            attachment.url, download_limits(bot.settings, purpose, max_bytes)
        )
    except DownloadTimedOut:
        raise UserFacingError(
            f"Discord took too long to send me the {role}; attach it again and retry — nothing was charged."
        ) from None
    except DownloadTooLarge:
        raise UserFacingError(
            f"The {role} is larger than {megabytes(max_bytes)}; attach a smaller file and try again."
        ) from None
    except DownloadError as exc:
        status = f" ({exc.status})" if isinstance(exc, DownloadFailed) and exc.status else ""
        raise UserFacingError(
            f"I couldn't download the {role} from Discord{status}; attach it again and retry."
        ) from exc


def check_length(value: str | None, *, name: str, limit: int) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > limit:
        raise UserFacingError(f"The {name} is {len(value)} characters long; keep it to {limit} or fewer.")
    return value or None
