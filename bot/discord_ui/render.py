"""The words: typed outcomes of the job engine turned into what members and moderators read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import discord
from discord.utils import format_dt

from bot.custom_ids import button_id
from bot.discord_ui import limits
from bot.jobs.audit import AuditAction, FactValue, decode_facts
from bot.jobs.quota import CostTable, Period
from bot.models import JobKind
from db.records import AuditEntry, JobRecord, JobState

KIND_NAMES = {
    JobKind.MOTION: "motion control",
    JobKind.TEXT2VIDEO: "text-to-video",
    JobKind.IMAGE2VIDEO: "image-to-video",
    JobKind.EXTEND: "extending videos",
}
# How a period reads in a sentence: "3 left today", "10 credits a week".
PERIOD_NOW = {Period.DAY: "today", Period.WEEK: "this week", Period.MONTH: "this month"}
PERIOD_EACH = {Period.DAY: "a day", Period.WEEK: "a week", Period.MONTH: "a month"}
KIND_TITLES = {
    "motion": "Motion control",
    "text2video": "Text to video",
    "image2video": "Image to video",
    "extend": "Extended video",
}
STAGE_LINES = {
    "queued": "⏳ Queued",
    "generating": "🎬 Generating",
    "uploading": "📤 Uploading",
    "done": "✅ Done",
    "failed": "❌ Failed",
}
FAILURE_TEXT = {
    "invalid_request": "The provider refused the request: {message}",
    "content_policy": "The provider's content policy blocked this video: {message}",
    "auth": "The bot is misconfigured (the video provider refused its credentials); the moderators have "
    "been told.",
    "insufficient_credits": "The bot's video provider account has run out of credits; the moderators have "
    "been told.",
    "rate_limited": "The video provider is too busy right now: {message}",
    "transient": "The video provider did not answer properly: {message}",
    "failed": "The generation failed: {message}",
    "unsafe_result": "The provider returned a result link the bot will not fetch (it points inside the "
    "server's network), so the video can't be posted.",
}


def timestamp(seconds: float, style: Literal["R", "f", "F", "d", "D", "t", "T"] = "R") -> str:
    """A Discord timestamp that each member's client shows in their own time zone (and keeps current)."""
    return format_dt(datetime.fromtimestamp(int(seconds), UTC), style)


def user_mention(user_id: int) -> str:
    return f"<@{user_id}>"


def role_mention(role_id: int) -> str:
    return f"<@&{role_id}>"


def channel_mention(channel_id: int) -> str:
    return f"<#{channel_id}>"


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def credits_text(count: int) -> str:
    return plural(count, "credit")


def amount_text(credits: int | None, period: Period) -> str:
    """A limit as it reads: "unlimited", "5 credits a week"."""
    return "unlimited" if credits is None else f"{credits_text(credits)} {PERIOD_EACH[period]}"


def _join_or(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def price_list(costs: CostTable) -> list[str]:
    """What credits buy, cheapest first, computed from the table so a configured table reads right."""
    std5 = costs.cost(JobKind.TEXT2VIDEO, mode="std", duration=5)
    offers = [
        (std5, "a 5 s standard clip"),
        (costs.cost(JobKind.TEXT2VIDEO, mode="pro", duration=5), "a 5 s pro clip"),
        (costs.cost(JobKind.TEXT2VIDEO, mode="std", duration=10), "a 10 s standard clip"),
        (costs.cost(JobKind.TEXT2VIDEO, mode="pro", duration=10), "a 10 s pro clip"),
        (costs.cost(JobKind.EXTEND, mode="std"), "extending a standard clip"),
    ]
    by_cost: dict[int, list[str]] = {}
    for cost, what in offers:
        by_cost.setdefault(cost, []).append(what)
    lines = [f"{credits_text(cost)}: {_join_or(items)}" for cost, items in sorted(by_cost.items())]
    step = costs.seconds_per_unit
    unit = costs.cost(JobKind.MOTION, mode="std", reference_seconds=step)
    pro_unit = costs.cost(JobKind.MOTION, mode="pro", reference_seconds=step)
    example = costs.cost(JobKind.MOTION, mode="std", reference_seconds=step * 2 + 2)
    lines.append(
        f"/motion: {credits_text(unit)} per started {step:g} s of reference video ({pro_unit} in pro); "
        f"a {step * 2 + 2:g} s reference costs {example}"
    )
    return lines


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def kind_title(kind: str) -> str:
    return KIND_TITLES.get(kind, kind)


# ---- a job on screen ---------------------------------------------------------------------------


def failure_sentence(job: JobRecord) -> str:
    template = FAILURE_TEXT.get(job.error_category or "failed", FAILURE_TEXT["failed"])
    message = limits.quote(job.error_message or "no reason given", limits.PROVIDER_MESSAGE_SHOWN)
    text = template.format(message=message.rstrip("."))
    refund = f" Your {credits_text(job.credits)} came back." if job.credits else ""
    return f"{text.rstrip('.')}.{refund}"


def progress_head(job: JobRecord) -> str:
    return f"**{kind_title(job.kind)}** `{job.id}` for {user_mention(job.user_id)}"


def progress_text(job: JobRecord) -> str:
    stage = "failed" if job.status is JobState.FAILED else job.progress_stage
    line = STAGE_LINES.get(stage, stage)
    if stage == "generating":
        line += f" · started {timestamp(job.submitted_at or job.created_at)}"
    elif stage == "done" and job.delivered_via == "none":
        line += f" · the video could not be posted here; `/job {job.id}` has the details"
    elif stage == "done" and job.delivered_at and job.finished_at:
        line += f" · took {format_duration(job.finished_at - job.created_at)}"
    elif stage == "failed":
        line += f": {failure_sentence(job)}"
    return f"{progress_head(job)} — {line}"


def progress_done_text(job: JobRecord) -> str:
    """The progress line once the video is posted (before the store records the delivery)."""
    return f"{progress_head(job)} — {STAGE_LINES['done']}"


_EMBED_FIELDS = (
    ("mode", "Mode"),
    ("orientation", "Orientation"),
    ("aspect_ratio", "Aspect ratio"),
    ("duration", "Duration"),
    ("model", "Model"),
    ("cfg_scale", "CFG scale"),
)


def result_embed(job: JobRecord) -> discord.Embed:
    p = job.params
    embed = discord.Embed(title=kind_title(job.kind), colour=discord.Colour.blurple())
    if p.get("prompt"):
        embed.description = limits.clip(str(p["prompt"]), limits.PROMPT_SHOWN)
    for key, label in _EMBED_FIELDS:
        if p.get(key) not in (None, ""):
            embed.add_field(name=label, value=str(p[key]), inline=True)
    if job.result_duration:
        embed.add_field(name="Length", value=f"{job.result_duration:.1f}s", inline=True)
    timing = []
    if job.submitted_at is not None and job.finished_at is not None:
        timing.append(f"generated in {format_duration(job.finished_at - job.submitted_at)}")
    if job.finished_at is not None:
        timing.append(f"total {format_duration(job.finished_at - job.created_at)}")
    if timing:
        embed.add_field(name="Timing", value=", ".join(timing), inline=False)
    embed.set_footer(text=f"Job {job.id} · {credits_text(job.credits)}")
    return limits.fit_embed(embed)


def is_result_embed_of(footer: str | None, job_id: str) -> bool:
    return (footer or "").startswith(f"Job {job_id} ")


def result_buttons(job: JobRecord) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(discord.ui.Button(label="Extend", emoji="➕", custom_id=button_id("extend", job.id)))
    view.add_item(discord.ui.Button(label="Re-run", emoji="🔁", custom_id=button_id("rerun", job.id)))
    view.add_item(
        discord.ui.Button(
            label="Delete", emoji="🗑️", style=discord.ButtonStyle.danger, custom_id=button_id("delete", job.id)
        )
    )
    # Clicks reach the persistent handler registered for these custom ids (cogs.buttons), so the view
    # needs no listening of its own; a stopped view is not kept in discord.py's view store, where every
    # posted video would otherwise leave one behind for as long as the bot runs.
    view.stop()
    return view


# ---- delivery -----------------------------------------------------------------------------------

MIB = 1024 * 1024


def ready_text(job: JobRecord) -> str:
    return f"{user_mention(job.user_id)} your video is ready!"


def failed_text(job: JobRecord) -> str:
    return f"{user_mention(job.user_id)} {failure_sentence(job)}"


def failed_dm_text(job: JobRecord) -> str:
    return f"Your video job `{job.id}` in {channel_mention(job.channel_id)} failed. {failure_sentence(job)}"


def link_text(url: str, expires_at: float) -> str:
    """A link to the bot's own copy of a video, with when it stops working."""
    return f"{url} (the link works until {timestamp(expires_at, 'f')})"


def dm_intro(job: JobRecord) -> str:
    return f"I couldn't post in {channel_mention(job.channel_id)}, so here is your video."


def dm_link_text(job: JobRecord, link: str) -> str:
    return f"{dm_intro(job)[:-1]}: it is too large to upload, so here is a link. {link}"


def too_large_text(job: JobRecord, size: int, limit: int, link: str | None) -> str:
    """The channel post for a video too big to upload even re-encoded."""
    over = f"{size / MIB:.1f} MiB, over this server's {limit / MIB:.0f} MiB upload limit"
    if link is not None:
        return (
            f"{ready_text(job)} At {over} and too large to shrink without "
            f"ruining it, it is here instead: {link}"
        )
    return (
        f"{user_mention(job.user_id)} your video is ready, but at {over} it could not be shrunk to fit "
        f"without ruining it. `/job {job.id}` has its details."
    )


def repost_too_large_text(size: int, limit: int, link: str | None) -> str:
    over = f"The video is {size / MIB:.1f} MiB, over the {limit / MIB:.0f} MiB upload limit here"
    return f"{over}; it is here instead: {link}" if link else f"{over}, so it can't be shown again."


def refit_note(size: int) -> str:
    return f"re-encoded from {size / MIB:.1f} MiB to fit the upload limit"


# ---- the audit log --------------------------------------------------------------------------------


def _job_subject(job_id: str | None, facts: dict[str, FactValue]) -> str:
    return f"`{job_id}` {facts.get('kind')} by {user_mention(int(facts.get('user_id') or 0))}"


def limit_name(scope: object, target_id: int) -> str:
    """Whose limit: "<@1>'s personal limit", "the limit of role <@&2>", "the server default"."""
    if scope == "user":
        return f"{user_mention(target_id)}'s personal limit"
    if scope == "role":
        return f"the limit of role {role_mention(target_id)}"
    return "the server default"


def _int(value: FactValue) -> int:
    return int(value or 0)


def _optional_int(value: FactValue) -> int | None:
    return None if value is None else int(value)


def _quota_detail(action: str, facts: dict[str, FactValue]) -> str | None:
    if action == AuditAction.QUOTA_SET:
        amount = amount_text(_optional_int(facts.get("credits")), Period(str(facts.get("period"))))
        was = ""
        if facts.get("previous_period") is not None:
            previous = amount_text(
                _optional_int(facts.get("previous_credits")), Period(str(facts["previous_period"]))
            )
            was = f" (was {previous})"
        return f"{limit_name(facts.get('scope'), _int(facts.get('target_id')))}: {amount}{was}"
    if action == AuditAction.QUOTA_CLEARED:
        return limit_name(facts.get("scope"), _int(facts.get("target_id")))
    if action == AuditAction.QUOTA_RESET:
        given = credits_text(_int(facts.get("credits")))
        return f"{user_mention(_int(facts.get('user_id')))}: {given} given back"
    if action == AuditAction.MOD_ROLE:
        role = facts.get("role_id")
        return (
            f"{role_mention(int(role))} members are moderators"
            if role
            else "cleared: only Manage Server counts"
        )
    return None


def audit_detail(action: str, job_id: str | None, facts: dict[str, FactValue]) -> str:
    """The detail part of an audit line, from the record's facts."""
    if "text" in facts and len(facts) == 1:
        return str(facts["text"])  # a line stored before records were structured
    quota = _quota_detail(action, facts)
    if quota is not None:
        return quota
    match action:
        case AuditAction.JOB_SUBMITTED:
            return f"{_job_subject(job_id, facts)} · cost {facts.get('credits')}"
        case AuditAction.JOB_FINISHED:
            return f"{_job_subject(job_id, facts)} · charged {facts.get('credits')}"
        case AuditAction.JOB_CANCELLED:
            return f"{_job_subject(job_id, facts)} · {facts.get('reason')} · refunded {facts.get('credits')}"
        case AuditAction.JOB_FAILED:
            return (
                f"{_job_subject(job_id, facts)} · {facts.get('category')}: "
                f"{limits.quote(str(facts.get('message')), limits.PROVIDER_MESSAGE_SHOWN)} "
                f"· refunded {facts.get('credits')}"
            )
        case AuditAction.VIDEO_DELETED:
            return f"`{job_id}` by {user_mention(int(facts.get('user_id') or 0))}"
        case AuditAction.CHANNEL_ALLOWED | AuditAction.CHANNEL_DENIED:
            return channel_mention(int(facts.get("channel_id") or 0))
        case AuditAction.BLOCKLIST_ADD | AuditAction.BLOCKLIST_REMOVE:
            return f"||{limits.quote(str(facts.get('term')))}||"
        case AuditAction.PAUSED:
            return limits.quote(str(facts.get("reason") or "no reason given"), limits.REASON_SHOWN)
        case AuditAction.RESUMED:
            return "new videos allowed again"
        case AuditAction.LOG_CHANNEL:
            channel = facts.get("channel_id")
            if not channel:
                return "audit log turned off"
            return f"audit log now goes to {channel_mention(int(channel))}"
    return ", ".join(f"{key}: {value}" for key, value in sorted(facts.items()))


def audit_line(entry: AuditEntry) -> str:
    """One log-channel line: when, what, who, and the details."""
    actor = user_mention(entry.actor_id) if entry.actor_id else "the bot"
    detail = audit_detail(entry.action, entry.job_id, decode_facts(entry.detail))
    return limits.fit_content(f"{timestamp(entry.created_at, 'f')} **{entry.action}** · {actor} · {detail}")
