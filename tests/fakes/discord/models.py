"""The fake Discord's world: users, guilds, roles, channels, members, messages, stored files, and the
records tests inspect (REST calls, gateway frames, interactions). Plain data; the server renders payloads."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000
MIB = 1024 * 1024

# Permission bits (developers/topics/permissions.mdx).
CREATE_INSTANT_INVITE = 1 << 0
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
MANAGE_ROLES = 1 << 28
USE_APPLICATION_COMMANDS = 1 << 31
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 53) - 1

EVERYONE_DEFAULT = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | USE_APPLICATION_COMMANDS
    | SEND_MESSAGES_IN_THREADS
)
BOT_DEFAULT = EVERYONE_DEFAULT | MANAGE_MESSAGES

# Channel types.
GUILD_TEXT = 0
DM = 1
GUILD_VOICE = 2
GUILD_CATEGORY = 4

# Message flags.
SUPPRESS_EMBEDS = 1 << 2
EPHEMERAL = 1 << 6
LOADING = 1 << 7
SUPPRESS_NOTIFICATIONS = 1 << 12
IS_COMPONENTS_V2 = 1 << 15

DEFAULT_UPLOAD_LIMIT = 10 * MIB
TIER_UPLOAD_LIMITS = {0: 10 * MIB, 1: 10 * MIB, 2: 50 * MIB, 3: 100 * MIB}

USER_MENTION = re.compile(r"<@!?(\d+)>")
ROLE_MENTION = re.compile(r"<@&(\d+)>")


def upload_limit_for_tier(tier: int) -> int:
    return TIER_UPLOAD_LIMITS.get(tier, DEFAULT_UPLOAD_LIMIT)


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat()


def snowflake_time(snowflake: int) -> float:
    return ((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000.0


class Clock:
    """Real time plus an offset tests can push forward, so expiry is tested without sleeping."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class SnowflakeMinter:
    """Ids from the real clock (discord.py derives created_at/expires_at from them), strictly increasing."""

    def __init__(self) -> None:
        self._last = 0

    def mint(self) -> int:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        candidate = (ms << 22) | (1 << 17)
        self._last = max(candidate, self._last + 1)
        return self._last


class ApiError(Exception):
    """Raised by handlers; becomes Discord's JSON error body with the given status."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            out["errors"] = self.errors
        return out


@dataclass
class FakeUser:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    discriminator: str = "0"
    avatar: str | None = None
    dms_open: bool = True

    def payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": self.discriminator,
            "global_name": self.global_name,
            "avatar": self.avatar,
            "public_flags": 0,
            "flags": 0,
        }
        if self.bot:
            out["bot"] = True
        return out


@dataclass
class FakeRole:
    id: int
    guild_id: int
    name: str
    permissions: int = 0
    position: int = 0
    color: int = 0
    hoist: bool = False
    managed: bool = False
    mentionable: bool = False

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": self.color,
            "colors": {"primary_color": self.color, "secondary_color": None, "tertiary_color": None},
            "hoist": self.hoist,
            "managed": self.managed,
            "mentionable": self.mentionable,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }


@dataclass
class FakeChannel:
    id: int
    type: int
    name: str | None = None
    guild_id: int | None = None
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    nsfw: bool = False
    recipient_id: int | None = None  # DM channels
    bot_can_send: bool = True  # False: posting with the bot token gets 403/50013
    deleted: bool = False
    last_message_id: int | None = None

    @property
    def is_dm(self) -> bool:
        return self.type == DM


@dataclass
class FakeMember:
    user_id: int
    guild_id: int
    role_ids: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: float = field(default_factory=time.time)


@dataclass
class FakeGuild:
    id: int
    name: str
    owner_id: int
    premium_tier: int = 0
    roles: dict[int, FakeRole] = field(default_factory=dict)
    channel_ids: list[int] = field(default_factory=list)
    members: dict[int, FakeMember] = field(default_factory=dict)
    preferred_locale: str = "en-US"

    @property
    def everyone_role(self) -> FakeRole:
        return self.roles[self.id]

    @property
    def upload_limit(self) -> int:
        return upload_limit_for_tier(self.premium_tier)


@dataclass
class UploadedFile:
    """One file part of a multipart request: always size and sha256; the bytes when small enough."""

    field: str
    filename: str
    content_type: str
    size: int
    sha256: str
    data: bytes | None = None
    path: Path | None = None  # on disk when it was kept for serving

    def read_bytes(self) -> bytes:
        if self.data is not None:
            return self.data
        if self.path is None:
            raise ValueError(f"{self.filename}: bytes were not kept (over the upload limit?)")
        return self.path.read_bytes()


@dataclass
class FakeAttachment:
    """A file Discord stores and serves from its CDN: a message attachment or a slash-command option."""

    id: int
    filename: str
    size: int
    sha256: str
    content_type: str | None
    path: Path
    data: bytes | None = None
    scope_id: int = 0  # channel id for message attachments, application id for ephemeral ones
    ephemeral: bool = False
    description: str | None = None
    width: int | None = None
    height: int | None = None

    @classmethod
    def from_bytes(
        cls, attachment_id: int, filename: str, data: bytes, content_type: str | None, path: Path
    ) -> FakeAttachment:
        return cls(
            id=attachment_id,
            filename=filename,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            content_type=content_type,
            path=path,
            data=data,
        )

    def read_bytes(self) -> bytes:
        return self.data if self.data is not None else self.path.read_bytes()


@dataclass
class FakeMessage:
    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[FakeAttachment] = field(default_factory=list)
    flags: int = 0
    type: int = 0
    tts: bool = False
    nonce: str | None = None
    posted_by: str = "bot"  # "bot" (bot token), "interaction" (webhook token), "seed" (test set-up)
    interaction_id: int | None = None
    webhook_id: int | None = None
    allowed_mentions: dict[str, Any] | None = None
    mentions: list[int] = field(default_factory=list)
    mention_roles: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    message_reference: dict[str, Any] | None = None
    created_at: float = 0.0  # fake clock
    edited_at: float | None = None
    edit_count: int = 0
    deleted: bool = False

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        return bool(self.flags & LOADING)

    def mentioned_everyone_or_roles(self) -> bool:
        return self.mention_everyone or bool(self.mention_roles)


@dataclass
class Call:
    """One HTTP request the fake received (REST or CDN) and what it answered."""

    seq: int
    method: str
    path: str  # without the /api/v10 prefix for REST calls
    query: dict[str, str]
    auth: str  # "bot" (the right bot token), "invalid" (some other Authorization), "none"
    headers: dict[str, str]
    json: Any = None  # the JSON body, or the decoded payload_json of a multipart body
    form: dict[str, str] = field(default_factory=dict)  # other multipart text fields
    files: list[UploadedFile] = field(default_factory=list)
    status: int = 0
    response: Any = None
    injected: bool = False
    unhandled: bool = False  # no such route in the fake
    at: float = 0.0  # fake clock

    @property
    def payload(self) -> Any:
        return self.json

    @property
    def code(self) -> int | None:
        if isinstance(self.response, dict) and isinstance(self.response.get("code"), int):
            return int(self.response["code"])
        return None


@dataclass
class GatewayFrame:
    direction: str  # "sent" (fake -> client) or "received" (client -> fake)
    op: int | None
    t: str | None
    s: int | None
    d: Any
    compressed: bool = False
    connection: int = 0
    at: float = 0.0


@dataclass
class Injection:
    method: str
    path_regex: re.Pattern[str]
    status: int
    json: Any
    times: int
    headers: dict[str, str]


@dataclass
class InteractionRecord:
    """Server-side state of one interaction: its token, whether and how it was answered, its messages."""

    id: int
    token: str
    type: int  # 2 command, 3 component, 4 autocomplete, 5 modal submit
    application_id: int
    guild_id: int | None
    channel_id: int
    user_id: int
    created_at: float  # fake clock
    attachment_size_limit: int
    payload: dict[str, Any]
    source_message_id: int | None = None  # the message a clicked component sits on
    callback_type: int | None = None
    callback_body: Any = None
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    token_revoked: bool = False

    @property
    def acknowledged(self) -> bool:
        return self.callback_type is not None
