"""The fake gateway: HELLO, heartbeats, IDENTIFY -> READY + GUILD_CREATE, RESUME with replay,
zlib-stream transport compression, and dispatching events to every live session.

Sharding as Discord does it: IDENTIFY may carry `[shard_id, shard_count]` (an impossible pair closes
with 4010; a session that would hold more guilds than `max_guilds_per_shard` closes with 4011), and a
guild's events go to shard `(guild_id >> 22) % shard_count`, events without a guild (DMs) to shard 0.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import secrets
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from .models import GatewayFrame

if TYPE_CHECKING:
    from .server import FakeDiscord

HELLO, HEARTBEAT, IDENTIFY, RESUME, RECONNECT, REQUEST_MEMBERS, INVALID_SESSION, HEARTBEAT_ACK = (
    10,
    1,
    2,
    6,
    7,
    8,
    9,
    11,
)
log = logging.getLogger(__name__)
BACKLOG = 1000  # frames a session keeps for replay on RESUME
INVALID_SHARD, SHARDING_REQUIRED = 4010, 4011
# Events whose data is the guild itself (its id is "id", not "guild_id").
_GUILD_EVENTS = ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE")


def shard_for(guild_id: int | None, shard_count: int) -> int:
    """Discord's formula: which shard hears a guild; DMs and other events without a guild go to shard 0."""
    return 0 if guild_id is None else (guild_id >> 22) % max(shard_count, 1)


def guild_of(event: str, data: Any) -> int | None:
    if not isinstance(data, dict):
        return None
    raw = data.get("id") if event in _GUILD_EVENTS else data.get("guild_id")
    return int(raw) if raw is not None else None


def valid_shard(shard: Any) -> bool:
    if not isinstance(shard, list | tuple) or len(shard) != 2:
        return False
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in shard):
        return False
    shard_id, count = int(shard[0]), int(shard[1])
    return count >= 1 and 0 <= shard_id < count


class GatewayConnection:
    def __init__(self, number: int, ws: web.WebSocketResponse, compress: bool) -> None:
        self.number = number
        self.ws = ws
        self.session: GatewaySession | None = None
        self.closed_by_server = False
        self._lock = asyncio.Lock()
        # One compressor for the connection's lifetime: zlib-stream is a single stream.
        self._zlib = zlib.compressobj() if compress else None

    @property
    def compressed(self) -> bool:
        return self._zlib is not None

    async def send(self, payload: dict[str, Any]) -> None:
        raw = json.dumps(payload, separators=(",", ":"))
        async with self._lock:  # keep compressor order and wire order the same
            if self.ws.closed:
                return
            if self._zlib is not None:
                data = self._zlib.compress(raw.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
                await self.ws.send_bytes(data)
            else:
                await self.ws.send_str(raw)


@dataclass
class GatewaySession:
    session_id: str
    shard: list[int] | None
    seq: int = 0
    connection: GatewayConnection | None = None
    backlog: list[dict[str, Any]] = field(default_factory=list)
    # The client closed the socket itself (e.g. bot.close(); discord.py sends 4000 even then). The
    # session stays resumable and keeps buffering, but no longer counts as a bot to deliver to.
    abandoned: bool = False

    def wants_guild(self, guild_id: int | None) -> bool:
        if not self.shard:
            return True
        shard_id, count = self.shard
        return shard_for(guild_id, count) == shard_id


class Gateway:
    def __init__(self, fake: FakeDiscord, *, heartbeat_interval: int, compression: bool) -> None:
        self.fake = fake
        self.heartbeat_interval = heartbeat_interval
        self.compression = compression
        self.connections: list[GatewayConnection] = []
        self.sessions: dict[str, GatewaySession] = {}
        self.identified = asyncio.Event()
        self.identify_count = 0
        self.resume_count = 0
        self._numbers = itertools.count(1)

    @property
    def connected(self) -> bool:
        return any(s.connection is not None for s in self.sessions.values())

    async def _send(self, conn: GatewayConnection, payload: dict[str, Any]) -> None:
        await conn.send(payload)
        self.fake._record_frame(
            GatewayFrame(
                "sent",
                payload.get("op"),
                payload.get("t"),
                payload.get("s"),
                payload.get("d"),
                conn.compressed,
                conn.number,
                self.fake.clock.now(),
            )
        )

    async def _dispatch_to(self, session: GatewaySession, event: str, data: Any) -> None:
        session.seq += 1
        frame = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.backlog.append(frame)
        del session.backlog[:-BACKLOG]
        if session.connection is not None:
            try:
                await self._send(session.connection, frame)
            except (ConnectionError, RuntimeError) as exc:  # closing socket: the backlog keeps it
                log.debug("could not send %s to connection %d: %r", event, session.connection.number, exc)

    async def dispatch(self, event: str, data: Any) -> int:
        """Send an event to every session of its guild's shard (buffered for ones waiting to RESUME);
        returns how many sessions are live or expected back."""
        guild_id = guild_of(event, data)
        sessions = [s for s in self.sessions.values() if s.wants_guild(guild_id)]
        for session in sessions:
            await self._dispatch_to(session, event, data)
        return sum(1 for s in sessions if not s.abandoned)

    async def disconnect(self, code: int = 4000) -> None:
        """Drop every connection; sessions stay resumable (discord.py reconnects and RESUMEs)."""
        for conn in list(self.connections):
            conn.closed_by_server = True
            await conn.ws.close(code=code, message=b"fake disconnect")

    async def send_reconnect(self) -> None:
        for conn in list(self.connections):
            conn.closed_by_server = True  # the client closes, but because it was asked to
            await self._send(conn, {"op": RECONNECT, "d": None})

    async def close_all(self) -> None:
        self.sessions.clear()
        for conn in list(self.connections):
            conn.closed_by_server = True
            await conn.ws.close(code=1001, message=b"fake discord stopping")

    # ---- one websocket ---------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        wants_zlib = request.query.get("compress") == "zlib-stream"
        conn = GatewayConnection(next(self._numbers), ws, wants_zlib and self.compression)
        self.connections.append(conn)
        try:
            await self._send(conn, {"op": HELLO, "d": {"heartbeat_interval": self.heartbeat_interval}})
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    if msg.type == WSMsgType.BINARY:
                        await ws.close(code=4002, message=b"ETF/binary frames are not supported")
                    continue
                try:
                    frame = json.loads(msg.data)
                except ValueError:
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                await self._on_frame(conn, frame)
        finally:
            log.debug("gateway connection %d closed with %s", conn.number, ws.close_code)
            self.connections.remove(conn)
            session = conn.session
            if session is not None and session.connection is conn:
                session.connection = None
                session.abandoned = not conn.closed_by_server
            self.fake._changed()
        return ws

    async def _on_frame(self, conn: GatewayConnection, frame: dict[str, Any]) -> None:
        op, data = frame.get("op"), frame.get("d")
        self.fake._record_frame(
            GatewayFrame("received", op, None, None, data, False, conn.number, self.fake.clock.now())
        )
        if op == HEARTBEAT:
            await self._send(conn, {"op": HEARTBEAT_ACK})
        elif op == IDENTIFY:
            await self._identify(conn, data or {})
        elif op == RESUME:
            await self._resume(conn, data or {})
        elif op == REQUEST_MEMBERS:
            await self._members_chunk(conn, data or {})
        elif op in (3, 4):  # presence / voice state updates: accepted, nothing to do
            pass
        else:
            await conn.ws.close(code=4001, message=b"Unknown opcode.")

    def _token_ok(self, token: Any) -> bool:
        return str(token or "").removeprefix("Bot ") == self.fake.bot_token

    async def _identify(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        if not self._token_ok(data.get("token")):
            conn.closed_by_server = True
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        if conn.session is not None:
            conn.closed_by_server = True
            await conn.ws.close(code=4005, message=b"Already authenticated.")
            return
        shard = data.get("shard")
        if shard is not None and not valid_shard(shard):
            conn.closed_by_server = True
            await conn.ws.close(code=INVALID_SHARD, message=b"Invalid shard.")
            return
        shard = list(shard) if shard else None
        fake = self.fake
        if sum(1 for g in fake.guilds.values() if _on_shard(g.id, shard)) > fake.max_guilds_per_shard:
            conn.closed_by_server = True
            await conn.ws.close(code=SHARDING_REQUIRED, message=b"Sharding required.")
            return
        # A new IDENTIFY for the same shard means an earlier, disconnected client is gone for good.
        for old in [s for s in self.sessions.values() if s.connection is None and s.shard == shard]:
            del self.sessions[old.session_id]
        session = GatewaySession(secrets.token_hex(16), shard, connection=conn)
        self.sessions[session.session_id] = session
        conn.session = session
        guilds = [g for g in fake.guilds.values() if session.wants_guild(g.id)]
        ready: dict[str, Any] = {
            "v": 10,
            "user": {**fake.bot_user.payload(), "verified": True, "mfa_enabled": False, "email": None},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.session_id,
            "resume_gateway_url": fake.gateway_url,
            "session_type": "normal",
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "application": {"id": str(fake.app_id), "flags": 0},
        }
        if session.shard:
            ready["shard"] = session.shard
        await self._dispatch_to(session, "READY", ready)
        for guild in guilds:
            await self._dispatch_to(session, "GUILD_CREATE", fake.guild_payload(guild))
        self.identify_count += 1
        self.identified.set()
        fake._changed()

    async def _resume(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or not self._token_ok(data.get("token")):
            await self._send(conn, {"op": INVALID_SESSION, "d": False})
            return
        if session.connection is not None and session.connection is not conn:
            session.connection.closed_by_server = True
            await session.connection.ws.close(code=4000, message=b"Session resumed elsewhere.")
        session.connection, session.abandoned = conn, False
        conn.session = session
        last = int(data.get("seq") or 0)
        for frame in session.backlog:
            if frame["s"] > last:
                await self._send(conn, frame)
        await self._dispatch_to(session, "RESUMED", {})
        self.resume_count += 1
        self.identified.set()
        self.fake._changed()

    async def _members_chunk(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        if conn.session is None:
            return
        guild = self.fake.guilds.get(int(data.get("guild_id") or 0))
        if guild is None:
            return
        wanted = {int(u) for u in data.get("user_ids") or []}
        members = [
            self.fake.member_payload(guild, uid) for uid in guild.members if not wanted or uid in wanted
        ]
        chunk: dict[str, Any] = {
            "guild_id": str(guild.id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        await self._dispatch_to(conn.session, "GUILD_MEMBERS_CHUNK", chunk)


def _on_shard(guild_id: int, shard: list[int] | None) -> bool:
    return shard is None or shard_for(guild_id, shard[1]) == shard[0]
