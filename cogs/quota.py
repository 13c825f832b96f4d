"""/quota: a member's credits — how many are left, what they buy, when they reset, jobs in progress."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_ui.render import PERIOD_EACH, PERIOD_NOW, credits_text, price_list
from bot.errors import UserFacingError
from bot.jobs.drafts import Requester
from bot.jobs.quota import AppliedLimit, period_window
from bot.models import JobKind
from cogs.common import is_moderator, kling_bot, requester_from
from db.records import GuildSettings


def limit_origin(limit: AppliedLimit, *, yours: bool) -> str:
    """Which limit applies, in words: personal, a role's, the server default, or none."""
    whose = "your" if yours else "their"
    if limit.scope == "user":
        return f"{whose} personal limit"
    if limit.scope == "role":
        return f"the limit of {whose} role <@&{limit.role_id}>, the most generous of {whose} roles"
    if limit.scope == "guild":
        return "the server's default limit"
    return "no limit is set on this server"


def quota_text(
    *,
    limit: AppliedLimit,
    spent: int,
    reset_at: float,
    in_flight: int,
    max_in_flight: int,
    prices: list[str],
    cheapest: int,
    settings: GuildSettings | None,
    channel_id: int,
    name: str | None,
) -> str:
    """The /quota answer. `name` is None for the member themselves, else whose credits these are."""
    yours = name is None
    title = "**Your credits**" if yours else f"**{name}'s credits**"
    when = PERIOD_NOW[limit.period]
    lines: list[str] = []
    if limit.unlimited:
        lines.append(f"{title}: no limit ({limit_origin(limit, yours=yours)}).")
        lines.append(f"Used {when}: {credits_text(spent)}.")
    else:
        total = limit.credits or 0
        left = max(0, total - spent)
        lines.append(
            f"{title} ({limit_origin(limit, yours=yours)}: {credits_text(total)} {PERIOD_EACH[limit.period]})"
        )
        lines.append(
            f"**{left} of {total}** left {when} · resets <t:{int(reset_at)}:R> (<t:{int(reset_at)}:f>)"
        )
        if total == 0:
            lines.append("A moderator has set this limit to 0, so no new videos can be started.")
        elif left < cheapest:
            lines.append(
                "That's not enough for another video until the reset; a moderator can give credits back "
                "with /kling-admin quota reset."
            )
        else:
            clips = left // cheapest
            lines.append(f"That's enough for {clips} standard 5 s clip{'s' if clips != 1 else ''}.")
    lines.append(f"Videos in progress: {in_flight} of {max_in_flight} at a time.")
    if settings is not None:
        if settings.paused:
            reason = f" ({settings.pause_reason})" if settings.pause_reason else ""
            lines.append(f"⏸️ Video generation is paused on this server right now{reason}.")
        if settings.allowed_channels and channel_id not in settings.allowed_channels:
            channels = ", ".join(f"<#{c}>" for c in sorted(settings.allowed_channels))
            lines.append(f"Videos can't be made in this channel; use {channels}.")
    lines.append("**What credits buy**")
    lines.extend(f"• {line}" for line in prices)
    return "\n".join(lines)


class QuotaCog(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(
        name="quota", description="Your credits: how many are left, what they buy, when they reset"
    )
    @app_commands.guild_only()
    @app_commands.describe(user="Moderators: look at someone else's credits")
    async def quota(self, interaction: discord.Interaction, user: discord.Member | None = None) -> None:
        bot = kling_bot(interaction)
        requester = requester_from(interaction)
        name: str | None = None
        if user is not None and user.id != interaction.user.id:
            if not await is_moderator(interaction):
                raise UserFacingError(
                    "Only moderators can look at someone else's credits; /quota shows yours."
                )
            # Their roles decide their limit, so build the requester from the member option.
            requester = Requester(
                user_id=user.id,
                guild_id=requester.guild_id,
                channel_id=requester.channel_id,
                role_ids=tuple(role.id for role in user.roles if not role.is_default()),
            )
            name = user.display_name
        engine = bot.engine
        limit = await engine.limit_for(requester)
        window_start, reset_at = period_window(limit.period, engine.clock())
        spent = await bot.store.spent_credits(requester.guild_id, requester.user_id, window_start)
        in_flight = await bot.store.count_in_flight(requester.guild_id, requester.user_id)
        settings = (
            await bot.store.get_guild_settings(requester.guild_id) if requester.guild_id is not None else None
        )
        text = quota_text(
            limit=limit,
            spent=spent,
            reset_at=reset_at,
            in_flight=in_flight,
            max_in_flight=engine.config.max_in_flight_per_user,
            prices=price_list(engine.costs),
            cheapest=engine.costs.cost(JobKind.TEXT2VIDEO, mode="std", duration=5),
            settings=settings,
            channel_id=requester.channel_id,
            name=name,
        )
        await interaction.response.send_message(
            text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(QuotaCog(bot))
