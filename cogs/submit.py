"""The path every generating command shares: check early, read and validate inputs, hand over, confirm."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial

import discord

from bot.discord_ui.job_text import accepted_text
from bot.discord_ui.limits import fit_content
from bot.downloads import DownloadPurpose
from bot.errors import UserFacingError
from bot.jobs.drafts import InputFile, JobDraft
from bot.logs import log_fields
from bot.media import (
    IMAGE_MAX_BYTES,
    VIDEO_MAX_BYTES,
    MediaError,
    PreparedMedia,
    VideoInfo,
    prepare_image,
    prepare_motion_video,
    prepare_reference_video,
)
from cogs.common import kling_bot, read_attachment

log = logging.getLogger(__name__)


async def load_image(
    interaction: discord.Interaction, attachment: discord.Attachment, *, role: str, label: str
) -> tuple[InputFile, list[str]]:
    data = await read_attachment(
        interaction, attachment, role=label, purpose=DownloadPurpose.PICTURE, max_bytes=IMAGE_MAX_BYTES
    )
    prepared = await _prepare(partial(prepare_image, role=label), data, attachment.filename)
    return _input_file(role, attachment, data, prepared), list(prepared.notes)


async def load_motion_video(
    interaction: discord.Interaction, attachment: discord.Attachment, *, orientation: str
) -> tuple[InputFile, list[str], float]:
    data = await _read_video(interaction, attachment)
    prepared = await _prepare(
        partial(prepare_motion_video, orientation=orientation), data, attachment.filename
    )
    duration = float(getattr(prepared.info, "duration", 0.0))
    return _input_file("video", attachment, data, prepared), list(prepared.notes), duration


async def load_reference_video(
    interaction: discord.Interaction, attachment: discord.Attachment, *, role: str
) -> tuple[InputFile, VideoInfo]:
    """An omni reference video, read and checked; its length and size go to the capability check."""
    data = await _read_video(interaction, attachment)
    prepared = await _prepare(prepare_reference_video, data, attachment.filename)
    assert isinstance(prepared.info, VideoInfo)
    return _input_file(role, attachment, data, prepared), prepared.info


async def _read_video(interaction: discord.Interaction, attachment: discord.Attachment) -> bytes:
    limit = VIDEO_MAX_BYTES
    return await read_attachment(
        interaction, attachment, role="reference video", purpose=DownloadPurpose.VIDEO, max_bytes=limit
    )


async def _prepare(
    function: Callable[[bytes, str], PreparedMedia], data: bytes, filename: str
) -> PreparedMedia:
    """Media checks decode files: run them off the event loop."""
    try:
        return await asyncio.to_thread(function, data, filename)
    except MediaError as error:
        raise UserFacingError(str(error)) from error


def _input_file(
    role: str, attachment: discord.Attachment, original: bytes, prepared: PreparedMedia
) -> InputFile:
    converted = prepared.data != original
    return InputFile(
        role=role,
        data=prepared.data,
        filename=prepared.filename,
        content_type=prepared.content_type,
        # Discord's URL serves the original bytes only; a converted file needs another home.
        source_url=None if converted else attachment.url,
        converted=converted,
    )


async def hand_over(interaction: discord.Interaction, draft: JobDraft, notes: list[str]) -> None:
    bot = kling_bot(interaction)
    requester = draft.requester
    with log_fields(guild_id=requester.guild_id, user_id=requester.user_id):
        accepted = await bot.engine.accept(draft)
        with log_fields(job_id=accepted.job.id):
            command = interaction.command.qualified_name if interaction.command else "?"
            log.info("/%s: job %s handed over", command, accepted.job.id)
            text = accepted_text(accepted.job, accepted.limit, accepted.spent, notes, accepted.standing)
            await interaction.edit_original_response(content=fit_content(text))


async def check_early(interaction: discord.Interaction, draft: JobDraft) -> None:
    """Refuse on policy before downloading anything (accept() checks again with the inputs)."""
    await kling_bot(interaction).engine.check_can_start(draft)
