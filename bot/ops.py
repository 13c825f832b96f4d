"""The private ops server: GET /metrics and GET /healthz on OPS_HOST:OPS_PORT (default 127.0.0.1:9100).

It is a separate aiohttp app from the public listener, so what a provider (or anyone on the internet)
can reach never includes the bot's health or its metrics.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.metrics import Metrics
from bot.serving import start_app

log = logging.getLogger(__name__)

MIB = 1024 * 1024


class HealthSource(Protocol):
    async def health(self) -> tuple[bool, dict[str, Any]]: ...


class OpsServer:
    def __init__(
        self,
        health: HealthSource,
        metrics: Metrics,
        *,
        host: str,
        port: int,
        data_dir: Path | None = None,
        min_free_bytes: int = 0,
    ) -> None:
        self.health_source = health
        self.metrics = metrics
        self.data_dir = data_dir  # its filesystem's free space is reported (media and database live there)
        self.min_free_bytes = min_free_bytes  # less free than this on that disk: unhealthy
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics_route)
        return app

    async def start(self) -> None:
        self._runner, self.port = await start_app(self.build_app(), self.host, self.port)
        log.info("ops server (/metrics, /healthz) on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def check(self) -> tuple[bool, dict[str, Any]]:
        """The health source's answer and the media disk's free space, also recorded in the gauges that
        alerts watch."""
        healthy, details = await self.health_source.health()
        self.metrics.gateway_connected.set(1 if details.get("discord") == "connected" else 0)
        if self.data_dir is None:
            return healthy, details
        usage = await asyncio.to_thread(_disk_usage, self.data_dir)
        if usage is None:
            details["disk"] = "unknown"
            return healthy, details
        free, total = usage
        self.metrics.disk_free_bytes.set(free)
        self.metrics.disk_size_bytes.set(total)
        details["disk"] = "ok" if free >= self.min_free_bytes else "low"
        if free < self.min_free_bytes:
            details.setdefault("reasons", []).append(
                f"the media disk has {free / MIB:.0f} MiB free, below MIN_FREE_DISK_BYTES "
                f"({self.min_free_bytes / MIB:.0f} MiB)"
            )
            healthy = False
        return healthy, details

    async def healthz(self, request: web.Request) -> web.Response:
        healthy, details = await self.check()
        return web.json_response({"healthy": healthy, **details}, status=200 if healthy else 503)

    async def metrics_route(self, request: web.Request) -> web.Response:
        await self.check()  # so every scrape sees the gateway and the disk as they are now
        response = web.Response(body=self.metrics.render())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response


def _disk_usage(path: Path) -> tuple[int, int] | None:
    """(free, total) bytes of the filesystem holding `path` or its nearest existing parent, if known."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            try:
                usage = shutil.disk_usage(candidate)
            except OSError:
                return None
            return usage.free, usage.total
    return None
