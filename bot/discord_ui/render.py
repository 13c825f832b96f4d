"""The words: typed outcomes of the job engine turned into what members and moderators read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from discord.utils import format_dt

from bot.jobs.audit import AuditAction, FactValue, decode_facts
from bot.jobs.quota import AppliedLimit, Period
from bot.jobs.refusals import (
    BlockedTerm,
    CannotHostConverted,
    ChannelNotAllowed,
    JobRefused,
    KindNotOffered,
    QuotaExceeded,
    ServerPaused,
    TooManyInFlight,
)
from bot.models import JobKind
from db.records import AuditEntry

KIND_NAMES = {
    JobKind.MOTION: "motion control",
    JobKind.TEXT2VIDEO: "text-to-video",
    JobKind.IMAGE2VIDEO: "image-to-video",
    JobKind.EXTEND: "extending videos",
}
PERIOD_NOW = {Period.DAY: "today", Period.WEEK: "this week", Period.MONTH: "this month"}


def timestamp(seconds: float, style: Literal["R", "f", "F", "d", "D", "t", "T"] = "R") -> str:
    """A Discord timestamp that each member's client shows in their own time zone (and keeps current)."""
    return format_dt(datetime.fromtimestamp(int(seconds), UTC), style)


def user_mention(user_id: int) -> str:
    return f"<@{user_id}>"


def role_mention(role_id: int) -> str:
    return f"<@&{role_id}>"


def channel_mention(channel_id: int) -> str:
    return f"<#{channel_id}>"


def credits_text(count: int) -> str:
    return f"{count} credit{'s' if count != 1 else ''}"


def limit_source(limit: AppliedLimit) -> str:
    """Where a member's limit comes from, as a phrase: "the limit of role @Members"."""
    if limit.scope == "user":
        return "your personal limit"
    if limit.scope == "role" and limit.role_id is not None:
        return f"the limit of role {role_mention(limit.role_id)}"
    if limit.scope == "guild":
        return "the server's default limit"
    return "no limit set"


def refusal_text(refusal: JobRefused) -> str:
    """One sentence for each reason a job may not start: the rule, and what to do about it."""
    match refusal:
        case ServerPaused(reason=reason):
            why = f" ({reason})" if reason else ""
            return (
                f"Video generation is paused on this server{why}. Try again once a moderator resumes it "
                "with /kling-admin resume; nothing was charged."
            )
        case ChannelNotAllowed(allowed_channel_ids=allowed):
            channels = ", ".join(channel_mention(c) for c in sorted(allowed))
            return f"Videos can't be made in this channel. Try one of these: {channels}."
        case BlockedTerm(term=term):
            return (
                f'Your prompt contains a term this server does not allow ("{term}"). '
                "Rephrase it and try again; nothing was charged."
            )
        case KindNotOffered(provider=provider, kind=kind):
            return (
                f"This bot's video provider ({provider}) does not offer {KIND_NAMES[kind]}; "
                "only /motion works here."
            )
        case CannotHostConverted(role=role):
            return (
                f"Your {role.replace('_', ' ')} had to be converted, and this bot cannot host "
                "converted files (the operator has not set PUBLIC_BASE_URL). Upload a PNG/JPEG image "
                "and an MP4/MOV video within the limits, and try again."
            )
        case TooManyInFlight(limit=limit):
            return (
                f"You already have {limit} videos in progress. Wait for one to "
                "finish (see /jobs), then try again."
            )
        case QuotaExceeded():
            return (
                f"This video costs {credits_text(refusal.cost)} and you have {refusal.left} left "
                f"{PERIOD_NOW[refusal.period]} ({limit_source(refusal.limit)}). Your credits reset "
                f"{timestamp(refusal.resets_at)}; see /quota for details."
            )
    return "This video can't be made right now; nothing was charged."


def _job_subject(job_id: str | None, facts: dict[str, FactValue]) -> str:
    return f"`{job_id}` {facts.get('kind')} by {user_mention(int(facts.get('user_id') or 0))}"


def audit_detail(action: str, job_id: str | None, facts: dict[str, FactValue]) -> str:
    """The detail part of an audit line, from the record's facts."""
    if "text" in facts and len(facts) == 1:
        return str(facts["text"])  # a line stored before records were structured
    match action:
        case AuditAction.JOB_SUBMITTED:
            return f"{_job_subject(job_id, facts)} · cost {facts.get('credits')}"
        case AuditAction.JOB_FINISHED:
            return f"{_job_subject(job_id, facts)} · charged {facts.get('credits')}"
        case AuditAction.JOB_FAILED:
            return (
                f"{_job_subject(job_id, facts)} · {facts.get('category')}: {facts.get('message')} "
                f"· refunded {facts.get('credits')}"
            )
        case AuditAction.VIDEO_DELETED:
            return f"`{job_id}` by {user_mention(int(facts.get('user_id') or 0))}"
        case AuditAction.CHANNEL_ALLOWED | AuditAction.CHANNEL_DENIED:
            return channel_mention(int(facts.get("channel_id") or 0))
        case AuditAction.BLOCKLIST_ADD | AuditAction.BLOCKLIST_REMOVE:
            return f"||{facts.get('term')}||"
        case AuditAction.PAUSED:
            return str(facts.get("reason") or "no reason given")
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
    return f"{timestamp(entry.created_at, 'f')} **{entry.action}** · {actor} · {detail}"
