"""What every fake provider shares: a loopback aiohttp server, a task table, recorded requests,
real fetching of input URLs, result videos served over HTTP, real callbacks, and waiting on events.

A family's fake subclasses `FakeProvider`, adds its routes in `routes()`, and says in its own words
how a task looks (`task_body`) and what its callbacks carry (`callback_bodies`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Self

import aiohttp
from aiohttp import web

from tests.support.media import make_video


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any  # decoded JSON, form fields, or raw bytes
    status: int = 0


@dataclass
class FakeTask:
    task_id: str
    kind: str  # the family's own word for the endpoint (motion, text2video, …)
    request: dict[str, Any]
    callback_url: str | None
    state: str = "queued"  # queued | processing | succeeded | failed (the fake's own bookkeeping)
    inputs: dict[str, bytes] = field(default_factory=dict)  # input URL -> bytes really fetched
    result_url: str | None = None
    video_id: str | None = None
    duration: float = 5.0
    fail_message: str | None = None
    external_id: str | None = None
    created_ms: int = 0
    updated_ms: int = 0
    callbacks_sent: int = 0


@dataclass
class InjectedFailure:
    """Answer the next `times` requests whose path contains `path_part` with this status and body."""

    path_part: str
    status: int
    body: Any
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)


class FakeProvider:
    """Base of the loopback fakes. `auto=True` finishes tasks by itself right after submission."""

    name = "fake"

    def __init__(
        self,
        *,
        auto: bool = True,
        result_video: bytes | None = None,
        callback_headers: dict[str, str] | None = None,
    ) -> None:
        self.auto = auto
        self.result_video = result_video if result_video is not None else make_video(3.0, 320, 240)
        self.requests: list[RecordedRequest] = []
        self.tasks: dict[str, FakeTask] = {}
        self.callback_responses: list[int] = []
        self.failures: list[InjectedFailure] = []
        self.callbacks_enabled = True
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._background: set[asyncio.Task[None]] = set()
        self.base_url = ""
        self.extra_callback_headers = callback_headers or {}
        self.result_downloads = 0
        # When set, tasks finished by `auto` fail with this reason instead of succeeding.
        self.auto_fail_message: str | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    async def start(self) -> Self:
        app = web.Application(middlewares=[self._record], client_max_size=256 * 1024**2)
        app.add_routes(self.routes())
        app.router.add_get("/_results/{name}", self._serve_result)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        self._session = aiohttp.ClientSession()
        return self

    async def stop(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- recording, failure injection, waiting ---------------------------------------------

    @web.middleware
    async def _record(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        body: Any = None
        if request.can_read_body and request.content_type != "multipart/form-data":
            raw = await request.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw
        recorded = RecordedRequest(
            request.method, request.path, dict(request.query), dict(request.headers), body
        )
        if not request.path.startswith("/_results/"):
            self.requests.append(recorded)
        failure = self._take_failure(request.path)
        if failure is not None and isinstance(failure.body, bytes):  # raw, possibly hostile, bytes
            response: web.StreamResponse = web.Response(
                body=failure.body,
                status=failure.status,
                headers=failure.headers,
                content_type="application/json",
            )
        elif failure is not None:
            response = web.json_response(failure.body, status=failure.status, headers=failure.headers)
        else:
            response = await handler(request)
        recorded.status = response.status
        await self.notify()
        return response

    def fail_next(
        self, path_part: str, status: int, body: Any, *, times: int = 1, headers: dict[str, str] | None = None
    ) -> None:
        self.failures.append(InjectedFailure(path_part, status, body, times, headers or {}))

    def _take_failure(self, path: str) -> InjectedFailure | None:
        for failure in self.failures:
            if failure.path_part in path and failure.times > 0:
                failure.times -= 1
                return failure
        return None

    async def notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until `predicate()` holds, woken by every request and task change (no sleeping)."""

        async def waiter() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)

        await asyncio.wait_for(waiter(), timeout)

    def requests_to(self, path_part: str, method: str | None = None) -> list[RecordedRequest]:
        return [r for r in self.requests if path_part in r.path and (method is None or r.method == method)]

    # ---- tasks -------------------------------------------------------------------------------

    def next_id(self) -> str:
        return f"{next(self._ids):06d}"

    def now_ms(self) -> int:
        return int(asyncio.get_running_loop().time() * 1000) + 1_767_690_000_000

    def add_task(self, task: FakeTask) -> FakeTask:
        task.created_ms = task.updated_ms = self.now_ms()
        task.result_url = f"{self.base_url}/_results/{task.task_id}.mp4"
        task.video_id = f"vid-{task.task_id}"
        self.tasks[task.task_id] = task
        if self.auto:
            self.spawn(self._auto_finish(task))
        return task

    def spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _auto_finish(self, task: FakeTask) -> None:
        await self.start_processing(task.task_id)
        if self.auto_fail_message is not None:
            await self.fail(task.task_id, self.auto_fail_message)
        else:
            await self.succeed(task.task_id)

    async def fetch_inputs(self, task: FakeTask, urls: list[str]) -> None:
        """Really download what the client handed over, the way the provider would."""
        assert self._session is not None
        for url in urls:
            if not url.startswith(("http://", "https://")):
                continue  # raw base64 inputs are kept as they came
            async with self._session.get(url) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"input fetch {resp.status}")
                task.inputs[url] = await resp.read()

    async def start_processing(self, task_id: str) -> None:
        task = self.tasks[task_id]
        task.state = "processing"
        task.updated_ms = self.now_ms()
        await self.notify()
        await self.send_callbacks(task)

    async def succeed(self, task_id: str, *, duration: float | None = None) -> None:
        task = self.tasks[task_id]
        if duration is not None:
            task.duration = duration
        task.state = "succeeded"
        task.updated_ms = self.now_ms()
        await self.notify()
        await self.send_callbacks(task)

    async def fail(self, task_id: str, message: str = "The generation failed.") -> None:
        task = self.tasks[task_id]
        task.state = "failed"
        task.fail_message = message
        task.updated_ms = self.now_ms()
        await self.notify()
        await self.send_callbacks(task)

    # ---- callbacks ---------------------------------------------------------------------------

    def callback_bodies(self, task: FakeTask) -> list[tuple[dict[str, Any], dict[str, str]]]:
        """The callbacks this family sends for the task's current state (body, extra headers)."""
        raise NotImplementedError

    async def send_callbacks(self, task: FakeTask) -> None:
        if not task.callback_url or not self.callbacks_enabled:
            return
        for body, headers in self.callback_bodies(task):
            await self.post_callback(task, body, headers)

    async def post_callback(self, task: FakeTask, body: Any, headers: dict[str, str] | None = None) -> int:
        assert self._session is not None and task.callback_url is not None
        all_headers = {"Content-Type": "application/json", **self.extra_callback_headers, **(headers or {})}
        try:
            async with self._session.post(
                task.callback_url, data=json.dumps(body), headers=all_headers
            ) as resp:
                status = resp.status
        except aiohttp.ClientError:
            status = 0
        task.callbacks_sent += 1
        self.callback_responses.append(status)
        await self.notify()
        return status

    async def _serve_result(self, request: web.Request) -> web.StreamResponse:
        self.result_downloads += 1
        return web.Response(body=self.result_video, content_type="video/mp4")
