"""A REST proxy in front of the fake Discord that can freeze the bot's next video upload.

The bot is pointed at the proxy (DISCORD_API_BASE); the gateway and the CDN stay on the fake. With
`hold("before")` the next upload never reaches Discord; with `hold("after")` Discord stores the message
but the answer never comes back, the worst moment for a crash: posted, yet the bot does not know it.
Either way `held` is set when the upload is frozen, so a test can kill the bot at exactly that point.
"""

from __future__ import annotations

import asyncio
import re

import aiohttp
from aiohttp import web

UPLOAD = re.compile(r"/channels/\d+/messages$")
_HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "connection", "content-encoding", "keep-alive"}


class HoldingProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.mode: str | None = None
        self.held = asyncio.Event()
        self.uploads_seen = 0
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.base_url = ""

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/api/v10"

    def hold(self, mode: str) -> None:
        """Freeze the next upload: "before" it reaches Discord, or "after" Discord has stored it."""
        assert mode in ("before", "after")
        self.mode = mode
        self.held.clear()

    async def start(self) -> HoldingProxy:
        self._session = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        self._release.set()  # frozen requests end (their client is gone by now)
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        body = await request.read()
        upload = request.method == "POST" and bool(UPLOAD.search(request.path)) and b"filename=" in body
        mode = None
        if upload:
            self.uploads_seen += 1
            mode, self.mode = self.mode, None
        if mode == "before":
            self.held.set()
            await self._release.wait()
            return web.Response(status=503)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        async with self._session.request(
            request.method, self.upstream + request.path_qs, data=body, headers=headers
        ) as resp:
            payload = await resp.read()
            answer_headers = {k: v for k, v in resp.headers.items() if k.lower() not in _HOP_BY_HOP}
            status = resp.status
        if mode == "after":
            self.held.set()
            await self._release.wait()
        return web.Response(status=status, body=payload, headers=answer_headers)
