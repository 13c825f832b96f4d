"""Why a job may not start, in one sentence each: the rule, and what the member can do about it."""

from __future__ import annotations

from bot.discord_ui import limits
from bot.discord_ui.capability_text import problem_text
from bot.discord_ui.reference_text import reference_refusal_text
from bot.discord_ui.render import (
    KIND_NAMES,
    PERIOD_NOW,
    channel_mention,
    credits_text,
    plural,
    role_mention,
    timestamp,
)
from bot.jobs.quota import AppliedLimit
from bot.jobs.refusals import (
    BlockedTerm,
    CannotHostConverted,
    CapabilityRefused,
    ChannelNotAllowed,
    JobRefused,
    KindNotOffered,
    QueueFull,
    QuotaExceeded,
    ServerPaused,
    TooManyInFlight,
)


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
            why = f" ({limits.quote(reason, limits.REASON_SHOWN)})" if reason else ""
            return (
                f"Video generation is paused on this server{why}. Try again once a moderator resumes it "
                "with /kling-admin resume; nothing was charged."
            )
        case ChannelNotAllowed(allowed_channel_ids=allowed):
            channels = limits.listed([channel_mention(c) for c in sorted(allowed)])
            return f"Videos can't be made in this channel. Try one of these: {channels}."
        case BlockedTerm(term=term):
            return (
                f'Your prompt contains a term this server does not allow ("{limits.quote(term)}"). '
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
        case QueueFull(limit=limit):
            return (
                f"You already have {plural(limit, 'video')} waiting in line. Try again once one has started "
                "(see /queue); nothing was charged."
            )
        case QuotaExceeded():
            return (
                f"This video costs {'at least ' if refusal.at_least else ''}{credits_text(refusal.cost)}"
                f" and you have {refusal.left} left "
                f"{PERIOD_NOW[refusal.period]} ({limit_source(refusal.limit)}). Your credits reset "
                f"{timestamp(refusal.resets_at)}; see /quota for details."
            )
        case CapabilityRefused(problem=problem):
            return problem_text(problem)
    return reference_refusal_text(refusal) or "This video can't be made right now; nothing was charged."
