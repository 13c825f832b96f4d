"""/kling-admin: moderators decide who may make videos, how many and where, and see what was spent.

Default permissions hide the group from members without Manage Server, but server admins can change
that in Discord's settings, so every command also checks in code that the caller is a moderator.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_ui.render import KIND_TITLES, PERIOD_EACH, PERIOD_NOW, credits_text
from bot.errors import Refusal, UserFacingError
from bot.jobs.policy import normalise_term
from bot.jobs.quota import Period, applicable_limit, period_window
from cogs.common import is_moderator, kling_bot, require_moderator
from db.records import QuotaLimit, UsageRow

PERIOD_CHOICES = [
    app_commands.Choice(name="Day (resets at 00:00 UTC)", value="day"),
    app_commands.Choice(name="Week (resets Monday 00:00 UTC)", value="week"),
    app_commands.Choice(name="Month (resets on the 1st, 00:00 UTC)", value="month"),
]
USAGE_PERIOD_CHOICES = [
    app_commands.Choice(name="Today", value="day"),
    app_commands.Choice(name="This week", value="week"),
    app_commands.Choice(name="This month", value="month"),
    app_commands.Choice(name="All time", value="all"),
]
MAX_CREDITS = 1_000_000
MAX_TERM_LENGTH = 100
MESSAGE_LIMIT = 1900  # Discord allows 2000 characters; leave room for a closing line
USAGE_MEMBERS_SHOWN = 15
CSV_COLUMNS = (
    "user_id",
    "user_name",
    "kind",
    "jobs",
    "credits_charged",
    "credits_reserved",
    "credits_refunded",
)
# Channels a video can be asked for and posted in.
POSTABLE_CHANNEL_TYPES = [
    discord.ChannelType.text,
    discord.ChannelType.news,
    discord.ChannelType.voice,
    discord.ChannelType.stage_voice,
    discord.ChannelType.public_thread,
    discord.ChannelType.private_thread,
    discord.ChannelType.news_thread,
]

AnyChannel = app_commands.AppCommandChannel | app_commands.AppCommandThread


class ModeratorOnly(app_commands.CheckFailure, Refusal):
    """A failed moderator check. Being a CheckFailure lets discord.py route it to the tree's handler;
    being a Refusal makes that handler show its sentence instead of a generic one."""


class OptionRefused(app_commands.AppCommandError, UserFacingError):
    """An option value refused while discord.py converts it; shown like any UserFacingError."""


class PostableChannel(app_commands.Transformer):
    """A channel option limited to channels with a chat, taken as Discord resolved it.

    Resolving from the payload (not the cache) means a channel the bot has not seen yet still works.
    """

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        return POSTABLE_CHANNEL_TYPES

    async def transform(self, interaction: discord.Interaction, value: Any, /) -> AnyChannel:
        if not isinstance(value, app_commands.AppCommandChannel | app_commands.AppCommandThread):
            raise app_commands.TransformerError(value, self.type, self)
        if value.type not in POSTABLE_CHANNEL_TYPES:
            raise OptionRefused(f"<#{value.id}> has no chat; pick a text channel, a thread or a voice chat.")
        return value


ChannelOption = app_commands.Transform[AnyChannel, PostableChannel]


@dataclass(frozen=True, slots=True)
class Target:
    """Whom a quota command is about: one member, one role, or the whole server."""

    scope: str  # user | role | guild
    target_id: int
    mention: str

    def limit_name(self) -> str:
        if self.scope == "user":
            return f"{self.mention}'s personal limit"
        if self.scope == "role":
            return f"the limit of role {self.mention}"
        return "the server default"


def amount_text(credits: int | None, period: Period) -> str:
    return "unlimited" if credits is None else f"{credits_text(credits)} {PERIOD_EACH[period]}"


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def quota_target(user: discord.Member | None, role: discord.Role | None) -> Target:
    if user is not None and role is not None:
        raise UserFacingError(
            "Give a member or a role, not both (leave both out to work on the server default)."
        )
    if role is not None:
        if role.is_default():
            raise UserFacingError(
                "@everyone is the whole server: leave out `user` and `role` to work on the server default."
            )
        return Target("role", role.id, role.mention)
    if user is not None:
        if user.bot:
            raise UserFacingError(f"{user.mention} is a bot and doesn't make videos; pick a member.")
        return Target("user", user.id, user.mention)
    return Target("guild", 0, "the server")


def role_ids_of(member: discord.Member) -> tuple[int, ...]:
    return tuple(role.id for role in member.roles if not role.is_default())


def list_or_file(title: str, lines: list[str], filename: str) -> tuple[str, discord.File | None]:
    """A list as a message, or as a text file when it would not fit in one."""
    text = title + "\n" + "\n".join(lines)
    if len(text) <= MESSAGE_LIMIT:
        return text, None
    data = ("\n".join(lines) + "\n").encode()
    return f"{title}\nThe list is too long for a message; it's in the attached file.", discord.File(
        io.BytesIO(data), filename=filename
    )


def usage_csv(rows: list[UsageRow], names: dict[int, str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(
            (
                row.user_id,
                names.get(row.user_id, ""),
                row.kind,
                row.jobs,
                row.credits_charged,
                row.credits_reserved,
                row.credits_refunded,
            )
        )
    return buffer.getvalue().encode()


def _figures(jobs: int, charged: int, reserved: int, refunded: int) -> str:
    parts = [f"{jobs} job{'s' if jobs != 1 else ''}", f"{credits_text(charged)} charged"]
    if reserved:
        parts.append(f"{reserved} reserved for videos in progress")
    if refunded:
        parts.append(f"{refunded} refunded")
    return " · ".join(parts)


def usage_summary(rows: list[UsageRow], heading: str, filename: str) -> str:
    if not rows:
        return f"{heading}: no videos were asked for. (The attached {filename} has just the header.)"
    members: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    kinds: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for row in rows:
        figures = (row.jobs, row.credits_charged, row.credits_reserved, row.credits_refunded)
        for bucket in (members[row.user_id], kinds[row.kind]):
            for i, value in enumerate(figures):
                bucket[i] += value
    total = [sum(values) for values in zip(*members.values(), strict=True)]
    lines = [f"{heading}: {_figures(*total)}", "**By member**"]
    ranked = sorted(members.items(), key=lambda item: (-item[1][1] - item[1][2], item[0]))
    lines.extend(f"• <@{user_id}>: {_figures(*figures)}" for user_id, figures in ranked[:USAGE_MEMBERS_SHOWN])
    if len(ranked) > USAGE_MEMBERS_SHOWN:
        lines.append(f"…and {len(ranked) - USAGE_MEMBERS_SHOWN} more members in the CSV.")
    lines.append("**By kind**")
    lines.extend(
        f"• {KIND_TITLES.get(kind, kind)}: {_figures(*figures)}" for kind, figures in sorted(kinds.items())
    )
    lines.append(f"One row per member and kind in {filename}.")
    text = "\n".join(lines)
    return (
        text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT].rsplit("\n", 1)[0] + "\n…(see the CSV)"
    )


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class AdminCog(
    commands.GroupCog,
    group_name="kling-admin",
    group_description="Moderators: quotas, channels, blocklist, pause, usage and the audit log",
):
    quota = app_commands.Group(
        name="quota", description="Credit limits for members, roles or the whole server"
    )
    channels = app_commands.Group(
        name="channels", description="Where videos may be made (empty list: anywhere)"
    )
    blocklist = app_commands.Group(name="blocklist", description="Words and phrases prompts may not contain")

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Runs before every /kling-admin command, whatever Discord's permission settings let through."""
        if interaction.guild is None:
            raise ModeratorOnly("This command only works in a server channel.")
        try:
            await require_moderator(interaction)
        except Refusal as refusal:
            raise ModeratorOnly(refusal.message) from None
        return True

    async def _audit(self, interaction: discord.Interaction, action: str, detail: str) -> None:
        await kling_bot(interaction).engine.audit(interaction.guild_id, interaction.user.id, action, detail)

    @staticmethod
    async def _reply(interaction: discord.Interaction, text: str, file: discord.File | None = None) -> None:
        await interaction.response.send_message(
            text,
            ephemeral=True,
            file=file if file is not None else discord.utils.MISSING,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    # ---- quota -------------------------------------------------------------------------------

    @quota.command(name="set", description="Set how many credits a member, a role or everyone may spend")
    @app_commands.describe(
        limit="Credits per period (0 stops new videos); leave out when choosing unlimited",
        period="How often the credits come back (default: unchanged, or day for a new limit)",
        user="Only this member (beats any role limit)",
        role="Members with this role (the most generous of a member's roles applies)",
        unlimited="True: no limit at all instead of a number",
    )
    @app_commands.choices(period=PERIOD_CHOICES)
    async def quota_set(
        self,
        interaction: discord.Interaction,
        limit: app_commands.Range[int, 0, MAX_CREDITS] | None = None,
        period: app_commands.Choice[str] | None = None,
        user: discord.Member | None = None,
        role: discord.Role | None = None,
        unlimited: bool = False,
    ) -> None:
        assert interaction.guild is not None
        if limit is None and not unlimited:
            raise UserFacingError(
                "Say how many credits: `limit` (a number, 0 stops new videos), "
                "or `unlimited: True` for no limit."
            )
        if limit is not None and unlimited:
            raise UserFacingError("Give either a `limit` or `unlimited: True`, not both.")
        target = quota_target(user, role)
        bot = kling_bot(interaction)
        guild_id = interaction.guild.id
        existing = {(q.scope, q.target_id): q for q in await bot.store.quota_limits(guild_id)}
        previous = existing.get((target.scope, target.target_id))
        if period is not None:
            chosen = Period(period.value)
        else:
            chosen = Period(previous.period) if previous is not None else Period.DAY
        credits = None if unlimited else limit
        new = QuotaLimit(guild_id, target.scope, target.target_id, credits, chosen.value)
        await bot.store.set_quota_limit(new, bot.engine.clock())
        amount = amount_text(credits, chosen)
        was = f" (was {amount_text(previous.credits, Period(previous.period))})" if previous else ""
        await self._audit(interaction, "quota set", f"{target.limit_name()}: {amount}{was}")

        lines = [f"✅ {capitalised(target.limit_name())} is now **{amount}**{was}."]
        if target.scope == "user" and user is not None:
            lines.append("It beats their roles' limits and the server default.")
            if credits is not None:
                window_start, reset_at = period_window(chosen, bot.engine.clock())
                spent = await bot.store.spent_credits(guild_id, user.id, window_start)
                lines.append(
                    f"They have spent {credits_text(spent)} {PERIOD_NOW[chosen]}, so "
                    f"{max(0, credits - spent)} left until <t:{int(reset_at)}:R>."
                )
        elif target.scope == "role":
            lines.append(
                "A member with several limited roles gets the most generous one; personal limits still win."
            )
        else:
            lines.append("It applies to members without a personal or role limit.")
        await self._reply(interaction, "\n".join(lines))

    @quota.command(name="clear", description="Remove a limit so the next one down applies again")
    @app_commands.describe(
        user="Remove this member's personal limit",
        role="Remove this role's limit",
    )
    async def quota_clear(
        self,
        interaction: discord.Interaction,
        user: discord.Member | None = None,
        role: discord.Role | None = None,
    ) -> None:
        assert interaction.guild is not None
        target = quota_target(user, role)
        bot = kling_bot(interaction)
        if not await bot.store.clear_quota_limit(interaction.guild.id, target.scope, target.target_id):
            raise UserFacingError(
                f"{capitalised(target.limit_name())} isn't set, so there is nothing to remove. "
                "/kling-admin quota list shows the limits that are set."
            )
        await self._audit(interaction, "quota cleared", target.limit_name())
        after = {
            "user": "their role limits or the server default apply again",
            "role": "its members fall back to their other roles' limits or the server default",
            "guild": "members without a personal or role limit now have no limit",
        }[target.scope]
        await self._reply(interaction, f"✅ Removed {target.limit_name()}; {after}.")

    @quota.command(name="list", description="Every limit set on this server")
    async def quota_list(self, interaction: discord.Interaction) -> None:
        assert interaction.guild is not None
        limits = await kling_bot(interaction).store.quota_limits(interaction.guild.id)
        if not limits:
            await self._reply(
                interaction,
                "No limits are set: members can make as many videos as they like. "
                "Set a server default with /kling-admin quota set.",
            )
            return
        order = {"guild": 0, "role": 1, "user": 2}
        lines = []
        for item in sorted(limits, key=lambda q: (order.get(q.scope, 3), q.target_id)):
            who = {
                "guild": "Server default",
                "role": f"Role <@&{item.target_id}>",
                "user": f"<@{item.target_id}>",
            }
            lines.append(
                f"• {who.get(item.scope, item.scope)}: {amount_text(item.credits, Period(item.period))}"
            )
        if not any(q.scope == "guild" for q in limits):
            lines.append("• Server default: none (unlimited)")
        title = (
            "**Credit limits** (a personal limit beats roles; the most generous role wins; else the default)"
        )
        text, file = list_or_file(title, lines, "limits.txt")
        await self._reply(interaction, text, file)

    @quota.command(name="reset", description="Give a member back the credits they spent this period")
    @app_commands.describe(user="The member whose spent credits come back")
    async def quota_reset(self, interaction: discord.Interaction, user: discord.Member) -> None:
        assert interaction.guild is not None
        if user.bot:
            raise UserFacingError(f"{user.mention} is a bot and doesn't make videos; pick a member.")
        bot = kling_bot(interaction)
        guild_id = interaction.guild.id
        applied = applicable_limit(await bot.store.quota_limits(guild_id), user.id, role_ids_of(user))
        now = bot.engine.clock()
        window_start, reset_at = period_window(applied.period, now)
        spent = await bot.store.spent_credits(guild_id, user.id, window_start)
        when = PERIOD_NOW[applied.period]
        if spent == 0:
            await self._reply(
                interaction, f"{user.mention} hasn't spent any credits {when}; nothing to give back."
            )
            return
        await bot.store.reset_quota(guild_id, user.id, interaction.user.id, now)
        await self._audit(interaction, "quota reset", f"{user.mention}: {credits_text(spent)} given back")
        if applied.credits is None:
            after = "They have no limit, so this only clears the count."
        else:
            after = f"They have {credits_text(applied.credits)} to spend until <t:{int(reset_at)}:R>."
        await self._reply(
            interaction, f"✅ Gave {user.mention} back the {credits_text(spent)} they spent {when}. {after}"
        )

    # ---- channels ----------------------------------------------------------------------------

    @channels.command(
        name="allow", description="Allow videos in a channel (once any is allowed, only those are)"
    )
    @app_commands.describe(channel="A channel where members may make videos")
    async def channels_allow(self, interaction: discord.Interaction, channel: ChannelOption) -> None:
        assert interaction.guild is not None
        bot = kling_bot(interaction)
        before = await bot.store.get_guild_settings(interaction.guild.id)
        if not await bot.store.allow_channel(interaction.guild.id, channel.id):
            await self._reply(interaction, f"<#{channel.id}> is already allowed.")
            return
        await self._audit(interaction, "channel allowed", f"<#{channel.id}>")
        if not before.allowed_channels:
            text = (
                f"✅ Videos can now be made only in <#{channel.id}> (until now every channel was allowed). "
                "Allow more with /kling-admin channels allow."
            )
        else:
            text = f"✅ Allowed <#{channel.id}>; {len(before.allowed_channels) + 1} channels are allowed now."
        await self._reply(interaction, text)

    @channels.command(name="deny", description="Take a channel off the allowed list")
    @app_commands.describe(channel="A channel currently on the allowed list")
    async def channels_deny(self, interaction: discord.Interaction, channel: ChannelOption) -> None:
        assert interaction.guild is not None
        bot = kling_bot(interaction)
        if not await bot.store.deny_channel(interaction.guild.id, channel.id):
            settings = await bot.store.get_guild_settings(interaction.guild.id)
            if not settings.allowed_channels:
                raise UserFacingError(
                    f"<#{channel.id}> isn't on the allowed list: the list is empty, so every channel is "
                    "allowed. "
                    "To keep videos out of it, allow the channels where they may be made instead."
                )
            raise UserFacingError(
                f"<#{channel.id}> isn't on the allowed list, so videos already can't be made there. "
                "/kling-admin channels list shows the allowed channels."
            )
        await self._audit(interaction, "channel denied", f"<#{channel.id}>")
        settings = await bot.store.get_guild_settings(interaction.guild.id)
        if settings.allowed_channels:
            remaining = len(settings.allowed_channels)
            text = f"✅ <#{channel.id}> is off the allowed list; {remaining} channels remain."
        else:
            text = (
                f"✅ <#{channel.id}> was the last channel on the allowed list. The list is empty now, "
                "so videos can be made in every channel again."
            )
        await self._reply(interaction, text)

    @channels.command(name="list", description="Channels where videos may be made")
    async def channels_list(self, interaction: discord.Interaction) -> None:
        assert interaction.guild is not None
        settings = await kling_bot(interaction).store.get_guild_settings(interaction.guild.id)
        if not settings.allowed_channels:
            await self._reply(
                interaction,
                "Every channel is allowed (the allowed list is empty). "
                "/kling-admin channels allow restricts videos to the channels you add.",
            )
            return
        lines = [f"• <#{channel_id}>" for channel_id in sorted(settings.allowed_channels)]
        text, file = list_or_file("**Videos can be made only in:**", lines, "channels.txt")
        await self._reply(interaction, text, file)

    # ---- blocklist ---------------------------------------------------------------------------

    @staticmethod
    def _term(raw: str) -> str:
        term = normalise_term(raw)
        if not term:
            raise UserFacingError("The term is empty; give a word or phrase.")
        if len(term) > MAX_TERM_LENGTH:
            raise UserFacingError(
                f"Keep a term to {MAX_TERM_LENGTH} characters or fewer; add phrases separately."
            )
        return term

    @blocklist.command(name="add", description="Refuse prompts that contain a word or phrase")
    @app_commands.describe(term="Matched as whole words, ignoring case")
    async def blocklist_add(self, interaction: discord.Interaction, term: str) -> None:
        assert interaction.guild is not None
        cleaned = self._term(term)
        if not await kling_bot(interaction).store.add_blocked_term(interaction.guild.id, cleaned):
            await self._reply(interaction, f"`{cleaned}` is already on the blocklist.")
            return
        await self._audit(interaction, "blocklist add", f"||{cleaned}||")
        await self._reply(
            interaction,
            f"✅ Added `{cleaned}`. Prompts and negative prompts containing it as whole words (any case) "
            "are refused.",
        )

    @blocklist.command(name="remove", description="Take a word or phrase off the blocklist")
    @app_commands.describe(term="A term on the blocklist")
    async def blocklist_remove(self, interaction: discord.Interaction, term: str) -> None:
        assert interaction.guild is not None
        cleaned = self._term(term)
        if not await kling_bot(interaction).store.remove_blocked_term(interaction.guild.id, cleaned):
            raise UserFacingError(
                f"`{cleaned}` isn't on the blocklist; /kling-admin blocklist list shows what is."
            )
        await self._audit(interaction, "blocklist remove", f"||{cleaned}||")
        await self._reply(interaction, f"✅ Removed `{cleaned}` from the blocklist.")

    @blocklist_remove.autocomplete("term")
    async def blocklist_term_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        # Autocomplete skips interaction_check; the list is for moderators' eyes only.
        if interaction.guild_id is None or not await is_moderator(interaction):
            return []
        settings = await kling_bot(interaction).store.get_guild_settings(interaction.guild_id)
        needle = normalise_term(current)
        return [
            app_commands.Choice(name=term[:100], value=term) for term in settings.blocklist if needle in term
        ][:25]

    @blocklist.command(name="list", description="The words and phrases prompts may not contain")
    async def blocklist_list(self, interaction: discord.Interaction) -> None:
        assert interaction.guild is not None
        settings = await kling_bot(interaction).store.get_guild_settings(interaction.guild.id)
        if not settings.blocklist:
            await self._reply(
                interaction, "The blocklist is empty. /kling-admin blocklist add refuses prompts with a term."
            )
            return
        lines = [f"• `{term}`" for term in settings.blocklist]
        text, file = list_or_file(
            f"**Blocklist** ({len(lines)} terms, whole words, any case)", lines, "blocklist.txt"
        )
        await self._reply(interaction, text, file)

    # ---- pause -------------------------------------------------------------------------------

    @app_commands.command(
        name="pause", description="Stop new videos server-wide (videos in progress still arrive)"
    )
    @app_commands.describe(reason="Shown to members who try to make a video")
    async def pause(
        self, interaction: discord.Interaction, reason: app_commands.Range[str, 1, 200] | None = None
    ) -> None:
        assert interaction.guild is not None
        bot = kling_bot(interaction)
        cleaned = " ".join(reason.split()) if reason else None
        before = await bot.store.get_guild_settings(interaction.guild.id)
        await bot.store.set_paused(interaction.guild.id, True, cleaned or None, bot.engine.clock())
        await self._audit(interaction, "paused", cleaned or "no reason given")
        shown = f" Members see: “{cleaned}”." if cleaned else ""
        if before.paused:
            text = f"Video generation was already paused; the reason is updated.{shown}"
        else:
            text = (
                "⏸️ Video generation is paused on this server: new videos are refused, videos in progress "
                f"still arrive.{shown} /kling-admin resume turns it back on."
            )
        await self._reply(interaction, text)

    @app_commands.command(name="resume", description="Allow new videos again after a pause")
    async def resume(self, interaction: discord.Interaction) -> None:
        assert interaction.guild is not None
        bot = kling_bot(interaction)
        before = await bot.store.get_guild_settings(interaction.guild.id)
        if not before.paused:
            await self._reply(interaction, "Video generation isn't paused; nothing to resume.")
            return
        await bot.store.set_paused(interaction.guild.id, False, None, bot.engine.clock())
        await self._audit(interaction, "resumed", "new videos allowed again")
        await self._reply(interaction, "▶️ Video generation is back on: members can make videos again.")

    # ---- usage -------------------------------------------------------------------------------

    @app_commands.command(name="usage", description="Credits and jobs per member and kind, with a CSV")
    @app_commands.describe(period="Which period (default: this month)", user="Only this member")
    @app_commands.choices(period=USAGE_PERIOD_CHOICES)
    async def usage(
        self,
        interaction: discord.Interaction,
        period: app_commands.Choice[str] | None = None,
        user: discord.Member | discord.User | None = None,
    ) -> None:
        assert interaction.guild is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        bot = kling_bot(interaction)
        chosen = period.value if period is not None else "month"
        now = bot.engine.clock()
        since = 0.0 if chosen == "all" else period_window(Period(chosen), now)[0]
        rows = await bot.store.usage(interaction.guild.id, since, user.id if user is not None else None)
        names: dict[int, str] = {}
        for row in rows:
            known: discord.Member | discord.User | None = (
                user
                if user is not None and row.user_id == user.id
                else interaction.guild.get_member(row.user_id) or bot.get_user(row.user_id)
            )
            if known is not None:
                names[row.user_id] = known.display_name
        day = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")
        filename = f"usage-{chosen}-{day}.csv"
        scope = f" of {user.mention}" if user is not None else ""
        when = "all time" if chosen == "all" else f"{PERIOD_NOW[Period(chosen)]} (since <t:{int(since)}:f>)"
        heading = f"**Usage{scope}, {when}**"
        await interaction.followup.send(
            usage_summary(rows, heading, filename),
            file=discord.File(io.BytesIO(usage_csv(rows, names)), filename=filename),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    # ---- settings ----------------------------------------------------------------------------

    @app_commands.command(
        name="log-channel", description="Where the audit log goes (leave out to turn it off)"
    )
    @app_commands.describe(channel="A channel for one line per job and per admin change")
    async def log_channel(
        self, interaction: discord.Interaction, channel: ChannelOption | None = None
    ) -> None:
        assert interaction.guild is not None
        bot = kling_bot(interaction)
        before = await bot.store.get_guild_settings(interaction.guild.id)
        new_id = channel.id if channel is not None else None
        if before.log_channel_id == new_id:
            text = (
                f"The audit log already goes to <#{new_id}>." if new_id else "The audit log is already off."
            )
            await self._reply(interaction, text)
            return
        if channel is not None:
            self._check_bot_can_post(interaction, channel)
        await bot.store.set_log_channel(interaction.guild.id, new_id, bot.engine.clock())
        if new_id is None:
            # With no log channel this line is kept in the store only.
            await self._audit(interaction, "log channel", "audit log turned off")
            await self._reply(interaction, "✅ The audit log is off. Give a channel to turn it back on.")
            return
        await self._audit(interaction, "log channel", f"audit log now goes to <#{new_id}>")
        await self._reply(
            interaction,
            f"✅ The audit log goes to <#{new_id}>: one line per job submitted, finished, failed or "
            "refunded, and per admin change.",
        )

    @staticmethod
    def _check_bot_can_post(interaction: discord.Interaction, channel: AnyChannel) -> None:
        """Refuse a log channel the bot can see it cannot post in; unknown permissions are not refused."""
        guild = interaction.guild
        resolved = channel.resolve()
        if guild is None or resolved is None or guild.me is None:
            return
        permissions = resolved.permissions_for(guild.me)
        if not (permissions.view_channel and permissions.send_messages):
            raise UserFacingError(
                f"I can't post in <#{channel.id}>. Give me View Channel and Send Messages there, or pick "
                "another channel."
            )

    @app_commands.command(
        name="mod-role", description="Members with this role are moderators too (leave out to clear)"
    )
    @app_commands.describe(role="The moderator role (Manage Server always counts)")
    async def mod_role(self, interaction: discord.Interaction, role: discord.Role | None = None) -> None:
        assert interaction.guild is not None
        if role is not None and role.is_default():
            raise UserFacingError("That would make everyone a moderator; pick a specific role.")
        bot = kling_bot(interaction)
        await bot.store.set_mod_role(interaction.guild.id, role.id if role else None, bot.engine.clock())
        if role is None:
            await self._audit(interaction, "mod role", "cleared: only Manage Server counts")
            await self._reply(
                interaction,
                "✅ No moderator role any more: only members with Manage Server can use /kling-admin.",
            )
            return
        await self._audit(interaction, "mod role", f"{role.mention} members are moderators")
        await self._reply(
            interaction,
            f"✅ Members with {role.mention} are moderators now, besides those with Manage Server. "
            "Discord still hides /kling-admin from them until a server admin allows the role under "
            "Server Settings → Integrations; the command works for them either way.",
        )


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(AdminCog(bot))
