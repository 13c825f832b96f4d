"""What /quota answers, and the credits part of the accepted-job answer."""

from __future__ import annotations

from bot.discord_ui.limits import NAME_SHOWN, REASON_SHOWN, listed, quote
from bot.discord_ui.render import (
    PERIOD_EACH,
    PERIOD_NOW,
    channel_mention,
    credits_text,
    plural,
    price_list,
    role_mention,
    timestamp,
)
from bot.jobs.quota import AppliedLimit, CostTable
from bot.jobs.services.quota import QuotaStatus
from bot.models import JobKind


def limit_origin(limit: AppliedLimit, *, yours: bool) -> str:
    """Which limit applies, in words: personal, a role's, the server default, or none."""
    whose = "your" if yours else "their"
    if limit.scope == "user":
        return f"{whose} personal limit"
    if limit.scope == "role":
        role = role_mention(limit.role_id or 0)
        return f"the limit of {whose} role {role}, the most generous of {whose} roles"
    if limit.scope == "guild":
        return "the server's default limit"
    return "no limit is set on this server"


def _balance_lines(status: QuotaStatus, title: str, yours: bool) -> list[str]:
    standing = status.standing
    limit = standing.limit
    when = PERIOD_NOW[limit.period]
    if limit.unlimited:
        return [
            f"{title}: no limit ({limit_origin(limit, yours=yours)}).",
            f"Used {when}: {credits_text(standing.spent)}.",
        ]
    total = limit.credits or 0
    left = standing.left or 0
    lines = [
        f"{title} ({limit_origin(limit, yours=yours)}: {credits_text(total)} {PERIOD_EACH[limit.period]})",
        f"**{left} of {total}** left {when} · resets {timestamp(standing.resets_at)} "
        f"({timestamp(standing.resets_at, 'f')})",
    ]
    if total == 0:
        lines.append("A moderator has set this limit to 0, so no new videos can be started.")
    elif left < status.cheapest:
        lines.append(
            "That's not enough for another video until the reset; a moderator can give credits back "
            "with /kling-admin quota reset."
        )
    else:
        lines.append(f"That's enough for {plural(left // status.cheapest, 'standard 5 s clip')}.")
    return lines


def quota_text(status: QuotaStatus, *, channel_id: int, name: str | None) -> str:
    """The /quota answer. `name` is None for the member themselves, else whose credits these are."""
    yours = name is None
    title = "**Your credits**" if yours else f"**{quote(name or '', NAME_SHOWN)}'s credits**"
    lines = _balance_lines(status, title, yours)
    lines.append(f"Videos in progress: {status.in_flight} of {status.max_in_flight} at a time.")
    settings = status.settings
    if settings is not None:
        if settings.paused:
            reason = f" ({quote(settings.pause_reason, REASON_SHOWN)})" if settings.pause_reason else ""
            lines.append(f"⏸️ Video generation is paused on this server right now{reason}.")
        if settings.allowed_channels and channel_id not in settings.allowed_channels:
            channels = listed([channel_mention(c) for c in sorted(settings.allowed_channels)])
            lines.append(f"Videos can't be made in this channel; use {channels}.")
    lines.append("**What credits buy**")
    lines.extend(f"• {line}" for line in [*price_list(status.costs), *surcharge_lines(status.costs)])
    return "\n".join(lines)


def surcharge_lines(costs: CostTable) -> list[str]:
    """What mode 4k and sound add, with an example each, computed from the table."""
    fourk = costs.cost(JobKind.TEXT2VIDEO, mode="4k", duration=5)
    std_sound = costs.cost(JobKind.TEXT2VIDEO, mode="std", duration=5, sound=True)
    return [
        f"mode 4k: {costs.fourk_multiplier:g}× a standard clip of the same length "
        f"(a 5 s 4k clip costs {fourk})",
        f"sound: {costs.audio_multiplier:g}× the price, rounded up to whole credits "
        f"(a 5 s standard clip with sound costs {std_sound})",
    ]
