"""FakeDiscord: one loopback aiohttp app serving REST (/api/v10), the gateway (/gateway) and a signed,
expiring CDN, that an unmodified discord.py client logs into. Tests set up the world, drive
interactions, inject failures, and wait on recorded calls and frames (never on sleeps)."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import traceback
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from .cdn import UNHANDLED_KEY, read_body, send_stalled
from .gateway import Gateway
from .interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    InteractionHandle,
    command_resolver,
    find_component,
    send_interaction,
)
from .models import MIB, ApiError, Call, GatewayFrame, Injection
from .rest import API_PREFIX, JSON_KEY, RestApi, json_response
from .world import World

log = logging.getLogger(__name__)
T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FakeDiscord(World):
    """A fake Discord on 127.0.0.1. `await start()`, point discord.py at `api_base`/`gateway_url`
    (see `patch.pointed_at`), run the bot, `await stop()`. Also an async context manager."""

    def __init__(
        self,
        bot_token: str = "fake-bot-token",
        app_id: int | None = None,
        *,
        bot_username: str = "klingbot",
        host: str = "127.0.0.1",
        port: int = 0,
        response_window: float = 3.0,
        token_ttl: float = 15 * 60.0,
        cdn_ttl: float = 24 * 3600.0,
        heartbeat_interval_ms: int = 41_250,
        gateway_compression: bool = True,
        keep_bytes_limit: int = 16 * MIB,
    ) -> None:
        super().__init__(
            bot_token=bot_token,
            app_id=app_id,
            bot_username=bot_username,
            cdn_ttl=cdn_ttl,
            keep_bytes_limit=keep_bytes_limit,
        )
        self.host, self.port = host, port
        self.response_window = response_window
        self.token_ttl = token_ttl
        self.calls: list[Call] = []
        self.frames: list[GatewayFrame] = []
        self.injections: list[Injection] = []
        self.internal_errors: list[str] = []
        self.gateway = Gateway(
            self, heartbeat_interval=heartbeat_interval_ms, compression=gateway_compression
        )
        self.rest = RestApi(self)
        self._change = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._queue: asyncio.Queue[tuple[str, Any, asyncio.Future[int] | None]] | None = None
        self._pump: asyncio.Task[None] | None = None
        self._cdn_stalls: list[tuple[str | None, asyncio.Event]] = []

    # ---- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> FakeDiscord:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * MIB)
        app.router.add_get("/gateway", self.gateway.handle)
        for method, path, handler in self.rest.routes():
            app.router.add_route(method, path, handler)
        for prefix in ("attachments", "ephemeral-attachments"):
            app.router.add_get(f"/{prefix}/{{scope_id:\\d+}}/{{attachment_id:\\d+}}/{{filename}}", self._cdn)
        app.router.add_route("*", "/{tail:.*}", self._unhandled)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        # Bind the socket ourselves to learn the port without reaching into aiohttp internals.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self.base_url = f"http://{self.host}:{self.port}"
        self._queue = asyncio.Queue()
        self._pump = asyncio.create_task(self._pump_dispatches())
        return self

    async def stop(self) -> None:
        for _, release in self._cdn_stalls:
            release.set()  # stalled downloads finish, so the server can shut down
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)
            self._pump = None
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._spool_cleanup()

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def api_base(self) -> str:
        return f"{self.base_url}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    # ---- time --------------------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Move the fake clock forward: tokens, the 3-second window and CDN URLs expire by it."""
        self.clock.advance(seconds)
        self._changed()

    def expire_interaction_tokens(self) -> None:
        for record in self.interactions.values():
            record.token_revoked = True
        self._changed()

    # ---- gateway -----------------------------------------------------------------------------------

    @property
    def gateway_connected(self) -> bool:
        return self.gateway.connected

    @property
    def identified(self) -> asyncio.Event:
        """Set whenever a client IDENTIFYs or RESUMEs (clear it to wait for the next one)."""
        return self.gateway.identified

    @property
    def identify_count(self) -> int:
        return self.gateway.identify_count

    async def wait_for_identify(self, count: int = 1, timeout: float = 5.0) -> None:
        await self.wait_for(lambda: self.gateway.identify_count >= count, timeout=timeout)

    async def dispatch(self, event: str, data: Any) -> int:
        """Send a gateway event to every session, in order with the fake's own events; returns how
        many sessions it went to."""
        assert self._queue is not None, "FakeDiscord is not started"
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((event, data, done))
        return await done

    def _spawn_dispatch(self, event: str, data: Any) -> None:
        if self._queue is not None:
            self._queue.put_nowait((event, data, None))

    def _world_event(self, event: str, data: dict[str, Any]) -> None:
        if self._queue is not None and self.gateway.sessions:
            self._spawn_dispatch(event, data)

    async def _pump_dispatches(self) -> None:
        assert self._queue is not None
        while True:
            event, data, done = await self._queue.get()
            try:
                count = await self.gateway.dispatch(event, data)
            except Exception as exc:  # a dead socket must not stop later dispatches
                log.exception("dispatching %s failed", event)
                if done is not None and not done.done():
                    done.set_exception(exc)
                continue
            if done is not None and not done.done():
                done.set_result(count)

    async def disconnect_gateway(self, code: int = 4000) -> None:
        """Drop gateway connections (resumable close code by default); discord.py reconnects."""
        await self.gateway.disconnect(code)

    async def send_reconnect(self) -> None:
        """Send op 7 RECONNECT: the client closes and RESUMEs."""
        await self.gateway.send_reconnect()

    def _record_frame(self, frame: GatewayFrame) -> None:
        self.frames.append(frame)
        self._changed()

    def frames_of(self, event: str) -> list[GatewayFrame]:
        return [f for f in self.frames if f.t == event]

    # ---- recording, waiting, injection -------------------------------------------------------

    def _changed(self) -> None:
        # Swap in a fresh event so every current waiter wakes exactly once and re-checks.
        change = getattr(self, "_change", None)
        if change is not None:
            change.set()
            self._change = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], T | None], timeout: float = 5.0) -> T:
        """Wait until `predicate()` returns something truthy and return it. Re-checked after every
        recorded call, gateway frame and change to the fake's state, with no polling: so the predicate
        should look at the fake (a bot's own state changes do not wake it; use the bot's events)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = "\n  ".join(f"{c.method} {c.path} -> {c.status}" for c in self.calls[-8:])
                raise TimeoutError(f"condition not met within {timeout}s; last calls:\n  {recent}")
            change = self._change
            try:
                await asyncio.wait_for(change.wait(), remaining)
            except TimeoutError:
                continue

    def calls_matching(
        self,
        method: str | None = None,
        path_regex: str | None = None,
        predicate: Callable[[Call], bool] | None = None,
        *,
        after: int | Call | None = None,
    ) -> list[Call]:
        """Recorded calls; `path_regex` is searched in the path without the /api/v10 prefix."""
        start = after.seq + 1 if isinstance(after, Call) else (after or 0)
        pattern = re.compile(path_regex) if path_regex else None
        return [
            c
            for c in self.calls[start:]
            if (method is None or c.method == method.upper())
            and (pattern is None or pattern.search(c.path))
            and (predicate is None or predicate(c))
        ]

    async def wait_for_call(
        self,
        method: str,
        path_regex: str,
        predicate: Callable[[Call], bool] | None = None,
        *,
        after: int | Call | None = None,
        timeout: float = 5.0,
    ) -> Call:
        """The first recorded call that matches (already recorded ones count; pass `after=` a Call or
        `len(fake.calls)` to only look at later ones)."""

        def first() -> Call | None:
            found = self.calls_matching(method, path_regex, predicate, after=after)
            return found[0] if found else None

        return await self.wait_for(first, timeout=timeout)

    @property
    def unhandled_calls(self) -> list[Call]:
        return [c for c in self.calls if c.unhandled]

    def inject(
        self,
        method: str,
        path_regex: str,
        status: int,
        json: Any = None,
        *,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
    ) -> Injection:
        """Answer the next `times` matching requests with this status/JSON instead of handling them."""
        injection = Injection(
            method.upper(), re.compile(path_regex), status, json, times, dict(headers or {})
        )
        self.injections.append(injection)
        return injection

    def inject_rate_limit(
        self,
        method: str,
        path_regex: str,
        *,
        retry_after: float = 0.01,
        times: int = 1,
        global_: bool = False,
    ) -> Injection:
        """A 429 discord.py retries: it needs a `Via` header and a JSON `retry_after`, otherwise it
        takes the 429 for a Cloudflare ban and raises."""
        body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": global_}
        headers = {
            "Via": "1.1 google",
            "Retry-After": str(max(1, round(retry_after))),
            "X-RateLimit-Scope": "user",
        }
        if global_:
            headers["X-RateLimit-Global"] = "true"
        return self.inject(method, path_regex, 429, body, times=times, headers=headers)

    def _take_injection(self, method: str, path: str) -> Injection | None:
        for injection in self.injections:
            if (
                injection.times > 0
                and injection.method in (method, "*")
                and injection.path_regex.search(path)
            ):
                injection.times -= 1
                return injection
        return None

    def _auth_kind(self, request: web.Request) -> str:
        header = request.headers.get("Authorization")
        if header is None:
            return "none"
        return "bot" if header == f"Bot {self.bot_token}" else "invalid"

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == "/gateway":
            return await handler(request)
        path = request.path
        call = Call(
            seq=-1,
            method=request.method,
            path=path[len(API_PREFIX) :] if path.startswith(API_PREFIX + "/") else path,
            query=dict(request.query),
            auth=self._auth_kind(request),
            headers=dict(request.headers),
            at=self.clock.now(),
        )
        response: web.StreamResponse
        injection = self._take_injection(request.method, call.path)
        try:
            if injection is not None:
                call.injected = True
                response = json_response(injection.json, injection.status)
                response.headers.update(injection.headers)
            else:
                response = await handler(request)
        except ApiError as exc:
            response = json_response(exc.body(), exc.status)
        except web.HTTPException as exc:
            response = json_response({"message": f"{exc.status}: {exc.reason}", "code": 0}, exc.status)
        except Exception:
            # A fake bug must not look like a Discord 5xx (discord.py would sleep and retry).
            detail = traceback.format_exc()
            self.internal_errors.append(detail)
            log.error("fake discord failed on %s %s\n%s", request.method, path, detail)
            response = json_response({"message": "fake discord internal error", "code": 0}, 400)
        try:
            # Drain and decode whatever the handler did not read, so every call is recorded whole.
            body = await read_body(request, self.spool_dir, keep_limit=self.keep_bytes_limit, store_limit=0)
            call.json, call.form, call.files = body.json, body.form, body.files
        except (ApiError, OSError, ValueError, asyncio.IncompleteReadError, aiohttp.ClientError) as exc:
            log.debug("could not read the body of %s %s: %r", request.method, path, exc)
        call.status = response.status
        call.response = response.get(JSON_KEY)
        call.unhandled = request.get(UNHANDLED_KEY, False)
        call.seq = len(self.calls)
        self.calls.append(call)
        self._changed()
        return response

    async def _unhandled(self, request: web.Request) -> web.StreamResponse:
        request[UNHANDLED_KEY] = True
        log.warning("fake discord has no route for %s %s", request.method, request.path)
        raise ApiError(404, 0, "404: Not Found")

    # ---- CDN -------------------------------------------------------------------------------------

    async def _cdn(self, request: web.Request) -> web.StreamResponse:
        att = self.attachments.get(int(request.match_info["attachment_id"]))
        gone = web.Response(status=404, text="This content is no longer available.")
        if (
            att is None
            or str(att.scope_id) != request.match_info["scope_id"]
            or att.filename != request.match_info["filename"]
            or att.ephemeral != request.path.startswith("/ephemeral-attachments/")
            or not self.signer.valid(request.path, dict(request.query))
        ):
            return gone
        headers = {"Content-Type": att.content_type or "application/octet-stream"}
        release = next((r for name, r in self._cdn_stalls if name in (None, att.filename)), None)
        if release is not None and not release.is_set():
            data = att.data if att.data is not None else att.path.read_bytes()
            return await send_stalled(request, data, headers, release)
        if att.data is not None:
            return web.Response(body=att.data, headers=headers)
        return web.FileResponse(att.path, headers=headers)  # streamed from disk

    def stall_cdn(self, filename: str | None = None) -> asyncio.Event:
        """From now on the CDN sends half of each file (named `filename`, or any) and then nothing more
        until the returned event is set, like Discord's CDN stalling mid-attachment. `stop()` sets it."""
        release = asyncio.Event()
        self._cdn_stalls.append((filename, release))
        return release

    # ---- scenarios -----------------------------------------------------------------------------

    async def send_slash_command(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        subcommand: str | None = None,
        attachments: Mapping[str, tuple[str, bytes, str | None]] | None = None,
        user_id: int | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
        attachment_size_limit: int | None = None,
        locale: str = "en-US",
    ) -> InteractionHandle:
        """Dispatch a complete INTERACTION_CREATE for `/name [group] [sub] options...`. Option types come
        from the command the bot registered (else from the Python values, or `Opt(type, value)`);
        users/members/roles/channels/attachments are added to `resolved`. `attachments` maps an option
        to (filename, bytes, content type), stored on the CDN like Discord's ephemeral attachments."""
        return await send_interaction(
            self,
            APPLICATION_COMMAND,
            {},
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            attachment_size_limit=attachment_size_limit,
            locale=locale,
            resolve=command_resolver(self, name, options, subcommand, attachments, None),
        )

    async def send_autocomplete(
        self,
        name: str,
        options: Mapping[str, Any],
        focused: str,
        *,
        subcommand: str | None = None,
        user_id: int | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
        locale: str = "en-US",
    ) -> InteractionHandle:
        """An autocomplete interaction (type 4); `focused` names the option being typed."""
        if focused not in options:
            raise ValueError("the focused option must be among the options")
        return await send_interaction(
            self,
            AUTOCOMPLETE,
            {},
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            locale=locale,
            resolve=command_resolver(self, name, options, subcommand, None, focused),
        )

    async def send_component_click(
        self,
        custom_id: str,
        message_id: int,
        *,
        user_id: int | None = None,
        channel_id: int | None = None,
        component_type: int = 2,
        values: list[str] | None = None,
        check_component: bool = True,
    ) -> InteractionHandle:
        """A click on a component of a stored message (type 3). By default the custom_id must be on the
        message, as only rendered components can be clicked."""
        msg = self.messages.get(message_id)
        if msg is None or msg.deleted:
            raise ValueError(f"no message {message_id} in the fake")
        if check_component and find_component(msg.components, custom_id) is None:
            raise ValueError(f"message {message_id} has no component with custom_id {custom_id!r}")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = values
        return await send_interaction(
            self,
            MESSAGE_COMPONENT,
            data,
            user_id=user_id,
            guild_id=None,
            channel_id=channel_id if channel_id is not None else msg.channel_id,
            message=msg,
        )

    async def send_modal_submit(
        self,
        custom_id: str,
        values: Mapping[str, str],
        *,
        message_id: int | None = None,
        user_id: int | None = None,
        channel_id: int | None = None,
    ) -> InteractionHandle:
        """A modal submit (type 5): `values` maps each text input's custom_id to what was typed."""
        rows = [
            {"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]} for k, v in values.items()
        ]
        msg = self.messages.get(message_id) if message_id is not None else None
        return await send_interaction(
            self,
            MODAL_SUBMIT,
            {"custom_id": custom_id, "components": rows},
            user_id=user_id,
            guild_id=None,
            channel_id=channel_id if channel_id is not None or msg is None else msg.channel_id,
            message=msg,
        )
