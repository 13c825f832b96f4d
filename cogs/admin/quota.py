"""/kling-admin quota: credit limits for members, roles or the whole server."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.discord_ui import admin_text
from bot.errors import UserFacingError
from bot.jobs.quota import Period
from bot.jobs.services.admin import LimitTarget
from cogs.admin.checks import ModeratorGroup, guild_of, list_or_file, reply
from cogs.common import services

PERIOD_CHOICES = [
    app_commands.Choice(name="Day (resets at 00:00 UTC)", value="day"),
    app_commands.Choice(name="Week (resets Monday 00:00 UTC)", value="week"),
    app_commands.Choice(name="Month (resets on the 1st, 00:00 UTC)", value="month"),
]
MAX_CREDITS = 1_000_000


def member_only(user: discord.Member) -> discord.Member:
    if user.bot:
        raise UserFacingError(admin_text.NOT_A_MEMBER.format(mention=user.mention))
    return user


def limit_target(user: discord.Member | None, role: discord.Role | None) -> LimitTarget:
    if user is not None and role is not None:
        raise UserFacingError(
            "Give a member or a role, not both (leave both out to work on the server default)."
        )
    if role is not None:
        if role.is_default():
            raise UserFacingError(
                "@everyone is the whole server: leave out `user` and `role` to work on the server default."
            )
        return LimitTarget("role", role.id)
    if user is not None:
        return LimitTarget("user", member_only(user).id)
    return LimitTarget("guild")


def role_ids_of(member: discord.Member) -> tuple[int, ...]:
    return tuple(role.id for role in member.roles if not role.is_default())


class QuotaCommands(
    ModeratorGroup, name="quota", description="Credit limits for members, roles or the whole server"
):
    @app_commands.command(
        name="set", description="Set how many credits a member, a role or everyone may spend"
    )
    @app_commands.describe(
        limit="Credits per period (0 stops new videos); leave out when choosing unlimited",
        period="How often the credits come back (default: unchanged, or day for a new limit)",
        user="Only this member (beats any role limit)",
        role="Members with this role (the most generous of a member's roles applies)",
        unlimited="True: no limit at all instead of a number",
    )
    @app_commands.choices(period=PERIOD_CHOICES)
    async def set_limit(
        self,
        interaction: discord.Interaction,
        limit: app_commands.Range[int, 0, MAX_CREDITS] | None = None,
        period: app_commands.Choice[str] | None = None,
        user: discord.Member | None = None,
        role: discord.Role | None = None,
        unlimited: bool = False,
    ) -> None:
        if limit is None and not unlimited:
            raise UserFacingError(
                "Say how many credits: `limit` (a number, 0 stops new videos), "
                "or `unlimited: True` for no limit."
            )
        if limit is not None and unlimited:
            raise UserFacingError("Give either a `limit` or `unlimited: True`, not both.")
        target = limit_target(user, role)
        chosen = Period(period.value) if period is not None else None
        result = await services(interaction).admin.set_limit(
            guild_of(interaction), interaction.user.id, target, None if unlimited else limit, chosen
        )
        await reply(interaction, admin_text.limit_set_text(result))

    @app_commands.command(name="clear", description="Remove a limit so the next one down applies again")
    @app_commands.describe(user="Remove this member's personal limit", role="Remove this role's limit")
    async def clear(
        self,
        interaction: discord.Interaction,
        user: discord.Member | None = None,
        role: discord.Role | None = None,
    ) -> None:
        target = limit_target(user, role)
        if not await services(interaction).admin.clear_limit(
            guild_of(interaction), interaction.user.id, target
        ):
            raise UserFacingError(admin_text.limit_not_set_text(target))
        await reply(interaction, admin_text.limit_cleared_text(target))

    @app_commands.command(name="list", description="Every limit set on this server")
    async def list_limits(self, interaction: discord.Interaction) -> None:
        limits = await services(interaction).admin.limits(guild_of(interaction))
        if not limits:
            await reply(interaction, admin_text.NO_LIMITS)
            return
        text, file = list_or_file(admin_text.LIMITS_TITLE, admin_text.limit_lines(limits), "limits.txt")
        await reply(interaction, text, file)

    @app_commands.command(name="reset", description="Give a member back the credits they spent this period")
    @app_commands.describe(user="The member whose spent credits come back")
    async def reset(self, interaction: discord.Interaction, user: discord.Member) -> None:
        member = member_only(user)
        result = await services(interaction).admin.give_credits_back(
            guild_of(interaction), interaction.user.id, member.id, role_ids_of(member)
        )
        await reply(interaction, admin_text.credits_back_text(member.id, result))
