"""Contract tests of the provider clients against their loopback fakes, and what they share:
an input server with signed URLs, a callback receiver, a no-wait retry policy, a secret check.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from bot.models import MediaInput
from bot.providers.config import HttpConfig
from bot.retry import RetryPolicy
from tests.support.media import make_image, make_video

# Retries happen, but never wait: the delay ceiling is zero (Retry-After included).
NO_WAIT = HttpConfig(retry=RetryPolicy(attempts=3, first_delay=0.0, max_delay=0.0), timeout=10.0)


class _LoopbackServer:
    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    async def __aenter__(self) -> Any:
        app = web.Application()
        app.add_routes(self.routes())
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class InputServer(_LoopbackServer):
    """Serves input files at signed, expiring-looking URLs, like the listener's input URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.signature = secrets.token_hex(12)
        self.files: dict[str, bytes] = {}
        self.downloads: list[str] = []

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/inputs/{name}", self._serve)]

    async def _serve(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if request.query.get("sig") != self.signature or name not in self.files:
            return web.Response(status=403, text="expired or unsigned")
        self.downloads.append(name)
        return web.Response(body=self.files[name])

    def media(self, data: bytes, filename: str, content_type: str) -> MediaInput:
        name = f"{len(self.files)}-{filename}"
        self.files[name] = data
        return MediaInput(data, filename, content_type, f"{self.base_url}/inputs/{name}?sig={self.signature}")

    def image(self, width: int = 320, height: int = 320) -> MediaInput:
        return self.media(make_image(width, height), "character.png", "image/png")

    def video(self, seconds: float = 3.0) -> MediaInput:
        return self.media(make_video(seconds, 160, 240), "dance.mp4", "video/mp4")


def inline_image(width: int = 320, height: int = 320) -> MediaInput:
    """An image the bot holds as bytes only, with no URL to hand over."""
    return MediaInput(make_image(width, height), "character.png", "image/png")


class CallbackSink(_LoopbackServer):
    """Receives provider callbacks and keeps their decoded bodies."""

    def __init__(self) -> None:
        super().__init__()
        self.token = secrets.token_urlsafe(16)
        self.bodies: list[Any] = []
        self.arrived = asyncio.Event()

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/callbacks/{token}", self._receive)]

    @property
    def url(self) -> str:
        return f"{self.base_url}/callbacks/{self.token}"

    async def _receive(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=404)
        self.bodies.append(await request.json())
        self.arrived.set()
        return web.json_response({"ok": True})


def assert_no_secrets(texts: Iterable[str], secret_values: Iterable[str]) -> None:
    values = [s for s in secret_values if s]
    for text in texts:
        for value in values:
            assert value not in text, f"a secret leaked into: {text[:200]!r}"


def log_texts(records: Iterable[logging.LogRecord]) -> list[str]:
    """Every captured log line, message and arguments rendered, exceptions included."""
    texts = []
    for record in records:
        texts.append(record.getMessage())
        if record.exc_text:
            texts.append(record.exc_text)
    return texts
