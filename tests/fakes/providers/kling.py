"""A loopback fake of the official Kling API (providers.md §2).

- Auth: `Authorization: Bearer <JWT>`, HS256 signed with the secret key, `iss` the access key,
  `nbf <= now < exp` by the fake's own `clock`; failures answer 401 with codes 1000-1004 (§2.1, §2.6).
- POST /v1/videos/{motion-control,text2video,image2video,video-extend,omni-video}: the documented
  required fields and enums (§2.3, §2.4), answered with 400 and 1200 (missing) or 1201 (bad value).
  omni-video takes the omni models only, `image_list` (≤ 7, ≤ 4 beside a video), one `video_list` entry
  by URL, `sound` off with a reference video, and no negative prompt, cfg_scale or camera.
- Inputs: URLs are really downloaded; raw base64 images are decoded and kept under `base64:<field>`.
- GET /v1/videos/<kind>/{task_id or external_task_id}: the `{code, message, request_id, data}` envelope.
- Full: past `max_running` unfinished tasks, a create answers 429 with code 1303 ("parallel task over
  resource pack limit").
- Callbacks: the bare task object (§2.5); `callback_on_every_status=True` also posts `processing`,
  `wrapped_callbacks=True` posts the {code, data} variant one summary shows.
- GET /account/costs?start_time=<ms>&end_time=<ms> (Kling's account information inquiry, outside
  providers.md): the envelope with data {code, msg, resource_pack_subscribe_infos: [...]}, listing the
  `resource_packs` bought inside the window; a missing or malformed time answers 400 with 1201.

Guesses, marked [I] in providers.md terms: an unknown task answers 404 with code 1203, a reused
external_task_id answers 400 with 1201, an input that cannot be downloaded answers 400 with 1201.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
import uuid
import warnings
from collections.abc import Callable
from typing import Any

import aiohttp
import jwt
from aiohttp import web

from tests.fakes.providers.common import FakeProvider, FakeTask

KINDS = ("motion-control", "text2video", "image2video", "video-extend", "omni-video")
STATUS_WORDS = {"queued": "submitted", "processing": "processing", "succeeded": "succeed", "failed": "failed"}
MOTION_MODELS = frozenset({"kling-v2-6", "kling-v3"})
VIDEO_MODELS = frozenset(
    {
        "kling-v1",
        "kling-v1-5",
        "kling-v1-6",
        "kling-v2-master",
        "kling-v2-1",
        "kling-v2-1-master",
        "kling-v2-5-turbo",
        "kling-v2-6",
        "kling-v3",
    }
)
OMNI_MODELS = frozenset({"kling-video-o1", "kling-v3-omni"})
CAMERA_TYPES = frozenset({"simple", "down_back", "forward_up", "right_turn_forward", "left_turn_forward"})
CAMERA_AXES = ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")
MAX_PROMPT = 2500


class KlingApiError(Exception):
    """An answer in Kling's error shape: HTTP status, numeric code, message."""

    def __init__(self, http_status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.code = code
        self.message = message


def missing(field: str) -> KlingApiError:
    return KlingApiError(400, 1200, f"{field} is required")


def invalid(field: str, why: str = "is invalid") -> KlingApiError:
    return KlingApiError(400, 1201, f"{field} {why}")


# ---- validation (§2.3, §2.4; the gateway fake forwards bodies here too) ------------------------


def _require(body: dict[str, Any], *fields: str) -> None:
    for field in fields:
        if body.get(field) in (None, ""):
            raise missing(field)


def _one_of(body: dict[str, Any], field: str, allowed: frozenset[str] | tuple[str, ...]) -> None:
    if field in body and body[field] not in allowed:
        raise invalid(field, f"must be one of {', '.join(sorted(allowed))}")


def _max_length(body: dict[str, Any], field: str, limit: int) -> None:
    value = body.get(field)
    if value is not None and (not isinstance(value, str) or len(value) > limit):
        raise invalid(field, f"must be a string of at most {limit} characters")


def is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def check_image(body: dict[str, Any], field: str) -> None:
    """A URL, or raw base64 with no data: prefix (§2.3)."""
    value = body.get(field)
    if value is None or is_url(value):
        return
    if not isinstance(value, str) or value.startswith("data:"):
        raise invalid(field, "must be a URL or raw base64 without a data: prefix")
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise invalid(field, "is not valid base64") from None


def check_duration(body: dict[str, Any], *, tail_frame: bool = False) -> None:
    """A string: "5" or "10", "3" to "15" for kling-v3, only "5" with a tail frame (§2.4, §5)."""
    if "duration" not in body:
        return
    value = body["duration"]
    if not isinstance(value, str) or not value.isdigit():
        raise invalid("duration", 'must be a string such as "5"')
    allowed = {str(n) for n in range(3, 16)} if body.get("model_name") == "kling-v3" else {"5", "10"}
    if tail_frame:
        allowed = {"5"}
    if value not in allowed:
        raise invalid("duration", f"must be one of {', '.join(sorted(allowed, key=int))}")


def check_camera(body: dict[str, Any]) -> None:
    camera = body.get("camera_control")
    if camera is None:
        return
    if not isinstance(camera, dict) or camera.get("type") not in CAMERA_TYPES:
        raise invalid("camera_control.type")
    config = camera.get("config")
    if camera["type"] != "simple":
        if config not in (None, {}):
            raise invalid("camera_control.config", "must be empty unless type is simple")
        return
    if not isinstance(config, dict):
        raise missing("camera_control.config")
    values = [config.get(axis, 0) for axis in CAMERA_AXES]
    if any(isinstance(v, bool) or not isinstance(v, int | float) or not -10 <= v <= 10 for v in values):
        raise invalid("camera_control.config", "values must be numbers in [-10, 10]")
    if sum(1 for v in values if v != 0) != 1:
        raise invalid("camera_control.config", "must have exactly one non-zero field")


def check_cfg_scale(body: dict[str, Any]) -> None:
    value = body.get("cfg_scale")
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1
    ):
        raise invalid("cfg_scale", "must be a number in [0, 1]")


def validate_body(kind: str, body: dict[str, Any]) -> None:
    """Raise KlingApiError the way Kling refuses a bad create request."""
    _max_length(body, "prompt", MAX_PROMPT)
    _max_length(body, "negative_prompt", MAX_PROMPT)
    _max_length(body, "external_task_id", 256)
    if kind == "motion-control":
        _require(body, "image_url", "video_url", "character_orientation", "mode")
        _one_of(body, "model_name", MOTION_MODELS)
        _one_of(body, "character_orientation", ("image", "video"))
        _one_of(body, "mode", ("std", "pro"))
        _one_of(body, "keep_original_sound", ("yes", "no"))
        check_image(body, "image_url")
        if not is_url(body["video_url"]):
            raise invalid("video_url", "must be a URL")
    elif kind == "text2video":
        _require(body, "prompt")
        _one_of(body, "model_name", VIDEO_MODELS)
        _one_of(body, "mode", ("std", "pro"))
        _one_of(body, "aspect_ratio", ("16:9", "9:16", "1:1"))
        check_duration(body)
        check_cfg_scale(body)
        check_camera(body)
    elif kind == "image2video":
        if body.get("image") in (None, "") and body.get("image_tail") in (None, ""):
            raise missing("image")
        _one_of(body, "model_name", VIDEO_MODELS)
        _one_of(body, "mode", ("std", "pro"))
        check_image(body, "image")
        check_image(body, "image_tail")
        if body.get("image_tail") and body.get("camera_control"):
            raise invalid("image_tail", "cannot be combined with camera_control")
        check_duration(body, tail_frame=bool(body.get("image_tail")))
        check_cfg_scale(body)
        check_camera(body)
    elif kind == "video-extend":
        _require(body, "video_id")
        check_cfg_scale(body)
    elif kind == "omni-video":
        validate_omni(body)


def validate_omni(body: dict[str, Any]) -> None:
    """§2.4 omni-video."""
    _require(body, "prompt")
    _one_of(body, "model_name", OMNI_MODELS)
    _one_of(body, "mode", ("std", "pro"))
    _one_of(body, "aspect_ratio", ("16:9", "9:16", "1:1"))
    _one_of(body, "sound", ("on", "off"))
    for field in ("negative_prompt", "cfg_scale", "camera_control"):
        if field in body:
            raise invalid(field, "is not supported by omni-video")
    value = body.get("duration", "5")
    if not isinstance(value, str) or value not in {str(n) for n in range(3, 16)}:
        raise invalid("duration", 'must be a string from "3" to "15"')
    images, videos = body.get("image_list") or [], body.get("video_list") or []
    if len(videos) > 1:
        raise invalid("video_list", "takes at most 1 video")
    if len(images) > (4 if videos else 7):
        raise invalid("image_list", "has too many images")
    for index, item in enumerate(images):
        if not isinstance(item, dict) or item.get("type") not in (None, "first_frame", "end_frame"):
            raise invalid(f"image_list[{index}]")
        check_image(item, "image_url")
    for video in videos:
        if not isinstance(video, dict) or not is_url(video.get("video_url")):
            raise invalid("video_list[0].video_url", "must be a URL")
        _one_of(video, "refer_type", ("base", "feature"))
        _one_of(video, "keep_original_sound", ("yes", "no"))
    if videos and body.get("sound") == "on":
        raise invalid("sound", "must be off with a reference video")


def input_fields(kind: str) -> tuple[str, ...]:
    return {
        "motion-control": ("image_url", "video_url"),
        "image2video": ("image", "image_tail"),
    }.get(kind, ())


def input_values(kind: str, body: dict[str, Any]) -> list[tuple[str, Any]]:
    """(field, value) of every input of a create request, omni references included."""
    values = [(field, body.get(field)) for field in input_fields(kind)]
    if kind == "omni-video":
        values += [
            (f"image_list[{i}]", item.get("image_url")) for i, item in enumerate(body.get("image_list") or [])
        ]
        values += [
            (f"video_list[{i}]", item.get("video_url")) for i, item in enumerate(body.get("video_list") or [])
        ]
    return values


async def take_inputs(fake: FakeProvider, task: FakeTask, body: dict[str, Any]) -> None:
    """Download URL inputs and decode base64 ones, as Kling would; KlingApiError if one fails."""
    for field, value in input_values(task.kind, body):
        if not isinstance(value, str) or not value:
            continue
        if is_url(value):
            try:
                await fake.fetch_inputs(task, [value])
            except (RuntimeError, aiohttp.ClientError):
                raise invalid(field, "could not be downloaded") from None
        else:
            task.inputs[f"base64:{field}"] = base64.b64decode(value)


# ---- the task object (§2.3, §2.5; the gateway fake shows it too) -----------------------------


def kling_task_object(task: FakeTask, parent: FakeTask | None = None) -> dict[str, Any]:
    """The task as Kling shows it in a query's `data` and in a bare callback."""
    info: dict[str, Any] = {}
    if task.external_id:
        info["external_task_id"] = task.external_id
    if task.kind == "video-extend":
        info["parent_video"] = {
            "id": task.request.get("video_id"),
            "url": parent.result_url if parent else "",
            "duration": f"{parent.duration:g}" if parent else "5",
        }
    obj: dict[str, Any] = {
        "task_id": task.task_id,
        "task_status": STATUS_WORDS[task.state],
        "task_status_msg": task.fail_message or "",
        "task_info": info,
        "watermark_info": {"enabled": False},
        "created_at": task.created_ms,
        "updated_at": task.updated_ms,
    }
    if task.state == "succeeded":
        obj["final_unit_deduction"] = "2.5"
        obj["task_result"] = {
            "videos": [{"id": task.video_id, "url": task.result_url, "duration": f"{task.duration:g}"}]
        }
    return obj


def envelope(data: Any) -> dict[str, Any]:
    return {"code": 0, "message": "SUCCEED", "request_id": str(uuid.uuid4()), "data": data}


def error_response(error: KlingApiError) -> web.Response:
    body = {"code": error.code, "message": error.message, "request_id": str(uuid.uuid4())}
    return web.json_response(body, status=error.http_status)


def sign_result_url(task: FakeTask) -> None:
    """Kling's result URLs are signed CDN links (§2.7): give the fake's a query-string credential."""
    task.result_url = f"{task.result_url}?x-kcdn-sign={secrets.token_hex(8)}"


async def read_object(request: web.Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def resource_pack(
    name: str, *, total: float, remaining: float, status: str, bought_ms: int
) -> dict[str, Any]:
    """One entry of /account/costs, valid for a year from its purchase."""
    return {
        "resource_pack_name": name,
        "resource_pack_id": uuid.uuid4().hex,
        "resource_pack_type": "decreasing_total",
        "total_quantity": total,
        "remaining_quantity": remaining,
        "purchase_time": bought_ms,
        "effective_time": bought_ms,
        "invalid_time": bought_ms + 365 * 86_400_000,
        "status": status,
    }


class KlingFake(FakeProvider):
    name = "kling"

    def __init__(
        self,
        *,
        access_key: str = "AK_TEST",
        secret_key: str = "SK_TEST",
        clock: Callable[[], float] = time.time,
        callback_on_every_status: bool = False,
        wrapped_callbacks: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.access_key = access_key
        self.secret_key = secret_key
        self.clock = clock
        self.callback_on_every_status = callback_on_every_status
        self.wrapped_callbacks = wrapped_callbacks
        self.auth_failures: list[int] = []  # the 10xx codes answered, in order
        bought = int(clock() * 1000) - 30 * 86_400_000  # a month ago
        self.resource_packs: list[dict[str, Any]] = [
            resource_pack("Video 1000 units", total=1000, remaining=742.5, status="online", bought_ms=bought),
            resource_pack("Video 100 units", total=100, remaining=0, status="runOut", bought_ms=bought),
            resource_pack("Trial 50 units", total=50, remaining=50, status="expired", bought_ms=bought),
        ]

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/v1/videos/{kind}", self._create),
            web.get("/v1/videos/{kind}/{task_id}", self._query),
            web.get("/account/costs", self._account_costs),
        ]

    def next_kling_id(self) -> str:
        return str(867283741759110000 + int(self.next_id()))

    # ---- auth ------------------------------------------------------------------------------

    def check_auth(self, request: web.Request) -> KlingApiError | None:
        error = self._auth_error(request.headers.get("Authorization"))
        if error is not None:
            self.auth_failures.append(error.code)
        return error

    def _auth_error(self, header: str | None) -> KlingApiError | None:
        if not header:
            return KlingApiError(401, 1001, "Authorization is empty")
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token or " " in token:
            return KlingApiError(401, 1002, "Authorization is invalid")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
                claims = jwt.decode(
                    token,
                    self.secret_key,
                    algorithms=["HS256"],
                    options={"verify_exp": False, "verify_nbf": False, "require": ["iss", "exp", "nbf"]},
                )
        except jwt.InvalidTokenError:
            return KlingApiError(401, 1002, "Authorization is invalid")
        if claims["iss"] != self.access_key:
            return KlingApiError(401, 1000, "Authentication failed")
        now = self.clock()
        if claims["nbf"] > now:
            return KlingApiError(401, 1003, "Authorization is not yet valid")
        if claims["exp"] <= now:
            return KlingApiError(401, 1004, "Authorization has expired")
        return None

    # ---- handlers --------------------------------------------------------------------------

    async def _create(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        if kind not in KINDS:
            return error_response(KlingApiError(404, 1202, "invalid method"))
        denied = self.check_auth(request)
        if denied is not None:
            return error_response(denied)
        if self.at_capacity():
            return error_response(KlingApiError(429, 1303, "parallel task over resource pack limit"))
        body = await read_object(request)
        if body is None:
            return error_response(KlingApiError(400, 1200, "the request body is not a JSON object"))
        try:
            validate_body(kind, body)
            self._check_external_id(body.get("external_task_id"))
            task = FakeTask(
                task_id=self.next_kling_id(),
                kind=kind,
                request=body,
                callback_url=body.get("callback_url") or None,
                external_id=body.get("external_task_id") or None,
            )
            await take_inputs(self, task, body)
        except KlingApiError as error:
            return error_response(error)
        self.add_task(task)
        sign_result_url(task)
        created = {key: value for key, value in kling_task_object(task).items() if key in _CREATED_FIELDS}
        return web.json_response(envelope(created))

    def _check_external_id(self, external_id: Any) -> None:
        if external_id and any(t.external_id == external_id for t in self.tasks.values()):
            raise invalid("external_task_id", "already exists")

    async def _query(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        denied = self.check_auth(request)
        if denied is not None:
            return error_response(denied)
        task = self.find(kind, request.match_info["task_id"])
        if task is None:
            return error_response(KlingApiError(404, 1203, "task not found"))
        return web.json_response(envelope(self.task_object(task)))

    async def _account_costs(self, request: web.Request) -> web.Response:
        denied = self.check_auth(request)
        if denied is not None:
            return error_response(denied)
        try:
            start, end = int(request.query["start_time"]), int(request.query["end_time"])
        except (KeyError, ValueError):
            return error_response(invalid("start_time/end_time", "must be Unix times in milliseconds"))
        packs = [p for p in self.resource_packs if start <= p["purchase_time"] <= end]
        return web.json_response(envelope({"code": 0, "msg": "", "resource_pack_subscribe_infos": packs}))

    def find(self, kind: str, task_or_external_id: str) -> FakeTask | None:
        for task in self.tasks.values():
            if task.kind == kind and task_or_external_id in (task.task_id, task.external_id):
                return task
        return None

    def task_object(self, task: FakeTask) -> dict[str, Any]:
        parent = None
        if task.kind == "video-extend":
            parent = next(
                (t for t in self.tasks.values() if t.video_id == task.request.get("video_id")), None
            )
        return kling_task_object(task, parent)

    # ---- callbacks -------------------------------------------------------------------------

    def callback_bodies(self, task: FakeTask) -> list[tuple[dict[str, Any], dict[str, str]]]:
        terminal = task.state in ("succeeded", "failed")
        if not terminal and not (self.callback_on_every_status and task.state == "processing"):
            return []
        body = self.task_object(task)
        return [(envelope(body) if self.wrapped_callbacks else body, {})]


_CREATED_FIELDS = frozenset({"task_id", "task_status", "task_info", "created_at", "updated_at"})
