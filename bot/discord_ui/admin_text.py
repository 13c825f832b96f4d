"""What /kling-admin answers: limits, channels, the blocklist, pause, the log channel and the moderator
role, in the words moderators read."""

from __future__ import annotations

from bot.discord_ui.limits import REASON_SHOWN, quote
from bot.discord_ui.render import (
    PERIOD_NOW,
    amount_text,
    channel_mention,
    credits_text,
    limit_name,
    role_mention,
    timestamp,
    user_mention,
)
from bot.jobs.quota import Period
from bot.jobs.services.admin import ChannelChange, CreditsGivenBack, LimitSet, LimitTarget
from db.records import QuotaLimit

NOT_A_MEMBER = "{mention} is a bot and doesn't make videos; pick a member."
AFTER_CLEAR = {
    "user": "their role limits or the server default apply again",
    "role": "its members fall back to their other roles' limits or the server default",
    "guild": "members without a personal or role limit now have no limit",
}
LIMITS_TITLE = (
    "**Credit limits** (a personal limit beats roles; the most generous role wins; else the default)"
)
NO_LIMITS = (
    "No limits are set: members can make as many videos as they like. "
    "Set a server default with /kling-admin quota set."
)


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def target_name(target: LimitTarget) -> str:
    return limit_name(target.scope, target.target_id)


def limit_set_text(result: LimitSet) -> str:
    previous = result.previous
    amount = amount_text(result.credits, result.period)
    was = f" (was {amount_text(previous.credits, Period(previous.period))})" if previous else ""
    lines = [f"✅ {capitalised(target_name(result.target))} is now **{amount}**{was}."]
    if result.target.scope == "user":
        lines.append("It beats their roles' limits and the server default.")
        standing = result.standing
        if standing is not None:
            lines.append(
                f"They have spent {credits_text(standing.spent)} {PERIOD_NOW[result.period]}, so "
                f"{standing.left} left until {timestamp(standing.resets_at)}."
            )
    elif result.target.scope == "role":
        lines.append(
            "A member with several limited roles gets the most generous one; personal limits still win."
        )
    else:
        lines.append("It applies to members without a personal or role limit.")
    return "\n".join(lines)


def limit_not_set_text(target: LimitTarget) -> str:
    return (
        f"{capitalised(target_name(target))} isn't set, so there is nothing to remove. "
        "/kling-admin quota list shows the limits that are set."
    )


def limit_cleared_text(target: LimitTarget) -> str:
    return f"✅ Removed {target_name(target)}; {AFTER_CLEAR[target.scope]}."


def _limit_owner(limit: QuotaLimit) -> str:
    if limit.scope == "guild":
        return "Server default"
    if limit.scope == "role":
        return f"Role {role_mention(limit.target_id)}"
    if limit.scope == "user":
        return user_mention(limit.target_id)
    return limit.scope


def limit_lines(limits: list[QuotaLimit]) -> list[str]:
    lines = [f"• {_limit_owner(q)}: {amount_text(q.credits, Period(q.period))}" for q in limits]
    if not any(q.scope == "guild" for q in limits):
        lines.append("• Server default: none (unlimited)")
    return lines


def credits_back_text(user_id: int, result: CreditsGivenBack) -> str:
    standing = result.standing
    when = PERIOD_NOW[standing.limit.period]
    if standing.spent == 0:
        return f"{user_mention(user_id)} hasn't spent any credits {when}; nothing to give back."
    if standing.limit.credits is None:
        after = "They have no limit, so this only clears the count."
    else:
        until = timestamp(standing.resets_at)
        after = f"They have {credits_text(standing.limit.credits)} to spend until {until}."
    return (
        f"✅ Gave {user_mention(user_id)} back the {credits_text(standing.spent)} they spent {when}. {after}"
    )


def channel_allowed_text(channel_id: int, change: ChannelChange) -> str:
    channel = channel_mention(channel_id)
    if not change.changed:
        return f"{channel} is already allowed."
    if not change.allowed_before:
        return (
            f"✅ Videos can now be made only in {channel} (until now every channel was allowed). "
            "Allow more with /kling-admin channels allow."
        )
    return f"✅ Allowed {channel}; {change.allowed_after} channels are allowed now."


def channel_not_listed_text(channel_id: int, change: ChannelChange) -> str:
    channel = channel_mention(channel_id)
    if not change.allowed_before:
        return (
            f"{channel} isn't on the allowed list: the list is empty, so every channel is allowed. "
            "To keep videos out of it, allow the channels where they may be made instead."
        )
    return (
        f"{channel} isn't on the allowed list, so videos already can't be made there. "
        "/kling-admin channels list shows the allowed channels."
    )


def channel_denied_text(channel_id: int, change: ChannelChange) -> str:
    channel = channel_mention(channel_id)
    if change.allowed_after:
        return f"✅ {channel} is off the allowed list; {change.allowed_after} channels remain."
    return (
        f"✅ {channel} was the last channel on the allowed list. The list is empty now, "
        "so videos can be made in every channel again."
    )


def paused_text(reason: str | None, was_paused: bool) -> str:
    shown = f" Members see: “{quote(reason, REASON_SHOWN)}”." if reason else ""
    if was_paused:
        return f"Video generation was already paused; the reason is updated.{shown}"
    return (
        "⏸️ Video generation is paused on this server: new videos are refused, videos in progress "
        f"still arrive.{shown} /kling-admin resume turns it back on."
    )


def log_channel_text(channel_id: int | None, changed: bool) -> str:
    if not changed:
        return (
            f"The audit log already goes to {channel_mention(channel_id)}."
            if channel_id
            else "The audit log is already off."
        )
    if channel_id is None:
        return "✅ The audit log is off. Give a channel to turn it back on."
    return (
        f"✅ The audit log goes to {channel_mention(channel_id)}: one line per job submitted, finished, "
        "failed or refunded, and per admin change."
    )


def mod_role_text(role_id: int | None) -> str:
    if role_id is None:
        return "✅ No moderator role any more: only members with Manage Server can use /kling-admin."
    return (
        f"✅ Members with {role_mention(role_id)} are moderators now, besides those with Manage Server. "
        "Discord still hides /kling-admin from them until a server admin allows the role under "
        "Server Settings → Integrations; the command works for them either way."
    )
