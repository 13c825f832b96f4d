"""How the line reads: a waiting job's progress line, the accepted answer with its place, /queue, and
what cancelling says."""

from __future__ import annotations

import discord

from bot.custom_ids import button_id
from bot.discord_ui.render import credits_text, kind_title, progress_head, timestamp, user_mention
from bot.jobs.line import Standing
from bot.jobs.queue import CancelOutcome, CancelReason
from bot.jobs.services.queue import QueueView, WaitingJob
from db.records import JobRecord

EXACT_UP_TO = 10  # further back, the count moves in tens, so a long line is not edited on every step
CANCEL_REASONS = {
    CancelReason.REQUESTER: "by the member who asked for it",
    CancelReason.MODERATOR: "by a moderator",
    CancelReason.WAIT_LIMIT: "because it waited in line too long",
}
CANCEL_ANSWERS = {
    CancelOutcome.RUNNING: "Job `{id}` has already gone to the video provider, which can't stop it once "
    "started; it will finish and be posted as usual.",
    CancelOutcome.ENDED: "Job `{id}` has already ended; there is nothing to cancel.",
    CancelOutcome.NOT_ALLOWED: "Only the member who asked for this video, or a moderator, can cancel it.",
}


def ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def ahead_text(ahead: int) -> str:
    if ahead == 0:
        return "next up"
    if ahead <= EXACT_UP_TO:
        return f"{ahead} ahead of you"
    return f"{ahead // 10 * 10}+ ahead of you"


def place_text(standing: Standing) -> str:
    """ "3rd in line, about 4 minutes" (the estimate only once finished jobs give one)."""
    if standing.paused:
        return "held in line while video generation is paused on this server"
    minutes = standing.wait_minutes
    about = "" if minutes is None else f", about {minutes} minute{'s' if minutes != 1 else ''}"
    return f"{ordinal(standing.place)} in line{about}"


def in_line_line(job: JobRecord, standing: Standing | None) -> str:
    """The progress message of a waiting job: "⏳ In line — 2 ahead of you"."""
    if standing is None:
        where = "⏳ In line"
    elif standing.paused:
        where = "⏸️ In line — held while video generation is paused on this server"
    else:
        where = f"⏳ In line — {ahead_text(standing.ahead)}"
    return f"{progress_head(job)} — {where}"


def cancelled_why(job: JobRecord) -> str:
    try:
        return CANCEL_REASONS[CancelReason(job.error_message or "")]
    except ValueError:
        return ""


def cancelled_line(job: JobRecord) -> str:
    why = cancelled_why(job)
    refund = f" {credits_text(job.credits)} refunded." if job.credits else ""
    return f"{progress_head(job)} — 🚫 Cancelled{' ' + why if why else ''}.{refund}"


def cancelled_notice(job: JobRecord) -> str:
    """Told to the member when someone else (a moderator, the wait limit) took their job out."""
    refund = f" Your {credits_text(job.credits)} came back." if job.credits else ""
    return (
        f"{user_mention(job.user_id)} your video job `{job.id}` was taken out of the line "
        f"{cancelled_why(job)}.{refund}"
    )


def cancel_button(job: JobRecord) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(
        discord.ui.Button(
            label="Cancel",
            emoji="✖️",
            style=discord.ButtonStyle.secondary,
            custom_id=button_id("cancel", job.id),
        )
    )
    return view


def accepted_in_line(job: JobRecord, standing: Standing | None, balance: str) -> str:
    where = f" — {place_text(standing)}" if standing is not None else " — waiting in line"
    return (
        f"✅ Job `{job.id}` accepted{where}: {credits_text(job.credits)} ({balance}). I'll show its place "
        "in this channel, start it when a slot frees and post the video there when it's ready. "
        "The Cancel button under it takes it out of the line and gives the credits back."
    )


def cancel_answer(outcome: CancelOutcome, job: JobRecord, actor_id: int) -> str:
    if outcome is not CancelOutcome.CANCELLED:
        return CANCEL_ANSWERS[outcome].format(id=job.id)
    whose = "your" if actor_id == job.user_id else f"{user_mention(job.user_id)}'s"
    refund = f"; {whose} {credits_text(job.credits)} came back" if job.credits else ""
    return f"Job `{job.id}` is out of the line{refund}."


def _running_line(job: JobRecord, everyone: bool) -> str:
    who = f" for {user_mention(job.user_id)}" if everyone else ""
    since = job.submitted_at or job.claimed_at or job.created_at
    return f"▶️ `{job.id}` {kind_title(job.kind)}{who} · running since {timestamp(since)}"


def _waiting_line(waiting: WaitingJob, everyone: bool) -> str:
    job, standing = waiting.job, waiting.standing
    who = f" for {user_mention(job.user_id)}" if everyone else ""
    where = place_text(standing) if standing is not None else "in line"
    return f"⏳ `{job.id}` {kind_title(job.kind)}{who} · {where}"


def queue_text(view: QueueView, *, everyone: bool) -> str:
    """/queue: what runs and waits on this server (everyone's, or the member's own)."""
    title = "**The line on this server**" if everyone else "**Your videos in the line**"
    slots = f"the provider runs {view.slots_in_use} of {view.working_limit} at a time"
    if view.working_limit < view.max_concurrency:
        slots += f" (fewer than the usual {view.max_concurrency}: it said it was full)"
    if not view.running and not view.waiting:
        nothing = "Nothing is running or waiting here" if everyone else "You have nothing running or waiting"
        return f"{title}\n{nothing}; {slots}."
    lines = [f"{title} ({slots})"]
    lines.extend(_running_line(job, everyone) for job in view.running)
    lines.extend(_waiting_line(waiting, everyone) for waiting in view.waiting)
    if view.waiting:
        lines.append("A waiting video can be taken out of the line with `/queue cancel:<job id>`.")
    return "\n".join(lines)


def waiting_choice(waiting: WaitingJob) -> str:
    """An autocomplete entry for a waiting job (plain text: no markup in choices)."""
    where = place_text(waiting.standing) if waiting.standing is not None else "in line"
    return f"{waiting.job.id} · {kind_title(waiting.job.kind)} · {where}"[:100]
