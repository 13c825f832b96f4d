"""/job's answer: one job's details, with its video posted again when the bot can still fetch it."""

from __future__ import annotations

from pathlib import Path

import discord

from bot.discord_ui import job_text
from bot.discord_ui.limits import fit_content
from bot.discord_ui.publisher import DiscordPublisher
from bot.discord_ui.queue_text import place_text
from bot.discord_ui.render import result_buttons
from bot.jobs.line import Standing
from bot.jobs.publisher import DeliveryRetry, ResultRefused
from db.records import JobRecord, JobState

QUIET = discord.AllowedMentions.none()


def _finished(record: JobRecord) -> bool:
    return record.status in (JobState.SUCCEEDED, JobState.DELIVERED)


async def send_details(
    interaction: discord.Interaction, record: JobRecord, lines: list[str], file: discord.File | None = None
) -> None:
    await interaction.followup.send(
        fit_content("\n".join(lines)),
        embed=job_text.job_details(record),
        view=result_buttons(record) if _finished(record) else discord.utils.MISSING,
        allowed_mentions=QUIET,
        file=file if file is not None else discord.utils.MISSING,
    )


async def repost_job(
    interaction: discord.Interaction,
    record: JobRecord,
    standing: Standing | None,
    publisher: DiscordPublisher | None,
) -> None:
    """Answer the deferred /job with the job's details (where it was posted, its place in line) and,
    for a finished job, its video, or a link to it when it cannot be made to fit the upload limit."""
    link = job_text.message_link(record)
    lines = [f"First posted: {link}"] if link else []
    if standing is not None:
        lines.append(f"Waiting: {place_text(standing)}.")
    if not _finished(record) or record.result_url is None or publisher is None:
        await send_details(interaction, record, lines)
        return
    try:
        async with publisher.result_for_upload(record, interaction.filesize_limit) as result:
            if isinstance(result, Path):
                video = discord.File(result, filename=f"{record.id}.mp4")
                await send_details(interaction, record, lines, video)
                return
            lines.append(result)
    except (DeliveryRetry, ResultRefused):  # the link may have come to resolve inside the network
        lines.append(job_text.EXPIRED_RESULT)
    await send_details(interaction, record, lines)
