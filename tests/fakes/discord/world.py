"""State of the fake Discord (users, guilds, channels, messages, files, commands, interactions), the
helpers tests use to set it up, and the payloads discord.py parses. No I/O besides spooled files."""

from __future__ import annotations

import mimetypes
import secrets
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cdn import UrlSigner, cdn_paths
from .limits import check_message
from .models import (
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    ATTACH_FILES,
    BOT_DEFAULT,
    DEFAULT_UPLOAD_LIMIT,
    DM,
    EMBED_LINKS,
    EPHEMERAL,
    EVERYONE_DEFAULT,
    GUILD_TEXT,
    ROLE_MENTION,
    SEND_MESSAGES,
    USER_MENTION,
    ApiError,
    Clock,
    FakeAttachment,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    InteractionRecord,
    SnowflakeMinter,
    UploadedFile,
    iso,
    snowflake_time,
)

if TYPE_CHECKING:
    from .seed import DefaultWorld


def guess_content_type(filename: str, sent: str | None = None) -> str | None:
    """Discord derives content_type from the file itself; the name is the fake's best stand-in
    (discord.py always sends application/octet-stream)."""
    guessed, _ = mimetypes.guess_type(filename)
    if guessed:
        return guessed
    if sent and sent != "application/octet-stream":
        return sent
    return None


class World:
    def __init__(
        self,
        *,
        bot_token: str,
        app_id: int | None,
        bot_username: str,
        cdn_ttl: float,
        keep_bytes_limit: int,
    ) -> None:
        self.clock = Clock()
        self.ids = SnowflakeMinter()
        self.bot_token = bot_token
        self.app_id = app_id if app_id is not None else self.ids.mint()
        self.keep_bytes_limit = keep_bytes_limit
        self.signer = UrlSigner(secrets.token_bytes(32), self.clock, cdn_ttl)
        self.base_url = ""  # set once the server listens
        self.spool_dir = Path(tempfile.mkdtemp(prefix="fake-discord-"))
        self._spool_cleanup = weakref.finalize(self, shutil.rmtree, self.spool_dir, True)

        self.users: dict[int, FakeUser] = {}
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, FakeChannel] = {}
        self.messages: dict[int, FakeMessage] = {}
        self.attachments: dict[int, FakeAttachment] = {}
        self.dm_channels: dict[int, int] = {}  # user id -> DM channel id
        self.interactions: dict[int, InteractionRecord] = {}
        self.tokens: dict[str, int] = {}  # interaction token -> interaction id
        # Sharding: what GET /gateway/bot recommends, and how many guilds one session may hold before
        # IDENTIFY is refused with 4011 (Discord: 2,500).
        self.recommended_shards = 1
        self.max_guilds_per_shard = 2500
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}

        # Used by the scenario helpers when a test does not name a guild/channel/user.
        self.default_guild_id: int | None = None
        self.default_channel_id: int | None = None
        self.default_user_id: int | None = None
        self.seeded: DefaultWorld | None = None

        self.bot_user = FakeUser(id=self.app_id, username=bot_username, bot=True, discriminator="0001")
        self.users[self.bot_user.id] = self.bot_user
        self.app_owner = self.add_user("app-owner")

    # ---- hooks ---------------------------------------------------------------------------------

    def _world_event(self, event: str, data: dict[str, Any]) -> None:
        """Called after a mutation a connected client should hear about; the server dispatches it."""

    def _changed(self) -> None:
        """Called after any mutation; the server wakes its waiters."""

    # ---- set-up helpers ------------------------------------------------------------------------

    @property
    def world(self) -> DefaultWorld:
        """Ids of the default world (`seed_default_world`)."""
        if self.seeded is None:
            raise RuntimeError("no default world: call seed_default_world(fake) first")
        return self.seeded

    @property
    def bot_user_id(self) -> int:
        return self.bot_user.id

    def add_user(
        self,
        username: str,
        *,
        user_id: int | None = None,
        global_name: str | None = None,
        bot: bool = False,
        dms_open: bool = True,
    ) -> FakeUser:
        user = FakeUser(
            id=user_id if user_id is not None else self.ids.mint(),
            username=username,
            global_name=global_name,
            bot=bot,
            dms_open=dms_open,
        )
        self.users[user.id] = user
        self._changed()
        return user

    def add_guild(
        self,
        name: str,
        *,
        owner_id: int | None = None,
        premium_tier: int = 0,
        guild_id: int | None = None,
        everyone_permissions: int = EVERYONE_DEFAULT,
        bot_permissions: int = BOT_DEFAULT,
    ) -> FakeGuild:
        gid = guild_id if guild_id is not None else self.ids.mint()
        owner = owner_id if owner_id is not None else self.app_owner.id
        guild = FakeGuild(id=gid, name=name, owner_id=owner, premium_tier=premium_tier)
        guild.roles[gid] = FakeRole(id=gid, guild_id=gid, name="@everyone", permissions=everyone_permissions)
        self.guilds[gid] = guild
        bot_role = self.add_role(gid, self.bot_user.username, bot_permissions, managed=True)
        guild.members[self.bot_user.id] = FakeMember(self.bot_user.id, gid, [bot_role.id])
        if owner not in guild.members:
            guild.members[owner] = FakeMember(owner, gid)
        if self.default_guild_id is None:
            self.default_guild_id = gid
        self._changed()
        return guild

    def guild_id_on_shard(self, shard_id: int, shard_count: int) -> int:
        """A fresh guild id that Discord's formula, (guild_id >> 22) % shard_count, puts on `shard_id`."""
        minted = self.ids.mint()
        ms = minted >> 22
        ms += (shard_id - ms) % shard_count
        guild_id = (ms << 22) | (minted & ((1 << 22) - 1))
        self.ids._last = max(self.ids._last, guild_id)  # later ids stay strictly increasing
        return guild_id

    def add_role(
        self,
        guild_id: int,
        name: str,
        permissions: int = 0,
        *,
        managed: bool = False,
        mentionable: bool = False,
        color: int = 0,
    ) -> FakeRole:
        guild = self.guild(guild_id)
        role = FakeRole(
            id=self.ids.mint(),
            guild_id=guild_id,
            name=name,
            permissions=permissions,
            position=len(guild.roles),
            managed=managed,
            mentionable=mentionable,
            color=color,
        )
        guild.roles[role.id] = role
        self._world_event("GUILD_ROLE_CREATE", {"guild_id": str(guild_id), "role": role.payload()})
        self._changed()
        return role

    def add_channel(
        self,
        guild_id: int,
        name: str,
        *,
        type: int = GUILD_TEXT,
        parent_id: int | None = None,
        topic: str | None = None,
        bot_can_send: bool = True,
    ) -> FakeChannel:
        guild = self.guild(guild_id)
        channel = FakeChannel(
            id=self.ids.mint(),
            type=type,
            name=name,
            guild_id=guild_id,
            position=len(guild.channel_ids),
            parent_id=parent_id,
            topic=topic,
            bot_can_send=bot_can_send,
        )
        self.channels[channel.id] = channel
        guild.channel_ids.append(channel.id)
        if self.default_channel_id is None and type == GUILD_TEXT:
            self.default_channel_id = channel.id
        self._world_event("CHANNEL_CREATE", self.channel_payload(channel))
        self._changed()
        return channel

    def add_member(
        self,
        guild_id: int,
        user_id: int | None = None,
        *,
        username: str | None = None,
        roles: list[int] | tuple[int, ...] = (),
        nick: str | None = None,
        dms_open: bool = True,
    ) -> FakeMember:
        """Add a member, creating the user when `user_id` is not given (or unknown)."""
        if user_id is None or user_id not in self.users:
            user = self.add_user(username or f"user{len(self.users)}", user_id=user_id, dms_open=dms_open)
            user_id = user.id
        guild = self.guild(guild_id)
        member = FakeMember(user_id, guild_id, list(roles), nick, self.clock.now())
        guild.members[user_id] = member
        if self.default_user_id is None and user_id != guild.owner_id and user_id != self.bot_user.id:
            self.default_user_id = user_id
        self._world_event(
            "GUILD_MEMBER_ADD", {"guild_id": str(guild_id), **self.member_payload(guild, user_id)}
        )
        self._changed()
        return member

    def add_member_roles(self, guild_id: int, user_id: int, *role_ids: int) -> None:
        member = self.guild(guild_id).members[user_id]
        member.role_ids.extend(r for r in role_ids if r not in member.role_ids)
        self._changed()

    def delete_channel(self, channel_id: int) -> None:
        channel = self.channels[channel_id]
        channel.deleted = True
        self._world_event("CHANNEL_DELETE", self.channel_payload(channel))
        self._changed()

    def set_bot_can_send(self, channel_id: int, allowed: bool) -> None:
        channel = self.channels[channel_id]
        channel.bot_can_send = allowed
        self._world_event("CHANNEL_UPDATE", self.channel_payload(channel))
        self._changed()

    def set_dms_open(self, user_id: int, open_: bool) -> None:
        self.users[user_id].dms_open = open_
        self._changed()

    def set_premium_tier(self, guild_id: int, tier: int) -> None:
        guild = self.guild(guild_id)
        guild.premium_tier = tier
        self._world_event("GUILD_UPDATE", self.guild_payload(guild, full=False))
        self._changed()

    def add_attachment(
        self,
        filename: str,
        data: bytes,
        content_type: str | None = None,
        *,
        width: int | None = None,
        height: int | None = None,
    ) -> dict[str, Any]:
        """Store a file the way a slash-command attachment option is stored (ephemeral, signed URL)
        and return its resolved-attachment payload."""
        att = self.store_bytes(filename, data, content_type, scope_id=self.app_id, ephemeral=True)
        att.width, att.height = width, height
        return self.attachment_payload(att)

    def store_bytes(
        self, filename: str, data: bytes, content_type: str | None, *, scope_id: int, ephemeral: bool
    ) -> FakeAttachment:
        path = self.spool_dir / f"seed-{secrets.token_hex(8)}"
        path.write_bytes(data)
        att = FakeAttachment.from_bytes(self.ids.mint(), filename, data, content_type, path)
        att.scope_id, att.ephemeral = scope_id, ephemeral
        if len(data) > self.keep_bytes_limit:
            att.data = None
        self.attachments[att.id] = att
        return att

    def add_message(
        self,
        channel_id: int,
        content: str = "",
        *,
        author_id: int | None = None,
        components: list[dict[str, Any]] | None = None,
        embeds: list[dict[str, Any]] | None = None,
    ) -> FakeMessage:
        """Seed a message, e.g. one an earlier bot process posted (author defaults to the bot)."""
        channel = self.channels[channel_id]
        msg = FakeMessage(
            id=self.ids.mint(),
            channel_id=channel_id,
            guild_id=channel.guild_id,
            author_id=author_id if author_id is not None else self.bot_user.id,
            content=content,
            components=components or [],
            embeds=embeds or [],
            posted_by="seed",
            created_at=self.clock.now(),
        )
        self._store_message(msg)
        return msg

    # ---- lookups -------------------------------------------------------------------------------

    def guild(self, guild_id: int) -> FakeGuild:
        try:
            return self.guilds[guild_id]
        except KeyError:
            raise KeyError(f"no guild {guild_id} in the fake") from None

    def messages_in(
        self, channel_id: int, *, include_ephemeral: bool = True, include_deleted: bool = False
    ) -> list[FakeMessage]:
        """Messages of a channel, oldest first."""
        return [
            m
            for m in self.messages.values()
            if m.channel_id == channel_id
            and (include_ephemeral or not m.ephemeral)
            and (include_deleted or not m.deleted)
        ]

    def dm_channel_of(self, user_id: int) -> FakeChannel | None:
        cid = self.dm_channels.get(user_id)
        return self.channels[cid] if cid is not None else None

    def get_or_create_dm(self, user_id: int) -> FakeChannel:
        existing = self.dm_channel_of(user_id)
        if existing is not None:
            return existing
        channel = FakeChannel(id=self.ids.mint(), type=DM, recipient_id=user_id)
        self.channels[channel.id] = channel
        self.dm_channels[user_id] = channel.id
        self._changed()
        return channel

    def upload_limit(self, channel: FakeChannel) -> int:
        if channel.guild_id is None:
            return DEFAULT_UPLOAD_LIMIT
        return self.guild(channel.guild_id).upload_limit

    def member_permissions(self, guild: FakeGuild, user_id: int) -> int:
        if user_id == guild.owner_id:
            return ALL_PERMISSIONS
        perms = guild.everyone_role.permissions
        member = guild.members.get(user_id)
        if member is not None:
            for rid in member.role_ids:
                role = guild.roles.get(rid)
                if role is not None:
                    perms |= role.permissions
        return ALL_PERMISSIONS if perms & ADMINISTRATOR else perms

    def channel_permissions(self, channel: FakeChannel, user_id: int) -> int:
        if channel.guild_id is None:
            return ALL_PERMISSIONS & ~ADMINISTRATOR
        perms = self.member_permissions(self.guild(channel.guild_id), user_id)
        if user_id == self.bot_user.id and not channel.bot_can_send:
            perms &= ~(SEND_MESSAGES | ATTACH_FILES | EMBED_LINKS)
        return perms

    # ---- payloads ------------------------------------------------------------------------------

    def user_payload(self, user_id: int) -> dict[str, Any]:
        user = self.users.get(user_id) or FakeUser(id=user_id, username=f"unknown{user_id}")
        return user.payload()

    def member_payload(
        self, guild: FakeGuild, user_id: int, *, with_user: bool = True, with_permissions: bool = False
    ) -> dict[str, Any]:
        member = guild.members.get(user_id) or FakeMember(user_id, guild.id)
        out: dict[str, Any] = {
            "roles": [str(r) for r in member.role_ids],
            "nick": member.nick,
            "avatar": None,
            "banner": None,
            "joined_at": iso(member.joined_at),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if with_user:
            out["user"] = self.user_payload(user_id)
        if with_permissions:
            out["permissions"] = str(self.member_permissions(guild, user_id))
        return out

    def channel_payload(self, channel: FakeChannel) -> dict[str, Any]:
        if channel.is_dm:
            recipients = [self.user_payload(channel.recipient_id)] if channel.recipient_id else []
            return {
                "id": str(channel.id),
                "type": DM,
                "last_message_id": str(channel.last_message_id) if channel.last_message_id else None,
                "recipients": recipients,
                "flags": 0,
            }
        return {
            "id": str(channel.id),
            "type": channel.type,
            "guild_id": str(channel.guild_id),
            "name": channel.name,
            "position": channel.position,
            "parent_id": str(channel.parent_id) if channel.parent_id else None,
            "topic": channel.topic,
            "nsfw": channel.nsfw,
            "permission_overwrites": self._overwrites(channel),
            "rate_limit_per_user": 0,
            "last_message_id": str(channel.last_message_id) if channel.last_message_id else None,
            "flags": 0,
            "bitrate": 64000,
            "user_limit": 0,
        }

    def _overwrites(self, channel: FakeChannel) -> list[dict[str, Any]]:
        """A member overwrite denying the bot, so discord.py's permissions_for(me) agrees with the 403."""
        if channel.bot_can_send:
            return []
        denied = SEND_MESSAGES | ATTACH_FILES | EMBED_LINKS
        return [{"id": str(self.bot_user.id), "type": 1, "allow": "0", "deny": str(denied)}]

    def guild_payload(self, guild: FakeGuild, *, full: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": str(guild.id),
            "name": guild.name,
            "owner_id": str(guild.owner_id),
            "icon": None,
            "banner": None,
            "splash": None,
            "discovery_splash": None,
            "description": None,
            "features": [],
            "premium_tier": guild.premium_tier,
            "premium_subscription_count": {0: 0, 1: 2, 2: 7, 3: 14}.get(guild.premium_tier, 0),
            "preferred_locale": guild.preferred_locale,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "afk_timeout": 300,
            "afk_channel_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "vanity_url_code": None,
            "application_id": None,
            "max_members": 500000,
            "premium_progress_bar_enabled": False,
            "roles": [r.payload() for r in guild.roles.values()],
            "emojis": [],
            "stickers": [],
        }
        if full:
            channels = [self.channels[c] for c in guild.channel_ids if not self.channels[c].deleted]
            out.update(
                {
                    "joined_at": iso(guild.members[self.bot_user.id].joined_at),
                    "large": False,
                    "unavailable": False,
                    "member_count": len(guild.members),
                    "channels": [self.channel_payload(c) for c in channels],
                    "members": [self.member_payload(guild, uid) for uid in guild.members],
                    "threads": [],
                    "voice_states": [],
                    "presences": [],
                    "stage_instances": [],
                    "guild_scheduled_events": [],
                    "soundboard_sounds": [],
                }
            )
        return out

    def attachment_url(self, att: FakeAttachment) -> str:
        prefix = "ephemeral-attachments" if att.ephemeral else "attachments"
        signed, quoted = cdn_paths(prefix, att.scope_id, att.id, att.filename)
        return f"{self.base_url}{quoted}?{self.signer.query(signed)}"

    def attachment_payload(self, att: FakeAttachment) -> dict[str, Any]:
        url = self.attachment_url(att)  # signed now: an API payload always carries a valid URL
        out: dict[str, Any] = {
            "id": str(att.id),
            "filename": att.filename,
            "size": att.size,
            "url": url,
            "proxy_url": url,
        }
        if att.content_type:
            out["content_type"] = att.content_type
        if att.description:
            out["description"] = att.description
        if att.width is not None and att.height is not None:
            out["width"], out["height"] = att.width, att.height
        if att.ephemeral:
            out["ephemeral"] = True
        return out

    def message_payload(self, msg: FakeMessage, *, gateway: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": str(msg.id),
            "channel_id": str(msg.channel_id),
            "author": self.user_payload(msg.author_id),
            "content": msg.content,
            "timestamp": iso(snowflake_time(msg.id)),
            "edited_timestamp": iso(msg.edited_at) if msg.edited_at is not None else None,
            "tts": msg.tts,
            "mention_everyone": msg.mention_everyone,
            "mentions": [self.user_payload(u) for u in msg.mentions],
            "mention_roles": [str(r) for r in msg.mention_roles],
            "attachments": [self.attachment_payload(a) for a in msg.attachments],
            "embeds": msg.embeds,
            "components": msg.components,
            "pinned": False,
            "type": msg.type,
            "flags": msg.flags,
        }
        if msg.nonce is not None:
            out["nonce"] = msg.nonce
        if msg.webhook_id is not None:
            out["webhook_id"] = str(msg.webhook_id)
            out["application_id"] = str(self.app_id)
        if msg.message_reference is not None:
            out["message_reference"] = msg.message_reference
        record = self.interactions.get(msg.interaction_id) if msg.interaction_id else None
        if record is not None:
            meta: dict[str, Any] = {
                "id": str(record.id),
                "type": record.type,
                "user": self.user_payload(record.user_id),
                "authorizing_integration_owners": record.payload.get("authorizing_integration_owners", {}),
            }
            if record.original_message_id is not None and record.original_message_id != msg.id:
                meta["original_response_message_id"] = str(record.original_message_id)
            out["interaction_metadata"] = meta
        if gateway and msg.guild_id is not None:
            out["guild_id"] = str(msg.guild_id)
            guild = self.guilds.get(msg.guild_id)
            if guild is not None and msg.author_id in guild.members:
                out["member"] = self.member_payload(guild, msg.author_id, with_user=False)
        return out

    # ---- messages ------------------------------------------------------------------------------

    def _store_message(self, msg: FakeMessage) -> None:
        self.messages[msg.id] = msg
        channel = self.channels.get(msg.channel_id)
        if channel is not None:
            channel.last_message_id = msg.id
        self._changed()

    def _apply_mentions(self, msg: FakeMessage) -> None:
        """Who a message pings, following allowed_mentions (absent = everything allowed). The author's
        Mention Everyone permission is deliberately not applied: tests see what the bot *asked* for."""
        allowed = msg.allowed_mentions
        parse: list[str] = (
            ["users", "roles", "everyone"] if allowed is None else list(allowed.get("parse") or [])
        )
        users_ok = {int(u) for u in (allowed or {}).get("users") or []}
        roles_ok = {int(r) for r in (allowed or {}).get("roles") or []}
        msg.mentions = [
            int(u)
            for u in dict.fromkeys(USER_MENTION.findall(msg.content))
            if "users" in parse or int(u) in users_ok
        ]
        msg.mention_roles = [
            int(r)
            for r in dict.fromkeys(ROLE_MENTION.findall(msg.content))
            if "roles" in parse or int(r) in roles_ok
        ]
        msg.mention_everyone = "everyone" in parse and ("@everyone" in msg.content or "@here" in msg.content)

    def _attachments_from(
        self, payload: dict[str, Any], files: list[UploadedFile], scope_id: int, keep: list[FakeAttachment]
    ) -> list[FakeAttachment]:
        """Resolve `attachments` entries: small ints name `files[n]` parts, snowflakes keep existing ones."""
        by_index: dict[int, UploadedFile] = {}
        for f in files:
            if f.field.startswith("files[") and f.field.endswith("]") and f.field[6:-1].isdigit():
                by_index[int(f.field[6:-1])] = f
            else:
                by_index[len(by_index) + 1000] = f  # legacy field names: still attached
        entries = payload.get("attachments")
        out: list[FakeAttachment] = []
        used: set[int] = set()
        if isinstance(entries, list):
            existing = {a.id: a for a in keep}
            for entry in entries:
                if not isinstance(entry, dict) or "id" not in entry:
                    raise ApiError(400, 50035, "Invalid Form Body")
                ref = int(entry["id"])
                if ref in by_index:
                    used.add(ref)
                    out.append(self._adopt(by_index[ref], entry, scope_id))
                elif ref in existing:
                    out.append(existing[ref])
                else:
                    raise ApiError(
                        400,
                        50035,
                        "Invalid Form Body",
                        {
                            "attachments": {
                                "_errors": [
                                    {"code": "ATTACHMENT_NOT_FOUND", "message": f"Unknown attachment {ref}"}
                                ]
                            }
                        },
                    )
        else:
            out.extend(keep)
        out.extend(self._adopt(f, {}, scope_id) for i, f in sorted(by_index.items()) if i not in used)
        return out

    def _adopt(self, upload: UploadedFile, entry: dict[str, Any], scope_id: int) -> FakeAttachment:
        if upload.path is None:
            raise ApiError(413, 40005, "Request entity too large")
        filename = str(entry.get("filename") or upload.filename)
        att = FakeAttachment(
            id=self.ids.mint(),
            filename=filename,
            size=upload.size,
            sha256=upload.sha256,
            content_type=guess_content_type(filename, upload.content_type),
            path=upload.path,
            data=upload.data,
            scope_id=scope_id,
            description=entry.get("description"),
        )
        self.attachments[att.id] = att
        return att

    def build_message(
        self,
        channel: FakeChannel,
        author_id: int,
        payload: dict[str, Any],
        files: list[UploadedFile],
        *,
        posted_by: str,
        flags_allowed: int,
        msg_type: int = 0,
        interaction_id: int | None = None,
    ) -> FakeMessage:
        msg = FakeMessage(
            id=self.ids.mint(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author_id=author_id,
            type=msg_type,
            posted_by=posted_by,
            interaction_id=interaction_id,
            webhook_id=self.app_id if posted_by == "interaction" else None,
            created_at=self.clock.now(),
        )
        self.apply_edit(msg, payload, files, flags_allowed=flags_allowed, creating=True)
        return msg

    def apply_edit(
        self,
        msg: FakeMessage,
        payload: dict[str, Any],
        files: list[UploadedFile],
        *,
        flags_allowed: int,
        creating: bool = False,
    ) -> None:
        """Apply a create/edit body to `msg` (validated first, so a rejected edit changes nothing)."""
        check_message(payload)
        content = payload.get("content", msg.content)
        content = "" if content is None else str(content)
        embeds = payload.get("embeds", msg.embeds)
        embeds = [dict(e, type=e.get("type", "rich")) for e in (embeds or [])]
        components = payload.get("components", msg.components) or []
        attachments = self._attachments_from(payload, files, msg.channel_id, msg.attachments)
        if not (
            content
            or embeds
            or attachments
            or components
            or payload.get("sticker_ids")
            or payload.get("poll")
        ):
            raise ApiError(400, 50006, "Cannot send an empty message")
        msg.content, msg.embeds, msg.components, msg.attachments = content, embeds, components, attachments
        if payload.get("flags") is not None:
            requested = int(payload["flags"]) & flags_allowed
            # Ephemerality is fixed when a message is created; an edit cannot change it.
            msg.flags = requested if creating else (msg.flags & EPHEMERAL) | (requested & ~EPHEMERAL)
        if "allowed_mentions" in payload:
            msg.allowed_mentions = payload["allowed_mentions"]
        if creating:
            msg.tts = bool(payload.get("tts", False))
            if payload.get("nonce") is not None:
                msg.nonce = str(payload["nonce"])
            msg.message_reference = payload.get("message_reference")
        else:
            msg.edited_at = self.clock.now()
            msg.edit_count += 1
        self._apply_mentions(msg)
