"""The official Kling API (providers.md §2): JWT auth, `{code, message, request_id, data}` envelopes.

The gateway family (§3) proxies this API, so the request bodies and the task-object reader here are
shared with bot/providers/gateway.py.
"""

from __future__ import annotations

import base64
import logging
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import jwt

from bot.models import (
    CameraControl,
    ErrorCategory,
    ExtendRequest,
    GenerationRequest,
    ImageToVideoRequest,
    JobKind,
    MediaInput,
    MotionRequest,
    TaskStatus,
    TaskUpdate,
    TextToVideoRequest,
)
from bot.providers.base import ProviderClient, ProviderError
from bot.providers.http import (
    HttpResponse,
    ProviderHttp,
    RetryPolicy,
    category_for_http_status,
    failure_category,
    json_object,
    json_text,
    json_url,
    parse_seconds,
    retry_after_seconds,
    safe_message,
)

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api-singapore.klingai.com"
TOKEN_LIFETIME = 1800  # §2.1: exp = now + 1800
TOKEN_NOT_BEFORE_SKEW = 5  # §2.1: nbf = now - 5
TOKEN_RENEW_MARGIN = 300  # a fresh token once fewer than 5 minutes are left

# The path segment of each kind: POST /v1/videos/<segment>, GET /v1/videos/<segment>/{id} (§2.3, §2.4).
ENDPOINTS: dict[JobKind, str] = {
    JobKind.MOTION: "motion-control",
    JobKind.TEXT2VIDEO: "text2video",
    JobKind.IMAGE2VIDEO: "image2video",
    JobKind.EXTEND: "video-extend",
}

# §2.5: submitted, processing, succeed (sic), failed. Anything else counts as still running.
TASK_STATUSES: dict[str, TaskStatus] = {
    "submitted": TaskStatus.QUEUED,
    "processing": TaskStatus.PROCESSING,
    "succeed": TaskStatus.SUCCEEDED,
    "failed": TaskStatus.FAILED,
}

CAMERA_AXES = ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")

UNEXPECTED = "The video provider sent a response the bot could not read."
NO_VIDEO = "The provider reported success but sent no video."
GENERATION_FAILED = "The video generation failed."


def error_category(code: int | None, http_status: int) -> ErrorCategory:
    """§2.6, by the body's numeric code first; the HTTP status only when the code is unknown.

    The 11xx codes come with HTTP 429 but are account states, not rate limits: retrying cannot help.
    1100 ("account exception") is a suspended or flagged account the operator must sort out with
    Kling, so it is `auth`; 1101 (postpaid account in arrears) and 1102 (resource pack depleted or
    expired) both mean "pay Kling", so they are `insufficient_credits`.
    """
    if code is not None:
        if 1000 <= code <= 1004 or code in (1100, 1103, 1304):
            return ErrorCategory.AUTH
        if code in (1101, 1102):
            return ErrorCategory.INSUFFICIENT_CREDITS
        if 1200 <= code <= 1203:
            return ErrorCategory.INVALID_REQUEST
        if code in (1300, 1301):
            return ErrorCategory.CONTENT_POLICY
        if code in (1302, 1303):
            return ErrorCategory.RATE_LIMITED
        if 5000 <= code <= 5002:
            return ErrorCategory.TRANSIENT
    return category_for_http_status(http_status)


def numeric_code(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


# ---- request bodies (shared with the gateway) -------------------------------------------------


def media_reference(media: MediaInput) -> str:
    """A URL when the bot has one, else the raw base64 of the bytes, without a data: prefix (§2.3)."""
    return media.url if media.url else base64.b64encode(media.data).decode("ascii")


def media_url(media: MediaInput, what: str) -> str:
    """Videos cannot be sent inline: the provider must be able to fetch them (§5)."""
    if not media.url:
        raise ProviderError(
            ErrorCategory.INVALID_REQUEST,
            f"The video provider needs a link it can download the {what} from, and the bot has none. "
            "The operator must set PUBLIC_BASE_URL.",
        )
    return media.url


def camera_control_body(camera: CameraControl) -> dict[str, Any]:
    """§2.4: `config` only with `simple`, all six axes present, the unset ones at zero."""
    body: dict[str, Any] = {"type": camera.type}
    if camera.type == "simple" and camera.config:
        body["config"] = {axis: float(camera.config.get(axis, 0.0)) for axis in CAMERA_AXES}
    return body


def put_fields(body: dict[str, Any], **fields: Any) -> None:
    """Add the fields that are set; omit the rest so the provider applies its own defaults."""
    body.update({key: value for key, value in fields.items() if value is not None and value != ""})


def build_request_body(
    request: GenerationRequest, *, job_id: str | None, callback_url: str | None
) -> tuple[str, dict[str, Any]]:
    """The endpoint segment and the JSON body of a Kling submit (§2.3, §2.4)."""
    body: dict[str, Any]
    if isinstance(request, MotionRequest):
        body = {
            "image_url": media_reference(request.image),
            "video_url": media_url(request.video, "reference video"),
            "character_orientation": request.orientation,
            "mode": request.mode,
            "keep_original_sound": "yes" if request.keep_sound else "no",
        }
        put_fields(body, prompt=request.prompt, model_name=request.model)
    elif isinstance(request, TextToVideoRequest):
        body = {
            "prompt": request.prompt,
            "mode": request.mode,
            "aspect_ratio": request.aspect_ratio,
            "duration": str(request.duration),  # a string on this API (§2.4)
        }
        put_fields(
            body,
            model_name=request.model,
            negative_prompt=request.negative_prompt,
            cfg_scale=request.cfg_scale,
        )
        if request.camera is not None:
            body["camera_control"] = camera_control_body(request.camera)
    elif isinstance(request, ImageToVideoRequest):
        body = {
            "image": media_reference(request.image),
            "mode": request.mode,
            "duration": str(request.duration),
        }
        put_fields(
            body,
            image_tail=media_reference(request.end_image) if request.end_image else None,
            prompt=request.prompt,
            model_name=request.model,
            negative_prompt=request.negative_prompt,
            cfg_scale=request.cfg_scale,
        )
    elif isinstance(request, ExtendRequest):
        body = {"video_id": request.video_id}
        put_fields(body, prompt=request.prompt)
    else:  # pragma: no cover - the union is closed
        raise TypeError(f"not a generation request: {type(request).__name__}")
    put_fields(body, callback_url=callback_url, external_task_id=job_id)
    return ENDPOINTS[request.kind], body


# ---- reading task objects (shared with the gateway) -------------------------------------------


def first_video(task: Mapping[str, Any]) -> dict[str, Any]:
    videos = json_object(task.get("task_result")).get("videos")
    if isinstance(videos, list) and videos:
        return json_object(videos[0])
    return {}


def parse_kling_task(task: Any, *, statuses: Mapping[str, TaskStatus] = TASK_STATUSES) -> TaskUpdate:
    """A Kling task object (query `data`, or a bare callback) as a TaskUpdate. ValueError if unreadable."""
    if not isinstance(task, dict):
        raise ValueError("a Kling task is not a JSON object")
    task_id = json_text(task.get("task_id"))
    if task_id is None:
        raise ValueError("a Kling task without task_id")
    raw = json_text(task.get("task_status")) or ""
    status = statuses.get(raw.lower(), TaskStatus.PROCESSING)
    video = first_video(task)
    update = TaskUpdate(
        task_id=task_id,
        status=status,
        raw_status=raw,
        video_url=json_url(video.get("url")),
        video_id=json_text(video.get("id")),
        duration=parse_seconds(video.get("duration")),
    )
    return settle(update, json_text(task.get("task_status_msg")))


def settle(update: TaskUpdate, reason: str | None) -> TaskUpdate:
    """Fill in why a task failed, and fail a "success" that carries no video (nothing to deliver)."""
    if update.status is TaskStatus.SUCCEEDED and not update.video_url:
        return _failed(update, NO_VIDEO, ErrorCategory.FAILED)
    if update.status is TaskStatus.FAILED:
        message = safe_message(reason, default=GENERATION_FAILED)
        return _failed(update, message, failure_category(reason))
    return update


def _failed(update: TaskUpdate, message: str, category: ErrorCategory) -> TaskUpdate:
    return TaskUpdate(
        task_id=update.task_id,
        status=TaskStatus.FAILED,
        raw_status=update.raw_status,
        video_url=None,
        video_id=update.video_id,
        duration=update.duration,
        error_category=category,
        error_message=message,
    )


def unwrap_callback(body: Any) -> Any:
    """Kling POSTs the bare task object (§2.5); one summary shows it wrapped in {code, data}."""
    if isinstance(body, dict) and "task_status" not in body and isinstance(body.get("data"), dict):
        return body["data"]
    return body


def is_not_found(error: ProviderError) -> bool:
    """Whether a lookup failed because no such task exists (1203, or 404 other than 1202)."""
    if error.code == 1203 or (error.http_status == 404 and error.code != 1202):
        return True
    text = error.message.lower()
    return error.code in (1200, 1201) and ("not found" in text or "not exist" in text)


class KlingClient(ProviderClient):
    name = "kling"
    supported_kinds = frozenset(JobKind)
    supports_lookup_by_job_id = True
    needs_input_urls = True  # images may go inline as base64, reference videos may not

    def __init__(
        self,
        access_key: str,
        secret_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        retry: RetryPolicy | None = None,
        session: aiohttp.ClientSession | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not access_key or not secret_key:
            raise ValueError("the Kling API needs both an access key and a secret key")
        self._access_key = access_key
        self._secret_key = secret_key
        self._clock = clock
        self._token: str | None = None
        self._token_expires = 0.0
        self._http = ProviderHttp(base_url, auth_header=self._authorization, retry=retry, session=session)

    def __repr__(self) -> str:
        return f"KlingClient(base_url={self._http.base_url!r})"

    # ---- auth ------------------------------------------------------------------------------

    def token(self) -> str:
        """The JWT of §2.1, reused until fewer than TOKEN_RENEW_MARGIN seconds of it are left."""
        now = self._clock()
        if self._token is None or self._token_expires - now < TOKEN_RENEW_MARGIN:
            issued = int(now)
            claims = {
                "iss": self._access_key,
                "exp": issued + TOKEN_LIFETIME,
                "nbf": issued - TOKEN_NOT_BEFORE_SKEW,
            }
            with warnings.catch_warnings():
                # Kling issues the secret key; its length is not the operator's to choose.
                warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
                self._token = jwt.encode(claims, self._secret_key, algorithm="HS256", headers={"typ": "JWT"})
            self._token_expires = float(issued + TOKEN_LIFETIME)
            log.debug("kling: new API token, valid for %d s", TOKEN_LIFETIME)
        return self._token

    def _authorization(self) -> str:
        return f"Bearer {self.token()}"

    def _secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self._access_key, self._secret_key, self._token) if s)

    # ---- calls -----------------------------------------------------------------------------

    async def submit(self, request: GenerationRequest, *, job_id: str, callback_url: str | None) -> str:
        segment, body = build_request_body(request, job_id=job_id, callback_url=callback_url)
        response = await self._http.request(
            "POST",
            f"/v1/videos/{segment}",
            classify=self._classify,
            json_body=body,
            # A refused request (429) started nothing; a lost one may have, and the engine can ask
            # find_by_job_id before sending it again.
            retry_on=(ErrorCategory.RATE_LIMITED,),
        )
        task_id = json_text(json_object(json_object(response.body).get("data")).get("task_id"))
        if task_id is None:
            raise ProviderError(ErrorCategory.TRANSIENT, UNEXPECTED, http_status=response.status)
        log.info("kling: job %s submitted as %s task %s", job_id, segment, task_id)
        return task_id

    async def query(self, task_id: str, *, kind: JobKind) -> TaskUpdate:
        response = await self._http.request(
            "GET", f"/v1/videos/{ENDPOINTS[kind]}/{task_id}", classify=self._classify
        )
        try:
            return parse_kling_task(json_object(response.body).get("data"))
        except ValueError as exc:
            raise ProviderError(ErrorCategory.TRANSIENT, UNEXPECTED, http_status=response.status) from exc

    async def find_by_job_id(self, job_id: str, *, kind: JobKind) -> TaskUpdate | None:
        """§2.3: the query path takes our external_task_id as well as Kling's task_id."""
        try:
            return await self.query(job_id, kind=kind)
        except ProviderError as error:
            if is_not_found(error):
                return None
            raise

    def parse_callback(self, body: Any) -> TaskUpdate:
        return parse_kling_task(unwrap_callback(body))

    async def close(self) -> None:
        await self._http.close()

    # ---- errors ----------------------------------------------------------------------------

    def _classify(self, response: HttpResponse) -> ProviderError | None:
        body = json_object(response.body)
        code = numeric_code(body.get("code"))
        ok_status = 200 <= response.status < 300
        if ok_status and response.is_json and code in (0, None) and body:
            return None
        if ok_status and (not response.is_json or not body):
            return ProviderError(ErrorCategory.TRANSIENT, UNEXPECTED, http_status=response.status)
        category = error_category(code, response.status)
        message = safe_message(
            body.get("message"),
            secrets=self._secrets(),
            default=f"The video provider answered HTTP {response.status}.",
        )
        log.warning(
            "kling: HTTP %s code %s (%s), request_id=%s",
            response.status,
            code,
            category.value,
            json_text(body.get("request_id")),
        )
        return ProviderError(
            category,
            message,
            http_status=response.status,
            code=code,
            retry_after=retry_after_seconds(response.headers),
        )
