"""Building complete INTERACTION_CREATE payloads (slash commands with subcommands, groups and resolved
options, autocomplete, component clicks, modal submits) and the handle a test awaits on."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .models import (
    DM,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    InteractionRecord,
)

if TYPE_CHECKING:
    from .server import FakeDiscord

APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 2, 3, 4, 5
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = 3, 4, 5, 6, 7, 8, 9, 10, 11


@dataclass(frozen=True)
class Opt:
    """An option value with an explicit type, for commands the bot has not registered."""

    type: int
    value: Any


class InteractionHandle:
    """What a test holds after sending an interaction: its token, the bot's answer and messages."""

    def __init__(self, fake: FakeDiscord, record: InteractionRecord) -> None:
        self._fake = fake
        self.record = record

    def __repr__(self) -> str:
        return (
            f"<InteractionHandle id={self.id} type={self.record.type} answered={self.record.callback_type}>"
        )

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def token(self) -> str:
        return self.record.token

    @property
    def payload(self) -> dict[str, Any]:
        """The INTERACTION_CREATE `d` that was dispatched."""
        return self.record.payload

    @property
    def acknowledged(self) -> bool:
        return self.record.acknowledged

    async def response(self, timeout: float = 5.0) -> dict[str, Any]:
        """The interaction callback body (`{"type": 5, ...}`) once the bot has sent it."""
        await self._fake.wait_for(lambda: self.record.acknowledged, timeout=timeout)
        body = self.record.callback_body
        return body if isinstance(body, dict) else {}

    def original(self) -> FakeMessage | None:
        """The current @original message (None before a message-producing answer or after deletion)."""
        msg = self._fake.messages.get(self.record.original_message_id or 0)
        return None if msg is None or msg.deleted else msg

    @property
    def followups(self) -> list[FakeMessage]:
        """Followup messages that are not the original (see the first-followup-after-defer rule)."""
        return [m for i in self.record.followup_ids if not (m := self._fake.messages[i]).deleted]

    async def wait_original(
        self,
        predicate: Callable[[FakeMessage], bool] | None = None,
        timeout: float = 5.0,
    ) -> FakeMessage:
        def check() -> FakeMessage | None:
            msg = self.original()
            return msg if msg is not None and (predicate is None or predicate(msg)) else None

        return await self._fake.wait_for(check, timeout=timeout)

    async def wait_followup(
        self,
        predicate: Callable[[FakeMessage], bool] | None = None,
        timeout: float = 5.0,
    ) -> FakeMessage:
        def check() -> FakeMessage | None:
            return next((m for m in self.followups if predicate is None or predicate(m)), None)

        return await self._fake.wait_for(check, timeout=timeout)

    def choices(self) -> list[dict[str, Any]]:
        """Autocomplete choices the bot answered with."""
        body = self.record.callback_body
        if not isinstance(body, dict):
            return []
        return list((body.get("data") or {}).get("choices") or [])


# ---- payload building ------------------------------------------------------------------------------


def _where(
    fake: FakeDiscord, user_id: int | None, guild_id: int | None, channel_id: int | None
) -> tuple[FakeGuild | None, FakeChannel, int]:
    if channel_id is None:
        if guild_id is not None:
            g = fake.guild(guild_id)
            channel_id = next(
                (c for c in g.channel_ids if fake.channels[c].type == 0 and not fake.channels[c].deleted),
                None,
            )
        else:
            channel_id = fake.default_channel_id
    if channel_id is None or channel_id not in fake.channels:
        raise ValueError("no channel for the interaction: pass channel_id= or add a text channel first")
    channel = fake.channels[channel_id]
    if guild_id is not None and channel.guild_id != guild_id:
        raise ValueError(f"channel {channel_id} is not in guild {guild_id}")
    guild = fake.guild(channel.guild_id) if channel.guild_id is not None else None
    if user_id is None:
        user_id = channel.recipient_id if channel.type == DM else fake.default_user_id
    if user_id is None or user_id not in fake.users:
        raise ValueError("no user for the interaction: pass user_id= or add a member first")
    if guild is not None and user_id not in guild.members:
        raise ValueError(f"user {user_id} is not a member of guild {guild.id}")
    return guild, channel, user_id


def _find_command(
    fake: FakeDiscord, name: str, guild_id: int | None, ctype: int = 1
) -> dict[str, Any] | None:
    pools = ([fake.guild_commands.get(guild_id, [])] if guild_id is not None else []) + [fake.global_commands]
    for pool in pools:
        for cmd in pool:
            if cmd.get("name") == name and int(cmd.get("type") or 1) == ctype:
                return cmd
    return None


def _leaf_definitions(cmd: dict[str, Any] | None, path: list[str]) -> dict[str, dict[str, Any]] | None:
    if cmd is None:
        return None
    options: list[dict[str, Any]] = cmd.get("options") or []
    for part in path:
        found = next((o for o in options if o.get("name") == part and o.get("type") in (1, 2)), None)
        if found is None:
            raise ValueError(f"/{cmd['name']} has no subcommand or group {part!r}")
        options = found.get("options") or []
    return {o["name"]: o for o in options if o.get("type") not in (SUB_COMMAND, SUB_COMMAND_GROUP)}


def _infer_type(value: Any) -> int:
    if isinstance(value, Opt):
        return value.type
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, float):
        return NUMBER
    if isinstance(value, FakeUser | FakeMember):
        return USER
    if isinstance(value, FakeRole):
        return ROLE
    if isinstance(value, FakeChannel):
        return CHANNEL
    return STRING


def _snowflake_of(value: Any) -> int:
    if isinstance(value, FakeMember):
        return value.user_id
    if isinstance(value, FakeUser | FakeRole | FakeChannel):
        return value.id
    return int(value)


class _Resolver:
    def __init__(self, fake: FakeDiscord, guild: FakeGuild | None, user_id: int) -> None:
        self.fake, self.guild, self.user_id = fake, guild, user_id
        self.resolved: dict[str, dict[str, Any]] = {}

    def _put(self, kind: str, key: int, payload: dict[str, Any]) -> None:
        self.resolved.setdefault(kind, {})[str(key)] = payload

    def option_value(self, otype: int, raw: Any) -> Any:
        value = raw.value if isinstance(raw, Opt) else raw
        if otype in (STRING,):
            return str(value)
        if otype in (INTEGER, NUMBER, BOOLEAN):
            return value
        ref = _snowflake_of(value)
        if otype == MENTIONABLE:
            otype = USER if ref in self.fake.users else ROLE
        if otype == USER:
            if ref not in self.fake.users:
                raise ValueError(f"user option: no user {ref} in the fake")
            self._put("users", ref, self.fake.user_payload(ref))
            if self.guild is not None and ref in self.guild.members:
                self._put(
                    "members",
                    ref,
                    self.fake.member_payload(self.guild, ref, with_user=False, with_permissions=True),
                )
        elif otype == ROLE:
            role = self.guild.roles.get(ref) if self.guild is not None else None
            if role is None:
                raise ValueError(f"role option: no role {ref} in the guild")
            self._put("roles", ref, role.payload())
        elif otype == CHANNEL:
            channel = self.fake.channels.get(ref)
            if channel is None:
                raise ValueError(f"channel option: no channel {ref} in the fake")
            payload = self.fake.channel_payload(channel)
            payload["permissions"] = str(self.fake.channel_permissions(channel, self.user_id))
            self._put("channels", ref, payload)
        elif otype == ATTACHMENT:
            att = self.fake.attachments.get(ref)
            if att is None:
                raise ValueError(
                    f"attachment option: no attachment {ref} (use attachments= or add_attachment)"
                )
            self._put("attachments", ref, self.fake.attachment_payload(att))
        return str(ref)


def _command_data(
    fake: FakeDiscord,
    name: str,
    options: Mapping[str, Any] | None,
    subcommand: str | None,
    attachments: Mapping[str, tuple[str, bytes, str | None]] | None,
    guild: FakeGuild | None,
    user_id: int,
    focused: str | None,
) -> dict[str, Any]:
    cmd = _find_command(fake, name, guild.id if guild else None)
    path = subcommand.split() if subcommand else []
    if len(path) > 2:
        raise ValueError("subcommand is 'sub' or 'group sub'")
    definitions = _leaf_definitions(cmd, path)
    resolver = _Resolver(fake, guild, user_id)
    values: dict[str, Any] = dict(options or {})
    for opt_name, (filename, blob, content_type) in (attachments or {}).items():
        att_payload = fake.add_attachment(filename, blob, content_type)
        values[opt_name] = Opt(ATTACHMENT, int(att_payload["id"]))
    leaf: list[dict[str, Any]] = []
    for opt_name, raw in values.items():
        definition = (definitions or {}).get(opt_name)
        if definitions is not None and definition is None:
            raise ValueError(f"/{name} {subcommand or ''} has no option {opt_name!r}".replace("  ", " "))
        otype = int(definition["type"]) if definition else _infer_type(raw)
        option: dict[str, Any] = {"name": opt_name, "type": otype}
        if opt_name == focused:
            # Autocomplete sends what the user has typed so far, untyped.
            option["value"], option["focused"] = raw.value if isinstance(raw, Opt) else raw, True
        else:
            option["value"] = resolver.option_value(otype, raw)
        leaf.append(option)
    nested = leaf
    for i, part in reversed(list(enumerate(path))):
        kind = SUB_COMMAND if i == len(path) - 1 else SUB_COMMAND_GROUP
        nested = [{"name": part, "type": kind, "options": nested}]
    data: dict[str, Any] = {
        "id": str(cmd["id"]) if cmd else str(fake.ids.mint()),
        "name": name,
        "type": 1,
        "options": nested,
    }
    if cmd is not None and cmd.get("guild_id"):
        data["guild_id"] = str(cmd["guild_id"])
    if resolver.resolved:
        data["resolved"] = resolver.resolved
    return data


async def send_interaction(
    fake: FakeDiscord,
    itype: int,
    data: dict[str, Any],
    *,
    user_id: int | None,
    guild_id: int | None,
    channel_id: int | None,
    attachment_size_limit: int | None = None,
    locale: str = "en-US",
    message: FakeMessage | None = None,
    resolve: Callable[[FakeGuild | None, int], dict[str, Any]] | None = None,
) -> InteractionHandle:
    guild, channel, uid = _where(fake, user_id, guild_id, channel_id)
    if resolve is not None:
        data = resolve(guild, uid)
    limit = attachment_size_limit if attachment_size_limit is not None else fake.upload_limit(channel)
    token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)
    interaction_id = fake.ids.mint()
    payload: dict[str, Any] = {
        "id": str(interaction_id),
        "application_id": str(fake.app_id),
        "type": itype,
        "data": data,
        "token": token,
        "version": 1,
        "channel_id": str(channel.id),
        "channel": fake.channel_payload(channel),
        "app_permissions": str(fake.channel_permissions(channel, fake.bot_user.id)),
        "locale": locale,
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": limit,
    }
    payload["channel"]["permissions"] = str(fake.channel_permissions(channel, uid))
    if guild is not None:
        payload["guild_id"] = str(guild.id)
        payload["guild"] = {"id": str(guild.id), "locale": guild.preferred_locale, "features": []}
        payload["guild_locale"] = guild.preferred_locale
        payload["member"] = fake.member_payload(guild, uid, with_permissions=True)
        payload["authorizing_integration_owners"] = {"0": str(guild.id)}
        payload["context"] = 0
    else:
        payload["user"] = fake.user_payload(uid)
        payload["authorizing_integration_owners"] = {"0": "0", "1": str(uid)}
        payload["context"] = 1
    if message is not None:
        payload["message"] = fake.message_payload(message)
    record = InteractionRecord(
        id=interaction_id,
        token=token,
        type=itype,
        application_id=fake.app_id,
        guild_id=guild.id if guild else None,
        channel_id=channel.id,
        user_id=uid,
        created_at=fake.clock.now(),
        attachment_size_limit=limit,
        payload=payload,
        source_message_id=message.id if message is not None else None,
    )
    fake.interactions[record.id] = record
    fake.tokens[token] = record.id
    delivered = await fake.dispatch("INTERACTION_CREATE", payload)
    if not delivered:
        raise RuntimeError("no bot session on the fake gateway to deliver the interaction to")
    return InteractionHandle(fake, record)


def command_resolver(
    fake: FakeDiscord,
    name: str,
    options: Mapping[str, Any] | None,
    subcommand: str | None,
    attachments: Mapping[str, tuple[str, bytes, str | None]] | None,
    focused: str | None,
) -> Callable[[FakeGuild | None, int], dict[str, Any]]:
    def build(guild: FakeGuild | None, user_id: int) -> dict[str, Any]:
        return _command_data(fake, name, options, subcommand, attachments, guild, user_id, focused)

    return build


def find_component(components: list[dict[str, Any]], custom_id: str) -> dict[str, Any] | None:
    for comp in components:
        if comp.get("custom_id") == custom_id:
            return comp
        for key in ("components", "accessory", "component"):
            inner = comp.get(key)
            children = inner if isinstance(inner, list) else [inner] if isinstance(inner, dict) else []
            found = find_component(children, custom_id)
            if found is not None:
                return found
    return None
