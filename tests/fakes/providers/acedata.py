"""A loopback fake of AceData Cloud's Kling API (providers.md §1).

- Auth: `Authorization: Bearer <token>`; none → 400 no_token, a wrong one → 401 invalid_token (§1.6).
- POST /kling/motion and POST /kling/videos (action text2video | image2video | extend) check the
  documented required fields, enums and ranges (§1.2, §1.3) and answer 400 bad_request otherwise;
  the newer models' matrix, omni references and multi-shot are checked in acedata_matrix.py.
- All three response modes (§1.1): `callback_url` or `"async": true` answer `{task_id, trace_id}` at
  once; with neither, the request is held open until the task ends (sync mode).
- Full: past `max_running` unfinished tasks, a create answers 429 too_many_requests.
- Input URLs are really downloaded; one that cannot be answers 500 api_error "fetch failed" (the error
  example of the guides).
- POST /kling/tasks: retrieve and retrieve_batch. `finished_at`, `elapsed` and `response` are omitted
  until the task ends (`pending_response="placeholder"` shows `{success: true, task_id}` instead,
  as a sister service does: §1.5).
- `result_shape`: "flat" (every doc example), "nested" (`data` object, the CLI fixtures) or "array"
  (`data` array, the OpenAPI schema): §1.4.
- Callbacks: once, at the end, the same body as the final response. The failure body is the guess of
  §1.4 (`success: false` plus `error`); no source shows one.

Guess: an unknown task id answers 404 `{"error": {"code": "not_found", …}}` (§7a.2: undocumented).
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.providers.acedata_errors import AceDataApiError, bad_request
from tests.fakes.providers.acedata_matrix import reference_urls, validate_matrix
from tests.fakes.providers.common import FakeProvider, FakeTask
from tests.fakes.providers.kling import CAMERA_AXES, CAMERA_TYPES, read_object

MOTION_API_ID = "2c26cb33-46ac-4bd7-82f9-0ec63e688172"
VIDEOS_API_ID = "29187cb2-1acb-43b8-baf5-3f3f709292eb"
MOTION_MODELS = frozenset({"kling-v2-6", "kling-v3"})
VIDEO_MODELS = frozenset(
    {
        "kling-v1",
        "kling-v1-5",
        "kling-v1-6",
        "kling-v2-master",
        "kling-v2-1-master",
        "kling-v2-5-turbo",
        "kling-v2-6",
        "kling-v3",
        "kling-v3-turbo",
        "kling-v3-omni",
        "kling-o1",
        "kling-video-o1",  # the seed's name for kling-o1: accept both (§1.3)
    }
)
OMNI_MODELS = frozenset({"kling-o1", "kling-video-o1", "kling-v3-omni"})
ACTIONS = ("text2video", "image2video", "extend")


def _require(body: dict[str, Any], *fields: str) -> None:
    for field in fields:
        if body.get(field) in (None, ""):
            raise bad_request(f"{field} is required.")


def _one_of(body: dict[str, Any], field: str, allowed: tuple[str, ...] | frozenset[str]) -> None:
    if field in body and body[field] not in allowed:
        raise bad_request(f"{field} is invalid.")


def _max_length(body: dict[str, Any], field: str, limit: int) -> None:
    value = body.get(field)
    if value is not None and (not isinstance(value, str) or len(value) > limit):
        raise bad_request(f"{field} is invalid.")


def _url(body: dict[str, Any], field: str) -> None:
    value = body.get(field)
    if value is not None and not (isinstance(value, str) and value.startswith(("http://", "https://"))):
        raise bad_request(f"{field} is invalid.")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def validate_motion(body: dict[str, Any]) -> None:
    """§1.2."""
    _require(body, "image_url", "video_url", "character_orientation", "mode")
    _url(body, "image_url")
    _url(body, "video_url")
    _one_of(body, "character_orientation", ("image", "video"))
    _one_of(body, "mode", ("std", "pro"))
    _one_of(body, "keep_original_sound", ("yes", "no"))
    _one_of(body, "model_name", MOTION_MODELS)
    _max_length(body, "prompt", 2500)


def validate_videos(body: dict[str, Any]) -> None:
    """§1.3 and its capability notes."""
    _require(body, "action")
    _one_of(body, "action", ACTIONS)
    action = body["action"]
    _one_of(body, "model", VIDEO_MODELS)
    _one_of(body, "mode", ("std", "pro", "4k"))
    _one_of(body, "aspect_ratio", ("16:9", "9:16", "1:1"))
    _max_length(body, "prompt", 2500)
    _max_length(body, "negative_prompt", 200)
    if action == "text2video":
        _require(body, "prompt")
    elif action == "image2video":
        _require(body, "start_image_url")
    else:
        _require(body, "video_id", "prompt")  # "must fill in the prompt" for extend (seed guide)
    if body.get("end_image_url") and not (action == "image2video" and body.get("start_image_url")):
        raise bad_request("end_image_url is only supported with a start_image_url in image2video.")
    _url(body, "start_image_url")
    _url(body, "end_image_url")
    _check_duration(body)
    cfg = body.get("cfg_scale")
    if cfg is not None and (not _number(cfg) or not 0 <= cfg <= 1):
        raise bad_request("cfg_scale is invalid.")
    if body.get("model") in OMNI_MODELS and ("negative_prompt" in body or "cfg_scale" in body):
        raise bad_request("negative_prompt and cfg_scale are not supported with omni models.")
    _check_camera(body)
    validate_matrix(body)


def _check_duration(body: dict[str, Any]) -> None:
    if "duration" not in body:
        return
    value = body["duration"]
    if not _number(value) or value != int(value):
        raise bad_request("duration is invalid.")  # a number here, not Kling's string (§1.3)
    model = body.get("model", "kling-v1")
    if model in ("kling-v3", "kling-v3-omni", "kling-v3-turbo"):
        allowed = set(range(3, 16))
    elif model in ("kling-o1", "kling-video-o1") or body.get("end_image_url"):
        allowed = {5}
    else:
        allowed = {5, 10}
    if int(value) not in allowed:
        raise bad_request(f"model/mode/duration({model}/{body.get('mode', 'std')}/{value}) is not supported.")


def _check_camera(body: dict[str, Any]) -> None:
    """The official ranges ([-10, 10], exactly one non-zero) rather than AceData's [-1, 1] (§1.3 note)."""
    camera = body.get("camera_control")
    if camera is None:
        return
    if not isinstance(camera, dict) or camera.get("type") not in CAMERA_TYPES:
        raise bad_request("camera_control is invalid.")
    if body.get("mode") == "4k":
        raise bad_request("camera_control is not supported with mode 4k.")
    config = camera.get("config")
    if camera["type"] != "simple":
        if config not in (None, {}):
            raise bad_request("camera_control.config is only supported with type simple.")
        return
    if not isinstance(config, dict):
        raise bad_request("camera_control.config is required.")
    values = [config.get(axis, 0) for axis in CAMERA_AXES]
    if not all(_number(v) and -10 <= v <= 10 for v in values) or sum(1 for v in values if v) != 1:
        raise bad_request("camera_control.config is invalid.")


class AceDataFake(FakeProvider):
    name = "acedata"

    def __init__(
        self,
        *,
        api_key: str = "acedata-test-token",
        result_shape: str = "flat",
        pending_response: str = "absent",
        sync_timeout: float = 30.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.api_key = api_key
        self.result_shape = result_shape
        self.pending_response = pending_response
        self.sync_timeout = sync_timeout

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/kling/motion", self._motion),
            web.post("/kling/videos", self._videos),
            web.post("/kling/tasks", self._tasks),
        ]

    # ---- plumbing --------------------------------------------------------------------------

    def error(self, error: AceDataApiError) -> web.Response:
        body = {
            "success": False,
            "error": {"code": error.code, "message": error.message},
            "trace_id": _trace(),
        }
        return web.json_response(body, status=error.http_status)

    def check_auth(self, request: web.Request) -> AceDataApiError | None:
        header = request.headers.get("Authorization")
        if not header:
            return AceDataApiError(400, "no_token", "No token specified for the request.")
        if header != f"Bearer {self.api_key}":
            return AceDataApiError(401, "invalid_token", "The specified token is invalid or wrong.")
        return None

    async def _accept(self, request: web.Request) -> dict[str, Any] | AceDataApiError:
        denied = self.check_auth(request)
        if denied is not None:
            return denied
        body = await read_object(request)
        if body is None:
            return bad_request("The request body is not valid JSON.")
        return body

    # ---- create ----------------------------------------------------------------------------

    async def _motion(self, request: web.Request) -> web.Response:
        body = await self._accept(request)
        if isinstance(body, AceDataApiError):
            return self.error(body)
        try:
            validate_motion(body)
        except AceDataApiError as error:
            return self.error(error)
        return await self._create("motion", body, [body["image_url"], body["video_url"]])

    async def _videos(self, request: web.Request) -> web.Response:
        body = await self._accept(request)
        if isinstance(body, AceDataApiError):
            return self.error(body)
        try:
            validate_videos(body)
        except AceDataApiError as error:
            return self.error(error)
        urls = [body[f] for f in ("start_image_url", "end_image_url") if body.get(f)]
        urls += reference_urls(body)
        return await self._create("videos", body, urls)

    async def _create(self, kind: str, body: dict[str, Any], urls: list[str]) -> web.Response:
        if self.at_capacity():
            return self.error(AceDataApiError(429, "too_many_requests", "Too many requests, slow down."))
        task = FakeTask(str(uuid.uuid4()), kind, body, callback_url=body.get("callback_url") or None)
        try:
            await self.fetch_inputs(task, urls)
        except (RuntimeError, aiohttp.ClientError):
            return self.error(AceDataApiError(500, "api_error", "fetch failed"))
        self.add_task(task)
        # Results sit on a signed CDN URL (the seed's example carries a query-string key).
        task.result_url = f"{task.result_url}?pkey={secrets.token_hex(8)}"
        if task.callback_url or body.get("async") is True:
            return web.json_response({"task_id": task.task_id, "trace_id": _trace()})
        return await self._hold_until_done(task)

    async def _hold_until_done(self, task: FakeTask) -> web.Response:
        """The synchronous mode: the HTTP request stays open until the video is finished (§1.1)."""
        try:
            await self.wait_for(lambda: task.state in ("succeeded", "failed"), timeout=self.sync_timeout)
        except TimeoutError:
            return self.error(AceDataApiError(504, "timeout", "upstream timeout"))
        status = 200 if task.state == "succeeded" else 500
        return web.json_response(self.final_response(task), status=status)

    # ---- tasks -----------------------------------------------------------------------------

    async def _tasks(self, request: web.Request) -> web.Response:
        body = await self._accept(request)
        if isinstance(body, AceDataApiError):
            return self.error(body)
        action = body.get("action")
        if action == "retrieve":
            task = self.tasks.get(str(body.get("id")))
            if task is None:
                return self.error(AceDataApiError(404, "not_found", "The task does not exist."))
            return web.json_response(self.record(task))
        if action == "retrieve_batch":
            ids = body.get("ids")
            if not isinstance(ids, list):
                return self.error(bad_request("ids is invalid."))
            items = [self.record(self.tasks[i]) for i in ids if isinstance(i, str) and i in self.tasks]
            return web.json_response({"items": items, "count": len(items)})
        return self.error(bad_request("action is invalid."))

    def record(self, task: FakeTask) -> dict[str, Any]:
        """One task as /kling/tasks shows it (§1.5)."""
        created = task.created_ms / 1000
        record: dict[str, Any] = {
            "_id": uuid.uuid5(uuid.NAMESPACE_URL, task.task_id).hex[:24],
            "id": task.task_id,
            "api_id": MOTION_API_ID if task.kind == "motion" else VIDEOS_API_ID,
            "application_id": "f35762fe-e8a4-4613-bb70-e5c1be4f9fc2",
            "credential_id": "ce81345f-7e2a-4871-b539-aefb5f725220",
            "user_id": "ad7afe47-cea9-4cda-980f-2ad8810e51cf",
            "trace_id": _trace(),
            "type": task.kind,
            "job_id": f"Cj{task.task_id[:8]}",
            "created_at": created,
            "request": task.request,
        }
        if task.state != "queued":
            record["started_at"] = created + 0.06
        if task.state in ("succeeded", "failed"):
            record["finished_at"] = task.updated_ms / 1000
            record["elapsed"] = round(record["finished_at"] - created, 3)
            record["response"] = self.final_response(task)
        elif self.pending_response == "placeholder":
            record["response"] = {"success": True, "task_id": task.task_id}
        return record

    def final_response(self, task: FakeTask) -> dict[str, Any]:
        if task.state == "failed":
            return {
                "success": False,
                "task_id": task.task_id,
                "error": {"code": "api_error", "message": task.fail_message or "failed"},
                "trace_id": _trace(),
            }
        result = {
            "video_id": task.video_id,
            "video_url": task.result_url,
            "duration": f"{task.duration:.3f}",
            "state": "succeed",
        }
        if self.result_shape == "nested":
            return {"success": True, "task_id": task.task_id, "trace_id": _trace(), "data": result}
        if self.result_shape == "array":
            return {"success": True, "task_id": task.task_id, "trace_id": _trace(), "data": [result]}
        return {"success": True, "task_id": task.task_id, **result}

    def callback_bodies(self, task: FakeTask) -> list[tuple[dict[str, Any], dict[str, str]]]:
        if task.state not in ("succeeded", "failed"):
            return []
        return [(self.final_response(task), {})]


def _trace() -> str:
    return str(uuid.uuid4())
