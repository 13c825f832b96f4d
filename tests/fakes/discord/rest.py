"""REST routes of the fake: bot-token routes (Authorization: Bot ...) and the token-in-URL interaction
and webhook routes, with Discord's status codes and JSON error codes."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .cdn import ParsedBody, read_body
from .limits import check_choices, check_modal
from .models import (
    ATTACH_FILES,
    EPHEMERAL,
    IS_COMPONENTS_V2,
    LOADING,
    MANAGE_MESSAGES,
    SEND_MESSAGES,
    SUPPRESS_EMBEDS,
    SUPPRESS_NOTIFICATIONS,
    VIEW_CHANNEL,
    ApiError,
    FakeChannel,
    FakeMessage,
    InteractionRecord,
)

if TYPE_CHECKING:
    from .server import FakeDiscord

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

API_PREFIX = "/api/v10"
NONCE_WINDOW = 300.0  # seconds an enforced nonce deduplicates (Discord: "a few minutes")
BOT_FLAGS = SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | IS_COMPONENTS_V2
INTERACTION_FLAGS = BOT_FLAGS | EPHEMERAL
COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")

# Callback types each interaction type may answer with.
ALLOWED_CALLBACKS = {1: {1}, 2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}


JSON_KEY = web.ResponseKey("fake_json", object)


def json_response(data: Any, status: int = 200) -> web.Response:
    """JSON with Content-Type exactly `application/json`: discord.py compares the header verbatim and
    would hand a `; charset=utf-8` body to its models as a string."""
    resp = web.Response(
        body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"}
    )
    resp[JSON_KEY] = data
    return resp


def no_content() -> web.Response:
    return web.Response(status=204)


def form_error(path: list[str | int], code: str, message: str) -> ApiError:
    errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(path):
        errors = {str(key): errors}
    return ApiError(400, 50035, "Invalid Form Body", errors)


def validate_commands(commands: Any) -> None:
    """The checks Discord applies to a bulk overwrite that a discord.py bot can actually trip."""
    if not isinstance(commands, list):
        raise ApiError(400, 50035, "Invalid Form Body")
    seen: set[tuple[int, str]] = set()
    chat_inputs = 0
    for i, cmd in enumerate(commands):
        if not isinstance(cmd, dict):
            raise form_error([i], "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        ctype = int(cmd.get("type") or 1)
        name = str(cmd.get("name") or "")
        if ctype == 1:
            chat_inputs += 1
            _check_name([i], name)
            _check_description([i], cmd.get("description"))
            _check_options([i], cmd.get("options") or [], depth=0)
        elif not 1 <= len(name) <= 32:
            raise form_error([i, "name"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
        if (ctype, name) in seen:
            raise form_error(
                [i, "name"], "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique"
            )
        seen.add((ctype, name))
    if chat_inputs > 100:
        raise ApiError(400, 30032, "Maximum number of application commands reached (100)")


def _check_name(path: list[str | int], name: str) -> None:
    if not COMMAND_NAME.match(name) or name != name.lower():
        raise form_error([*path, "name"], "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")


def _check_description(path: list[str | int], description: Any) -> None:
    if not isinstance(description, str) or not 1 <= len(description) <= 100:
        raise form_error(
            [*path, "description"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
        )


def _check_options(path: list[str | int], options: list[Any], depth: int) -> None:
    if len(options) > 25:
        raise form_error([*path, "options"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    kinds = {int(o.get("type", 0)) in (1, 2) for o in options}
    if len(kinds) > 1:
        raise form_error(
            [*path, "options"],
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Sub-command and sub-command group option types are mutually exclusive to all other types",
        )
    names: set[str] = set()
    optional_seen = False
    for j, opt in enumerate(options):
        here: list[str | int] = [*path, "options", j]
        otype = int(opt.get("type", 0))
        _check_name(here, str(opt.get("name") or ""))
        _check_description(here, opt.get("description"))
        if opt["name"] in names:
            raise form_error(
                here, "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Option names must be unique"
            )
        names.add(opt["name"])
        if otype == 2:
            if depth > 0 or any(int(o.get("type", 0)) != 1 for o in opt.get("options") or []):
                raise form_error(
                    here, "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "Invalid sub-command group nesting"
                )
            _check_options(here, opt.get("options") or [], depth + 1)
        elif otype == 1:
            if depth > 1:
                raise form_error(
                    here, "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "Invalid sub-command nesting"
                )
            _check_options(here, opt.get("options") or [], 2)
        else:
            required = bool(opt.get("required"))
            if required and optional_seen:
                raise form_error(
                    here,
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
            optional_seen = optional_seen or not required
            choices = opt.get("choices") or []
            if len(choices) > 25:
                raise form_error([*here, "choices"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
            if choices and opt.get("autocomplete"):
                raise form_error(
                    [*here, "autocomplete"],
                    "APPLICATION_COMMAND_OPTION_CHOICES_AUTOCOMPLETE",
                    "Autocomplete cannot be set on options with choices",
                )
            for k, choice in enumerate(choices):
                if not 1 <= len(str(choice.get("name", ""))) <= 100:
                    raise form_error(
                        [*here, "choices", k, "name"],
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 100 in length.",
                    )


class RestApi:
    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake

    def routes(self) -> list[tuple[str, str, Handler]]:
        a = API_PREFIX
        ch = a + r"/channels/{channel_id:\d+}"
        wh = a + r"/webhooks/{app_id:\d+}/{token}"
        return [
            ("GET", a + "/users/@me", self.get_me),
            ("GET", a + r"/users/{user_id:\d+}", self.get_user),
            ("POST", a + "/users/@me/channels", self.create_dm),
            ("GET", a + "/oauth2/applications/@me", self.get_application),
            ("GET", a + "/applications/@me", self.get_application),
            ("GET", a + "/gateway", self.get_gateway),
            ("GET", a + "/gateway/bot", self.get_gateway_bot),
            ("GET", a + r"/applications/{app_id:\d+}/commands", self.get_commands),
            ("PUT", a + r"/applications/{app_id:\d+}/commands", self.put_commands),
            ("GET", a + r"/applications/{app_id:\d+}/guilds/{guild_id:\d+}/commands", self.get_commands),
            ("PUT", a + r"/applications/{app_id:\d+}/guilds/{guild_id:\d+}/commands", self.put_commands),
            ("POST", a + r"/interactions/{interaction_id:\d+}/{token}/callback", self.interaction_callback),
            ("POST", wh, self.webhook_execute),
            ("GET", wh + r"/messages/{message_id:(\d+|@original)}", self.webhook_get_message),
            ("PATCH", wh + r"/messages/{message_id:(\d+|@original)}", self.webhook_edit_message),
            ("DELETE", wh + r"/messages/{message_id:(\d+|@original)}", self.webhook_delete_message),
            ("GET", ch, self.get_channel),
            ("GET", ch + "/messages", self.list_messages),
            ("POST", ch + "/messages", self.create_message),
            ("GET", ch + r"/messages/{message_id:\d+}", self.get_message),
            ("PATCH", ch + r"/messages/{message_id:\d+}", self.edit_message),
            ("DELETE", ch + r"/messages/{message_id:\d+}", self.delete_message),
            ("POST", ch + "/typing", self.typing),
            ("GET", a + r"/guilds/{guild_id:\d+}", self.get_guild),
            ("GET", a + r"/guilds/{guild_id:\d+}/channels", self.get_guild_channels),
            ("GET", a + r"/guilds/{guild_id:\d+}/roles", self.get_roles),
            ("GET", a + r"/guilds/{guild_id:\d+}/members/{user_id:\d+}", self.get_member),
        ]

    # ---- helpers -----------------------------------------------------------------------------------

    def _auth(self, request: web.Request) -> None:
        if request.headers.get("Authorization") != f"Bot {self.fake.bot_token}":
            raise ApiError(401, 0, "401: Unauthorized")

    @staticmethod
    def _id(request: web.Request, name: str) -> int:
        return int(request.match_info[name])

    async def _body(self, request: web.Request, store_limit: int | None) -> ParsedBody:
        return await read_body(
            request, self.fake.spool_dir, keep_limit=self.fake.keep_bytes_limit, store_limit=store_limit
        )

    async def _payload(self, request: web.Request, size_limit: int) -> tuple[dict[str, Any], ParsedBody]:
        """Read the body (files over `size_limit` are hashed, not kept) and enforce the per-file limit."""
        body = await self._body(request, size_limit)
        if any(f.size > size_limit for f in body.files):
            raise ApiError(413, 40005, "Request entity too large")
        payload = body.json if body.json is not None else dict(body.form)
        if not isinstance(payload, dict):
            raise ApiError(400, 50035, "Invalid Form Body")
        return payload, body

    def _channel(self, channel_id: int) -> FakeChannel:
        channel = self.fake.channels.get(channel_id)
        if channel is None or channel.deleted:
            raise ApiError(404, 10003, "Unknown Channel")
        return channel

    def _channel_message(self, channel: FakeChannel, message_id: int) -> FakeMessage:
        msg = self.fake.messages.get(message_id)
        if msg is None or msg.deleted or msg.channel_id != channel.id or msg.ephemeral:
            raise ApiError(404, 10008, "Unknown Message")
        return msg

    def _publish(self, event: str, msg: FakeMessage) -> None:
        """MESSAGE_CREATE/UPDATE for messages the channel can see (ephemeral ones are never dispatched)."""
        if msg.ephemeral:
            return
        if event == "MESSAGE_DELETE":
            data: dict[str, Any] = {"id": str(msg.id), "channel_id": str(msg.channel_id)}
            if msg.guild_id is not None:
                data["guild_id"] = str(msg.guild_id)
        else:
            data = self.fake.message_payload(msg, gateway=True)
        self.fake._spawn_dispatch(event, data)

    # ---- users, application, gateway -------------------------------------------------------------

    async def get_me(self, request: web.Request) -> web.StreamResponse:
        self._auth(request)
        return json_response({**self.fake.bot_user.payload(), "verified": True, "mfa_enabled": False})

    async def get_user(self, request: web.Request) -> web.StreamResponse:
        self._auth(request)
        user = self.fake.users.get(self._id(request, "user_id"))
        if user is None:
            raise ApiError(404, 10013, "Unknown User")
        return json_response(user.payload())

    async def get_application(self, request: web.Request) -> web.StreamResponse:
        self._auth(request)
        fake = self.fake
        return json_response(
            {
                "id": str(fake.app_id),
                "name": fake.bot_user.username,
                "description": "",
                "icon": None,
                "rpc_origins": [],
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": fake.app_owner.payload(),
                "team": None,
                "verify_key": "0" * 64,
                "flags": 0,
                "bot": fake.bot_user.payload(),
                # null: a URL here makes discord.py warn that gateway interactions will not arrive
                "interactions_endpoint_url": None,
                "redirect_uris": [],
                "tags": [],
                "approximate_guild_count": len(fake.guilds),
            }
        )

    async def get_gateway(self, request: web.Request) -> web.StreamResponse:
        return json_response({"url": self.fake.gateway_url})

    async def get_gateway_bot(self, request: web.Request) -> web.StreamResponse:
        self._auth(request)
        return json_response(
            {
                "url": self.fake.gateway_url,
                "shards": self.fake.recommended_shards,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        )

    # ---- application commands --------------------------------------------------------------------

    def _command_list(self, request: web.Request) -> tuple[list[dict[str, Any]], int | None]:
        if self._id(request, "app_id") != self.fake.app_id:
            raise ApiError(403, 50001, "Missing Access")
        if "guild_id" not in request.match_info:
            return self.fake.global_commands, None
        guild_id = self._id(request, "guild_id")
        if guild_id not in self.fake.guilds:
            raise ApiError(403, 50001, "Missing Access")
        return self.fake.guild_commands.setdefault(guild_id, []), guild_id

    async def get_commands(self, request: web.Request) -> web.StreamResponse:
        self._auth(request)
        commands, _ = self._command_list(request)
        return json_response(commands)

    async def put_commands(self, request: web.Request) -> web.StreamResponse:
        self._auth(request)
        commands, guild_id = self._command_list(request)
        body = await self._body(request, 0)
        validate_commands(body.json)
        fake = self.fake
        existing = {(int(c.get("type", 1)), c["name"]): c for c in commands}
        version = str(fake.ids.mint())
        out: list[dict[str, Any]] = []
        for cmd in body.json:
            ctype = int(cmd.get("type") or 1)
            old = existing.get((ctype, cmd["name"]))
            defaults: dict[str, Any] = {
                "type": ctype,
                "name_localizations": None,
                "description_localizations": None,
                "default_member_permissions": None,
                "dm_permission": True,
                "nsfw": False,
                "contexts": None,
                "integration_types": [0],  # guild install, Discord's default
            }
            echoed: dict[str, Any] = {
                **defaults,
                **{k: v for k, v in cmd.items() if v is not None or defaults.get(k) is None},
                "id": old["id"] if old else str(fake.ids.mint()),
                "application_id": str(fake.app_id),
                "version": version,
            }
            if guild_id is not None:
                echoed["guild_id"] = str(guild_id)
            out.append(echoed)
        commands[:] = out
        fake._changed()
        return json_response(out)

    # ---- interactions ------------------------------------------------------------------------------

    def _expired(self, record: InteractionRecord) -> bool:
        return record.token_revoked or self.fake.clock.now() >= record.created_at + self.fake.token_ttl

    async def interaction_callback(self, request: web.Request) -> web.StreamResponse:
        fake = self.fake
        record = fake.interactions.get(self._id(request, "interaction_id"))
        if record is None or record.token != request.match_info["token"]:
            raise ApiError(404, 10062, "Unknown interaction")
        payload, body = await self._payload(request, record.attachment_size_limit)
        if record.acknowledged:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        if self._expired(record) or fake.clock.now() > record.created_at + fake.response_window:
            raise ApiError(404, 10062, "Unknown interaction")
        ctype = payload.get("type")
        if not isinstance(ctype, int) or ctype not in ALLOWED_CALLBACKS.get(record.type, set()):
            raise form_error(
                ["type"], "INTERACTION_RESPONSE_TYPE_INVALID", "Interaction response type is invalid"
            )
        data = payload.get("data") or {}
        channel = self._channel(record.channel_id)
        message: FakeMessage | None = None
        if ctype == 4:
            message = fake.build_message(
                channel,
                fake.bot_user.id,
                data,
                body.files,
                posted_by="interaction",
                flags_allowed=INTERACTION_FLAGS,
                msg_type=20 if record.type == 2 else 0,
                interaction_id=record.id,
            )
        elif ctype == 5:
            flags = LOADING | (int(data.get("flags") or 0) & EPHEMERAL)
            message = FakeMessage(
                id=fake.ids.mint(),
                channel_id=channel.id,
                guild_id=channel.guild_id,
                author_id=fake.bot_user.id,
                flags=flags,
                type=20 if record.type == 2 else 0,
                posted_by="interaction",
                interaction_id=record.id,
                webhook_id=fake.app_id,
                created_at=fake.clock.now(),
            )
        elif ctype == 8:
            check_choices(data.get("choices"))
        elif ctype == 9:
            check_modal(data)
        elif ctype in (6, 7) and record.source_message_id is not None:
            message = fake.messages.get(record.source_message_id)
            if message is not None and ctype == 7:
                fake.apply_edit(message, data, body.files, flags_allowed=BOT_FLAGS)
                self._publish("MESSAGE_UPDATE", message)
        record.callback_type, record.callback_body = ctype, payload
        if message is not None:
            record.original_message_id = message.id
            if ctype in (4, 5):
                fake._store_message(message)
                self._publish("MESSAGE_CREATE", message)
        fake._changed()
        if request.query.get("with_response", "").lower() not in ("1", "true"):
            return no_content()
        interaction: dict[str, Any] = {"id": str(record.id), "type": record.type}
        resource: dict[str, Any] = {"type": ctype}
        if message is not None:
            interaction.update(
                response_message_id=str(message.id),
                response_message_loading=message.loading,
                response_message_ephemeral=message.ephemeral,
            )
            resource["message"] = fake.message_payload(message)
        return json_response({"interaction": interaction, "resource": resource})

    def _webhook_record(self, request: web.Request) -> InteractionRecord:
        if self._id(request, "app_id") != self.fake.app_id:
            raise ApiError(404, 10015, "Unknown Webhook")
        iid = self.fake.tokens.get(request.match_info["token"])
        record = self.fake.interactions.get(iid) if iid is not None else None
        if record is None or self._expired(record):
            raise ApiError(401, 50027, "Invalid Webhook Token")
        if not record.acknowledged:
            if self.fake.clock.now() > record.created_at + self.fake.response_window:
                raise ApiError(401, 50027, "Invalid Webhook Token")  # never answered: token invalidated
            raise ApiError(404, 10015, "Unknown Webhook")
        return record

    def _webhook_message(self, request: web.Request, record: InteractionRecord) -> FakeMessage:
        ref = request.match_info["message_id"]
        mid = record.original_message_id if ref == "@original" else int(ref)
        if mid is None or (mid != record.original_message_id and mid not in record.followup_ids):
            raise ApiError(404, 10008, "Unknown Message")
        msg = self.fake.messages.get(mid)
        if msg is None or msg.deleted:
            raise ApiError(404, 10008, "Unknown Message")
        return msg

    async def webhook_execute(self, request: web.Request) -> web.StreamResponse:
        fake = self.fake
        record = self._webhook_record(request)
        payload, body = await self._payload(request, record.attachment_size_limit)
        channel = self._channel(record.channel_id)
        original = fake.messages.get(record.original_message_id or 0)
        if record.callback_type == 5 and original is not None and original.loading and not original.deleted:
            # Deprecated but live rule: the first followup after a deferred response *is* the
            # response; it fills the loading message and its own ephemeral flag is ignored.
            fake.apply_edit(original, payload, body.files, flags_allowed=INTERACTION_FLAGS)
            original.flags &= ~LOADING
            self._publish("MESSAGE_UPDATE", original)
            msg = original
        else:
            msg = fake.build_message(
                channel,
                fake.bot_user.id,
                payload,
                body.files,
                posted_by="interaction",
                flags_allowed=INTERACTION_FLAGS,
                interaction_id=record.id,
            )
            fake._store_message(msg)
            record.followup_ids.append(msg.id)
            self._publish("MESSAGE_CREATE", msg)
        fake._changed()
        if request.query.get("wait", "").lower() in ("1", "true"):
            return json_response(fake.message_payload(msg))
        return no_content()

    async def webhook_get_message(self, request: web.Request) -> web.StreamResponse:
        record = self._webhook_record(request)
        return json_response(self.fake.message_payload(self._webhook_message(request, record)))

    async def webhook_edit_message(self, request: web.Request) -> web.StreamResponse:
        record = self._webhook_record(request)
        msg = self._webhook_message(request, record)
        payload, body = await self._payload(request, record.attachment_size_limit)
        self.fake.apply_edit(msg, payload, body.files, flags_allowed=BOT_FLAGS)
        msg.flags &= ~LOADING
        self._publish("MESSAGE_UPDATE", msg)
        self.fake._changed()
        return json_response(self.fake.message_payload(msg))

    async def webhook_delete_message(self, request: web.Request) -> web.StreamResponse:
        record = self._webhook_record(request)
        msg = self._webhook_message(request, record)
        msg.deleted = True
        self._publish("MESSAGE_DELETE", msg)
        self.fake._changed()
        return no_content()

    # ---- channels and messages (bot token) -------------------------------------------------------

    async def get_channel(self, request: web.Request) -> web.StreamResponse:
        self._auth(request)
        return json_response(self.fake.channel_payload(self._channel(self._id(request, "channel_id"))))

    def _check_can_send(self, channel: FakeChannel, with_files: bool) -> None:
        fake = self.fake
        if channel.is_dm:
            user = fake.users.get(channel.recipient_id or 0)
            if user is None or not user.dms_open or user.bot:
                raise ApiError(403, 50007, "Cannot send messages to this user")
            return
        perms = fake.channel_permissions(channel, fake.bot_user.id)
        needed = VIEW_CHANNEL | SEND_MESSAGES | (ATTACH_FILES if with_files else 0)
        if perms & needed != needed:
            raise ApiError(403, 50013, "Missing Permissions")

    async def create_message(self, request: web.Request) -> web.StreamResponse:
        self._auth(request)
        fake = self.fake
        channel = self._channel(self._id(request, "channel_id"))
        self._check_can_send(channel, with_files=False)
        payload, body = await self._payload(request, fake.upload_limit(channel))
        if body.files:
            self._check_can_send(channel, with_files=True)
        nonce = payload.get("nonce")
        if nonce is not None and payload.get("enforce_nonce"):
            for existing in reversed(fake.messages_in(channel.id)):
                if (
                    existing.nonce == str(nonce)
                    and existing.author_id == fake.bot_user.id
                    and fake.clock.now() - existing.created_at <= NONCE_WINDOW
                ):
                    return json_response(fake.message_payload(existing))
        msg = fake.build_message(
            channel,
            fake.bot_user.id,
            payload,
            body.files,
            posted_by="bot",
            flags_allowed=BOT_FLAGS,
            msg_type=19 if payload.get("message_reference") else 0,
        )
        fake._store_message(msg)
        self._publish("MESSAGE_CREATE", msg)
        return json_response(fake.message_payload(msg))

    async def list_messages(self, request: web.Request) -> web.StreamResponse:
        self._auth(request)
        channel = self._channel(self._id(request, "channel_id"))
        q = request.query
        limit = max(1, min(100, int(q.get("limit", "50"))))
        msgs = self.fake.messages_in(channel.id, include_ephemeral=False)
        if "before" in q:
            msgs = [m for m in msgs if m.id < int(q["before"])]
        if "after" in q:
            msgs = [m for m in msgs if m.id > int(q["after"])]
            msgs = msgs[:limit]
        if "around" in q:
            pivot = int(q["around"])
            older = [m for m in msgs if m.id <= pivot][-(limit // 2 + 1) :]
            newer = [m for m in msgs if m.id > pivot][: limit - len(older)]
            msgs = older + newer
        msgs = sorted(msgs, key=lambda m: m.id, reverse=True)[:limit]
        return json_response([self.fake.message_payload(m) for m in msgs])

    async def get_message(self, request: web.Request) -> web.StreamResponse:
        self._auth(request)
        channel = self._channel(self._id(request, "channel_id"))
        msg = self._channel_message(channel, self._id(request, "message_id"))
        return json_response(self.fake.message_payload(msg))

    async def edit_message(self, request: web.Request) -> web.StreamResponse:
        self._auth(request)
        fake = self.fake
        channel = self._channel(self._id(request, "channel_id"))
        msg = self._channel_message(channel, self._id(request, "message_id"))
        if msg.author_id != fake.bot_user.id:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        payload, body = await self._payload(request, fake.upload_limit(channel))
        fake.apply_edit(msg, payload, body.files, flags_allowed=BOT_FLAGS)
        self._publish("MESSAGE_UPDATE", msg)
        fake._changed()
        return json_response(fake.message_payload(msg))

    async def delete_message(self, request: web.Request) -> web.StreamResponse:
        self._auth(request)
        fake = self.fake
        channel = self._channel(self._id(request, "channel_id"))
        msg = self._channel_message(channel, self._id(request, "message_id"))
        others = msg.author_id != fake.bot_user.id and not channel.is_dm
        if others and not fake.channel_permissions(channel, fake.bot_user.id) & MANAGE_MESSAGES:
            raise ApiError(403, 50013, "Missing Permissions")
        msg.deleted = True
        self._publish("MESSAGE_DELETE", msg)
        fake._changed()
        return no_content()

    async def typing(self, request: web.Request) -> web.StreamResponse:
        self._auth(request)
        self._channel(self._id(request, "channel_id"))
        return no_content()

    async def create_dm(self, request: web.Request) -> web.StreamResponse:
        self._auth(request)
        body = await self._body(request, 0)
        recipient = (body.json or {}).get("recipient_id") if isinstance(body.json, dict) else None
        try:
            user_id = int(recipient) if recipient is not None else 0
        except (TypeError, ValueError):
            user_id = 0
        if user_id not in self.fake.users or user_id == self.fake.bot_user.id:
            raise ApiError(400, 50033, "Invalid Recipient(s)")
        return json_response(self.fake.channel_payload(self.fake.get_or_create_dm(user_id)))

    # ---- guilds ------------------------------------------------------------------------------------

    def _guild_id(self, request: web.Request) -> int:
        self._auth(request)
        guild_id = self._id(request, "guild_id")
        if guild_id not in self.fake.guilds:
            raise ApiError(404, 10004, "Unknown Guild")
        return guild_id

    async def get_guild(self, request: web.Request) -> web.StreamResponse:
        guild = self.fake.guilds[self._guild_id(request)]
        out = self.fake.guild_payload(guild, full=False)
        if request.query.get("with_counts", "").lower() in ("1", "true"):
            out["approximate_member_count"] = len(guild.members)
            out["approximate_presence_count"] = len(guild.members)
        return json_response(out)

    async def get_guild_channels(self, request: web.Request) -> web.StreamResponse:
        guild = self.fake.guilds[self._guild_id(request)]
        channels = [self.fake.channels[c] for c in guild.channel_ids if not self.fake.channels[c].deleted]
        return json_response([self.fake.channel_payload(c) for c in channels])

    async def get_roles(self, request: web.Request) -> web.StreamResponse:
        guild = self.fake.guilds[self._guild_id(request)]
        return json_response([r.payload() for r in guild.roles.values()])

    async def get_member(self, request: web.Request) -> web.StreamResponse:
        guild = self.fake.guilds[self._guild_id(request)]
        user_id = self._id(request, "user_id")
        if user_id not in guild.members:
            raise ApiError(404, 10007, "Unknown Member")
        return json_response(self.fake.member_payload(guild, user_id))
