"""The webhook listener: an aiohttp server in the bot's process, started and stopped with the bot.

Routes (PRODUCT.md §5): POST /callbacks/{token}, GET /inputs/{token}/{name}
which serves a job's input files to the provider under an unguessable, expiring path, and
GET /results/{job_id}/{token}/{name} which serves a finished video too large to upload to Discord, for
the time its link says. /metrics and /healthz live on the private ops port (bot/ops.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from bot.jobs.callbacks import CallbackOutcome
from bot.json_input import UnreadableJson, read_json
from bot.metrics import Metrics
from bot.serving import start_app

log = logging.getLogger(__name__)

MAX_CALLBACK_BYTES = 1024 * 1024

# How the engine's verdict on a callback is answered.
CALLBACK_STATUS = {
    CallbackOutcome.ACCEPTED: 200,
    CallbackOutcome.UNKNOWN_TOKEN: 404,
    CallbackOutcome.BAD_SIGNATURE: 401,
    CallbackOutcome.WRONG_TASK: 409,
    CallbackOutcome.UNREADABLE: 400,
}


class CallbackSink(Protocol):
    async def accept_callback(self, token: str, body: Any, headers: Mapping[str, str]) -> CallbackOutcome: ...


class FileSource(Protocol):
    async def input_file(self, token: str, name: str) -> Path | None: ...

    async def result_file(self, job_id: str, token: str, name: str) -> Path | None: ...


class WebhookListener:
    def __init__(
        self,
        sink: CallbackSink,
        files: FileSource,
        metrics: Metrics,
        *,
        host: str,
        port: int,
    ) -> None:
        self.sink = sink
        self.files = files
        self.metrics = metrics
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    def build_app(self) -> web.Application:
        # client_max_size one byte over the limit: bigger bodies are refused by our own check below.
        app = web.Application(client_max_size=MAX_CALLBACK_BYTES + 1)
        app.router.add_post("/callbacks/{token}", self.callback)
        app.router.add_get("/inputs/{token}/{name}", self.input_route)
        app.router.add_get("/results/{job_id}/{token}/{name}", self.result_route)
        return app

    async def start(self) -> None:
        self._runner, self.port = await start_app(self.build_app(), self.host, self.port)
        log.info("webhook listener on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def callback(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if request.content_length is not None and request.content_length > MAX_CALLBACK_BYTES:
            return self._callback_answer(413, "too_large")
        raw = await _read_capped(request, MAX_CALLBACK_BYTES)
        if raw is None:
            return self._callback_answer(413, "too_large")
        try:
            body = read_json(raw)
        except UnreadableJson as unreadable:
            # A broken or hostile body is the sender's problem: a 400 and a line, never a traceback.
            log.info("callback body refused: %s", unreadable)
            return self._callback_answer(400, "malformed")
        outcome = await self.sink.accept_callback(token, body, request.headers)
        return self._callback_answer(CALLBACK_STATUS[outcome], outcome.value)

    def _callback_answer(self, status: int, reason: str) -> web.Response:
        self.metrics.callbacks.labels(result=reason).inc()
        return web.json_response({"ok": status == 200, "result": reason}, status=status)

    async def input_route(self, request: web.Request) -> web.StreamResponse:
        path = await self.files.input_file(request.match_info["token"], request.match_info["name"])
        if path is None:
            raise web.HTTPNotFound()
        return web.FileResponse(path)

    async def result_route(self, request: web.Request) -> web.StreamResponse:
        info = request.match_info
        path = await self.files.result_file(info["job_id"], info["token"], info["name"])
        if path is None:
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Content-Type": "video/mp4"})


async def _read_capped(request: web.Request, limit: int) -> bytes | None:
    """The whole body, or None once it grows past `limit`.

    `StreamReader.read(n)` returns whatever has arrived so far (one chunk of a chunked body), so the
    body is read until the end of the stream, never keeping more than `limit` + one chunk.
    """
    parts: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(64 * 1024)
        if not chunk:
            return b"".join(parts)
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
