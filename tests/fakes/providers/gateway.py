"""A loopback fake of an EZmodel / new-api style gateway in front of Kling (providers.md §3).

- Auth: `Authorization: Bearer sk-…`; otherwise 401 `{"error": {message, type: "new_api_error", code}}`.
- POST /kling/v1/videos/<kind>: the gateway's own checks first (§3.4: a motion request without
  image_url/video_url, or with a bad character_orientation or mode, answers HTTP 500
  build_request_failed); a request without a model has no channel (503). Then Kling's own validation,
  whose refusals come back as 400 `task_failed` carrying Kling's message.
- `profile` picks the wire shapes, switchable at any time:
  - "documented" (§3.1): submit and query answer the Kling envelope `{code: 0, data: {task_id, …}}`;
  - "observed" (§3.2): submit answers an OpenAI-video object `{id, task_id, object: "video", …}`, the
    query a TaskDto `{code: "success", data: {status: "SUCCESS", fail_reason: <url>, data: <Kling>}}`;
  - "openai": submit answers `{id, object: "video", status: "queued"}` and the query a flat
    `{task_id, status: queued|in_progress|completed|failed, url, metadata, error}`;
    `openai_wrapped=True` wraps it in `{code: "success", data: …}` with the
    queued|processing|succeeded|failed words of new-api's Vertex/Gemini channels.
- GET /v1/video/generations/{task_id} and GET /kling/v1/videos/<kind>/{task_id} answer alike.
- Callbacks come from "Kling", in its bare format, to the callback_url passed through (§3.3).
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from tests.fakes.providers.common import FakeProvider, FakeTask
from tests.fakes.providers.kling import (
    KINDS,
    KlingApiError,
    envelope,
    kling_task_object,
    read_object,
    sign_result_url,
    take_inputs,
    validate_body,
)

PROFILES = ("documented", "observed", "openai")
ACTIONS = {
    "motion-control": "motionControl",
    "text2video": "textGenerate",
    "image2video": "generate",
    "video-extend": "videoExtend",
}
TASK_DTO_STATUS = {
    "queued": "QUEUED",
    "processing": "IN_PROGRESS",
    "succeeded": "SUCCESS",
    "failed": "FAILURE",
}
OPENAI_STATUS = {
    "queued": "queued",
    "processing": "in_progress",
    "succeeded": "completed",
    "failed": "failed",
}
WRAPPED_STATUS = {
    "queued": "queued",
    "processing": "processing",
    "succeeded": "succeeded",
    "failed": "failed",
}
PROGRESS = {"queued": "0%", "processing": "50%", "succeeded": "100%", "failed": "100%"}


class GatewayError(Exception):
    """`{code: "<string>", message, data: null}` with the error's own HTTP status (§3.4)."""

    def __init__(self, http_status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.code = code
        self.message = message

    def response(self) -> web.Response:
        body = {"code": self.code, "message": self.message, "data": None}
        return web.json_response(body, status=self.http_status)


def middleware_error(http_status: int, message: str, code: str = "") -> web.Response:
    body = {"error": {"message": message, "type": "new_api_error", "code": code}}
    return web.json_response(body, status=http_status)


def build_request_check(kind: str, body: dict[str, Any]) -> None:
    """What the gateway's BuildRequestBody refuses before calling Kling (HTTP 500, §3.4)."""
    if kind != "motion-control":
        return
    for field in ("image_url", "video_url"):
        if not body.get(field):
            raise GatewayError(500, "build_request_failed", f"{field} is required for motion-control")
    if body.get("character_orientation") not in ("image", "video"):
        raise GatewayError(500, "build_request_failed", "character_orientation must be image or video")
    if body.get("mode") not in ("std", "pro"):
        raise GatewayError(500, "build_request_failed", "mode must be std or pro")


class GatewayFake(FakeProvider):
    name = "gateway"

    def __init__(
        self,
        *,
        api_key: str = "sk-gateway-test-key",
        profile: str = "observed",
        openai_wrapped: bool = False,
        callback_on_every_status: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}")
        self.api_key = api_key
        self.profile = profile
        self.openai_wrapped = openai_wrapped
        self.callback_on_every_status = callback_on_every_status

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/kling/v1/videos/{kind}", self._create),
            web.get("/kling/v1/videos/{kind}/{task_id}", self._query),
            web.get("/v1/video/generations/{task_id}", self._query),
        ]

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.api_key}"

    # ---- create ----------------------------------------------------------------------------

    async def _create(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return middleware_error(401, "无效的令牌", "invalid_api_key")
        if self.at_capacity():  # full: the relay's 429, "upstream load saturated"
            return GatewayError(429, "task_failed", "上游负载已饱和").response()
        kind = request.match_info["kind"]
        body = await read_object(request)
        if kind not in KINDS or body is None:
            return GatewayError(400, "invalid_request", "invalid request").response()
        model = body.get("model_name") or body.get("model")
        if not model and kind != "video-extend":  # the gateway routes by model (§3.1)
            return middleware_error(503, "no available channel for model", "model_not_found")
        try:
            build_request_check(kind, body)
            task = await self._create_upstream(kind, body)
        except GatewayError as error:
            return error.response()
        return web.json_response(self.submit_body(task, model or "kling-v1-6"))

    async def _create_upstream(self, kind: str, body: dict[str, Any]) -> FakeTask:
        """The gateway forwards the body to Kling; Kling's refusal becomes task_failed (§3.4)."""
        task = FakeTask(
            task_id=str(842250903629080000 + int(self.next_id())),
            kind=kind,
            request=body,
            callback_url=body.get("callback_url") or None,
            external_id=body.get("external_task_id") or None,
        )
        try:
            validate_body(kind, body)
            await take_inputs(self, task, body)
        except KlingApiError as error:
            raise GatewayError(400, "task_failed", error.message) from None
        self.add_task(task)
        sign_result_url(task)
        return task

    def submit_body(self, task: FakeTask, model: str) -> dict[str, Any]:
        if self.profile == "documented":
            return envelope({"task_id": task.task_id, "task_status": "submitted"})
        video = {
            "id": task.task_id,
            "object": "video",
            "model": model,
            "status": "" if self.profile == "observed" else "queued",
            "progress": 0,
            "created_at": int(time.time()),
        }
        if self.profile == "observed":
            video["task_id"] = task.task_id
        return video

    # ---- query -----------------------------------------------------------------------------

    async def _query(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return middleware_error(401, "无效的令牌", "invalid_api_key")
        task = self.tasks.get(request.match_info["task_id"])
        if task is None:
            return GatewayError(400, "task_not_exist", "task_not_exist").response()
        if self.profile == "documented":
            return web.json_response(envelope(kling_task_object(task)))
        if self.profile == "observed":
            return web.json_response({"code": "success", "message": "", "data": self.task_dto(task)})
        return web.json_response(self.openai_object(task))

    def task_dto(self, task: FakeTask) -> dict[str, Any]:
        """new-api's TaskDto: the result URL sits in fail_reason on success (§3.2)."""
        fail_reason = (task.result_url if task.state == "succeeded" else task.fail_message) or ""
        seconds = task.created_ms // 1000
        return {
            "task_id": task.task_id,
            "action": ACTIONS[task.kind],
            "status": TASK_DTO_STATUS[task.state],
            "fail_reason": fail_reason,
            "submit_time": seconds,
            "start_time": seconds + 3 if task.state != "queued" else 0,
            "finish_time": task.updated_ms // 1000 if task.state in ("succeeded", "failed") else 0,
            "progress": PROGRESS[task.state],
            "data": envelope(kling_task_object(task)),
        }

    def openai_object(self, task: FakeTask) -> dict[str, Any]:
        done = task.state == "succeeded"
        error = {"message": task.fail_message, "code": "task_failed"} if task.state == "failed" else None
        words = WRAPPED_STATUS if self.openai_wrapped else OPENAI_STATUS
        obj: dict[str, Any] = {
            "task_id": task.task_id,
            "status": words[task.state],
            "url": task.result_url if done else "",
            "format": "mp4",
            "metadata": {"url": task.result_url} if done else None,
            "error": error,
        }
        if self.openai_wrapped:
            return {"code": "success", "data": obj}
        return obj

    # ---- callbacks (sent by Kling itself) ----------------------------------------------------

    def callback_bodies(self, task: FakeTask) -> list[tuple[dict[str, Any], dict[str, str]]]:
        terminal = task.state in ("succeeded", "failed")
        if terminal or (self.callback_on_every_status and task.state == "processing"):
            return [(kling_task_object(task), {})]
        return []
