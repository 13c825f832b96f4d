"""A small round-robin HTTP balancer for tests: what a reverse proxy does in front of several listener
processes. A request a backend does not answer (it was killed) goes to the next one."""

from __future__ import annotations

import itertools

import aiohttp
from aiohttp import web

_HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "connection", "content-encoding", "keep-alive"}


class Balancer:
    def __init__(self, backends: list[str]) -> None:
        self.backends = backends  # base URLs; the test may change them (a restarted listener)
        self.answered_by: dict[str, int] = {}  # backend -> requests it answered
        self._turn = itertools.count()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.base_url = ""

    async def start(self, port: int) -> Balancer:
        app = web.Application(client_max_size=256 * 1024**2)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.base_url = f"http://127.0.0.1:{port}"
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        first = next(self._turn)
        for offset in range(len(self.backends) * 2):
            backend = self.backends[(first + offset) % len(self.backends)]
            try:
                async with self._session.request(
                    request.method, backend + request.path_qs, data=body, headers=headers
                ) as upstream:
                    payload = await upstream.read()
                    self.answered_by[backend] = self.answered_by.get(backend, 0) + 1
                    kept = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP}
                    return web.Response(body=payload, status=upstream.status, headers=kept)
            except aiohttp.ClientError:
                continue  # that listener is down: the next one
        return web.Response(status=502)
