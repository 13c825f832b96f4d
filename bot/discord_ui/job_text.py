"""How /jobs and /job show a job: a one-line summary, the status word, the details embed."""

from __future__ import annotations

import discord

from bot.discord_ui.limits import fit_embed, fit_lines
from bot.discord_ui.queue_text import accepted_in_line
from bot.discord_ui.render import (
    STAGE_LINES,
    credits_text,
    failure_sentence,
    format_duration,
    kind_title,
    result_embed,
    timestamp,
    user_mention,
)
from bot.jobs.line import Standing
from bot.jobs.quota import AppliedLimit
from bot.jobs.services.jobs import inputs_expired
from bot.jobs.services.quota import credits_left
from db.records import JobRecord, JobState

EXPIRED_RESULT = "The provider no longer keeps this video (results expire after a few days)."


def kept_for_text(seconds: float) -> str:
    """A retention period as members read it: "7 days", "12 hours", "30 minutes"."""
    unit, name = next(
        ((unit, name) for unit, name in ((24 * 3600, "day"), (3600, "hour")) if seconds >= 2 * unit),
        (60, "minute"),
    )
    count = max(1, round(seconds / unit))
    return f"{count} {name}{'' if count == 1 else 's'}"


def inputs_expired_text(job_id: str, removed_at: float, kept_for: float) -> str:
    return (
        f"The attachments of job `{job_id}` have expired: I keep a finished job's files for "
        f"{kept_for_text(kept_for)}, and these were removed {timestamp(removed_at)}. Nothing was charged; "
        "run the command again with the files."
    )


def status_word(job: JobRecord) -> str:
    if job.status is JobState.QUEUED:
        return "⏳ In line"
    if job.status is JobState.CANCELLED:
        return "🚫 Cancelled"
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
    parts = [f"`{job.id}`", kind_title(job.kind), status_word(job), timestamp(job.created_at)]
    if link:
        parts.append(f"[video]({link})")
    return " · ".join(parts)


def job_list_text(jobs: list[JobRecord], whose: str, filtered: bool) -> str:
    if not jobs:
        return f"{whose} job list is empty{' for that status' if filtered else ''}. Start one with /motion."
    return fit_lines(f"**{whose} recent jobs**", [job_line(job) for job in jobs])


def job_choice_label(job: JobRecord) -> str:
    return f"{job.id} · {job.kind} · {job.status.value}"[:100]


def job_details(job: JobRecord) -> discord.Embed:
    embed = result_embed(job)
    embed.add_field(name="Status", value=status_word(job), inline=True)
    embed.add_field(name="Requested by", value=user_mention(job.user_id), inline=True)
    if job.status is JobState.FAILED:
        embed.add_field(name="Why it failed", value=failure_sentence(job), inline=False)
    if inputs_expired(job) and job.inputs_removed_at is not None:
        embed.add_field(
            name="Attachments",
            value=f"expired {timestamp(job.inputs_removed_at)}: Re-run needs them again, so start a new job",
            inline=False,
        )
    if job.delivered_at is not None:
        if job.delivered_message_id is None:
            delivered = "not posted: I could not post it anywhere"
        else:
            delivered = f"after {format_duration(job.delivered_at - job.created_at)}"
        embed.add_field(name="Delivered", value=delivered)
    return fit_embed(embed)


def accepted_text(
    job: JobRecord, limit: AppliedLimit, spent: int, notes: list[str], standing: Standing | None = None
) -> str:
    """The private answer to a member whose job was accepted: straight to the provider, or in line."""
    left = credits_left(limit, spent)
    balance = "no limit on this server" if left is None else f"{left} left this {limit.period.value}"
    if job.status is JobState.QUEUED:
        first = accepted_in_line(job, standing, balance)
    else:
        first = (
            f"✅ Job `{job.id}` accepted: {credits_text(job.credits)} ({balance}). I'll show progress in "
            "this channel and post the video there when it's ready, usually within a few minutes."
        )
    lines = [first]
    lines.extend(f"• {note}" for note in notes)
    return "\n".join(lines)
