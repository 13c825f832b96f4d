"""AceData Cloud (providers.md §1): /kling/motion, /kling/videos and /kling/tasks with flat JSON.

Never the synchronous mode (§1.1, §6.7): every submit carries `callback_url` or `"async": true`, so
the answer is an immediate task id and the result comes by callback or by polling /kling/tasks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from bot.models import (
    ErrorCategory,
    ExtendRequest,
    GenerationRequest,
    ImageToVideoRequest,
    JobKind,
    MotionRequest,
    TaskStatus,
    TaskUpdate,
    TextToVideoRequest,
)
from bot.providers.base import ProviderError
from bot.providers.bearer import BearerKeyClient
from bot.providers.http import (
    HttpResponse,
    category_for_http_status,
    failure_category,
    full_when_429,
    refusal,
    safe_message,
)
from bot.providers.json_fields import json_object, json_text, json_url, parse_seconds
from bot.providers.kling_shapes import (
    GENERATION_FAILED,
    NO_VIDEO,
    UNEXPECTED,
    VideoRequest,
    camera_control_body,
    media_url,
    put_fields,
    reference_fields,
    shot_fields,
)

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.acedata.cloud"
BATCH_SIZE = 50  # ids per retrieve_batch call; AceData documents no limit, so stay modest

# §1.5 and §1.7: only "succeed" is documented; AceData's own SDK, MCP and CLI code accept the rest.
SUCCESS_STATES = frozenset({"succeed", "succeeded", "success", "completed", "complete"})
FAILURE_STATES = frozenset({"failed", "failure", "fail", "error", "cancelled", "canceled", "rejected"})
QUEUED_STATES = frozenset({"pending", "queued", "queuing", "submitted", "waiting", "created"})

# §1.6: error.code strings that mean the operator's token, application or base URL is wrong.
AUTH_CODES = frozenset(
    {
        "invalid_token",
        "token_expired",
        "token_mismatched",
        "no_token",
        "disabled",
        "api_not_implemented",
        "no_api",
    }
)


def error_category(http_status: int, code: str | None) -> ErrorCategory:
    """§1.6: the error.code first, then what the HTTP status means on this API."""
    if code == "used_up":
        return ErrorCategory.INSUFFICIENT_CREDITS
    if code in AUTH_CODES or http_status == 401:
        return ErrorCategory.AUTH
    if http_status == 403:  # credential disabled or moderation; AceData's SDK calls it moderation
        return ErrorCategory.CONTENT_POLICY
    if code == "bad_request":
        return ErrorCategory.INVALID_REQUEST
    if code == "too_many_requests" or http_status == 429:
        return ErrorCategory.RATE_LIMITED
    if code == "api_error" or http_status >= 500:
        return ErrorCategory.TRANSIENT
    return category_for_http_status(http_status)


def _layers(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Where a result's fields may sit: flat first, then `data` as an object or an array (§1.4)."""
    layers = [result]
    data = result.get("data")
    if isinstance(data, dict):
        layers.append(data)
    elif isinstance(data, list):
        layers.extend(item for item in data if isinstance(item, dict))
    return layers


def _first(layers: list[dict[str, Any]], key: str) -> Any:
    for layer in layers:
        value = layer.get(key)
        if value is not None and value != "":
            return value
    return None


def parse_result(result: dict[str, Any], task_id: str, *, fallback_state: str | None = None) -> TaskUpdate:
    """A final-response object (submit result, callback, a task's `response`) as a TaskUpdate.

    §1.5: success:true alone is not done. Done is success:true with a video URL, or state "succeed";
    failed is success:false, an `error`, or a failure state; anything else is still running.
    """
    layers = _layers(result)
    raw = json_text(_first(layers, "state")) or fallback_state or ""
    state = raw.lower()
    success = result.get("success")
    error = _first(layers, "error")
    url = json_url(_first(layers, "video_url"))
    update = TaskUpdate(
        task_id=task_id,
        status=TaskStatus.PROCESSING,
        raw_status=raw,
        video_url=url,
        video_id=json_text(_first(layers, "video_id")),
        duration=parse_seconds(_first(layers, "duration")),
    )
    has_error = bool(error) and isinstance(error, dict | str)  # "error": false or {} is no error
    if success is False or has_error or state in FAILURE_STATES:
        return _failure(update, error)
    # A URL settles it when nothing says the task is still running.
    if state in SUCCESS_STATES or (url and (success is True or not state)):
        if not url:
            return _with(update, TaskStatus.FAILED, ErrorCategory.FAILED, NO_VIDEO)
        return _with(update, TaskStatus.SUCCEEDED)
    return _with(update, TaskStatus.QUEUED if state in QUEUED_STATES else TaskStatus.PROCESSING)


def _failure(update: TaskUpdate, error: Any) -> TaskUpdate:
    detail = json_object(error)
    reason = json_text(detail.get("message")) or (error if isinstance(error, str) else None)
    code = json_text(detail.get("code"))
    category = ErrorCategory.INSUFFICIENT_CREDITS if code == "used_up" else failure_category(reason)
    return _with(update, TaskStatus.FAILED, category, safe_message(reason, default=GENERATION_FAILED))


def _with(
    update: TaskUpdate, status: TaskStatus, category: ErrorCategory | None = None, message: str | None = None
) -> TaskUpdate:
    """`update` with its final status; only a success keeps its video URL."""
    return TaskUpdate(
        task_id=update.task_id,
        status=status,
        raw_status=update.raw_status,
        video_url=update.video_url if status is TaskStatus.SUCCEEDED else None,
        video_id=update.video_id,
        duration=update.duration,
        error_category=category,
        error_message=message,
    )


def parse_task_record(record: Any, task_id: str | None = None) -> TaskUpdate:
    """One /kling/tasks record (§1.5). `response` is absent, or incomplete, until the task ends."""
    if not isinstance(record, dict):
        raise ValueError("an AceData task record is not a JSON object")
    response = record.get("response")
    # The id asked about, when there is one; else the record's own.
    task_id = task_id or json_text(record.get("id")) or json_text(json_object(response).get("task_id"))
    if task_id is None:
        raise ValueError("an AceData task record without id")
    fallback_state = json_text(record.get("state"))
    if isinstance(response, dict):
        return parse_result(response, task_id, fallback_state=fallback_state)
    if fallback_state:
        return parse_result({}, task_id, fallback_state=fallback_state)
    started = record.get("started_at") is not None
    return TaskUpdate(task_id, TaskStatus.PROCESSING if started else TaskStatus.QUEUED, raw_status="")


DEFAULT_EXTEND_PROMPT = "Continue the scene naturally, keeping the same subject, style and camera."


class AceDataClient(BearerKeyClient):
    name = "acedata"
    default_base_url = DEFAULT_BASE_URL
    key_owner = "AceData"
    supported_kinds = frozenset(JobKind)
    supports_batch_query = True
    needs_input_urls = True  # AceData takes URLs only (§6.9)

    # ---- submit ----------------------------------------------------------------------------

    async def submit(self, request: GenerationRequest, *, job_id: str, callback_url: str | None) -> str:
        path, body = build_request_body(request)
        if callback_url:
            body["callback_url"] = callback_url
        else:
            body["async"] = True
        response = await self._http.request(
            "POST",
            path,
            classify=full_when_429(self._classify),
            json_body=body,
            retry_on=(ErrorCategory.RATE_LIMITED,),  # a lost submit may have started a task
        )
        result = json_object(response.body)
        task_id = json_text(_first(_layers(result), "task_id"))
        if task_id is None:
            raise ProviderError(ErrorCategory.TRANSIENT, UNEXPECTED, http_status=response.status)
        log.info(
            "acedata: job %s submitted to %s as task %s (trace_id=%s)",
            job_id,
            path,
            task_id,
            json_text(result.get("trace_id")),
        )
        return task_id

    # ---- query -----------------------------------------------------------------------------

    async def query(self, task_id: str, *, kind: JobKind) -> TaskUpdate:
        response = await self._http.request(
            "POST", "/kling/tasks", classify=self._classify, json_body={"id": task_id, "action": "retrieve"}
        )
        try:
            return parse_task_record(response.body, task_id)
        except ValueError as exc:
            raise ProviderError(ErrorCategory.TRANSIENT, UNEXPECTED, http_status=response.status) from exc

    async def query_many(self, task_ids: Iterable[str], *, kind: JobKind) -> dict[str, TaskUpdate]:
        """retrieve_batch (§1.5). Ids the provider does not return are left out of the answer."""
        wanted = list(dict.fromkeys(task_ids))
        updates: dict[str, TaskUpdate] = {}
        for start in range(0, len(wanted), BATCH_SIZE):
            chunk = wanted[start : start + BATCH_SIZE]
            response = await self._http.request(
                "POST",
                "/kling/tasks",
                classify=self._classify,
                json_body={"ids": chunk, "action": "retrieve_batch"},
            )
            items = json_object(response.body).get("items")
            if not isinstance(items, list):
                raise ProviderError(ErrorCategory.TRANSIENT, UNEXPECTED, http_status=response.status)
            for item in items:
                task_id = json_text(json_object(item).get("id"))
                if task_id in chunk:
                    try:
                        updates[task_id] = parse_task_record(item, task_id)
                    except ValueError:
                        log.warning("acedata: unreadable record for task %s in a batch", task_id)
        return updates

    # ---- callbacks -------------------------------------------------------------------------

    def parse_callback(self, body: Any) -> TaskUpdate:
        """The callback is the flat final response (§1.4); a whole task record is read too."""
        if not isinstance(body, dict):
            raise ValueError("an AceData callback is not a JSON object")
        if isinstance(body.get("response"), dict):
            return parse_task_record(body)
        task_id = json_text(_first(_layers(body), "task_id"))
        if task_id is None:
            raise ValueError("an AceData callback without task_id")
        return parse_result(body, task_id)

    # ---- errors ----------------------------------------------------------------------------

    def _classify(self, response: HttpResponse) -> ProviderError | None:
        """§1.6: `{"error": {"code", "message"}, "trace_id"}` with an HTTP 4xx/5xx status."""
        body = json_object(response.body)
        error = json_object(body.get("error"))
        ok_status = 200 <= response.status < 300
        if ok_status and not error:
            if response.is_json and body:
                return None
            return ProviderError(ErrorCategory.TRANSIENT, UNEXPECTED, http_status=response.status)
        code = json_text(error.get("code"))
        category = error_category(response.status, code)
        log.warning(
            "acedata: HTTP %s error %s (%s), trace_id=%s",
            response.status,
            code,
            category.value,
            json_text(body.get("trace_id")),
        )
        return refusal(response, category, error.get("message"), code=code, secrets=(self._api_key,))


def build_request_body(request: GenerationRequest) -> tuple[str, dict[str, Any]]:
    """The path and JSON body of a submit (§1.2 for motion, §1.3 for videos)."""
    body: dict[str, Any]
    if isinstance(request, MotionRequest):
        body = {
            "image_url": media_url(request.image, "character image"),
            "video_url": media_url(request.video, "reference video"),
            "character_orientation": request.orientation,
            "mode": request.mode,
            "keep_original_sound": "yes" if request.keep_sound else "no",
        }
        put_fields(body, prompt=request.prompt, model_name=request.model)
        return "/kling/motion", body
    if isinstance(request, TextToVideoRequest):
        body = {
            "action": "text2video",
            "prompt": request.prompt,
            "mode": request.mode,
            "aspect_ratio": request.aspect_ratio,
            "duration": request.duration,  # a number here, unlike Kling's string (§1.3)
        }
        put_fields(
            body, model=request.model, negative_prompt=request.negative_prompt, cfg_scale=request.cfg_scale
        )
        if request.camera is not None:
            body["camera_control"] = camera_control_body(request.camera)
        body.update(newer_model_fields(request))
        return "/kling/videos", body
    if isinstance(request, ImageToVideoRequest):
        body = {
            "action": "image2video",
            "start_image_url": media_url(request.image, "start image"),
            "mode": request.mode,
            "duration": request.duration,
        }
        put_fields(
            body,
            # §1.3: end_image_url only ever goes with a start_image_url, which image2video always has.
            end_image_url=media_url(request.end_image, "end image") if request.end_image else None,
            prompt=request.prompt,
            model=request.model,
            negative_prompt=request.negative_prompt,
            cfg_scale=request.cfg_scale,
        )
        body.update(newer_model_fields(request))
        return "/kling/videos", body
    if isinstance(request, ExtendRequest):
        # §1.3: AceData requires a prompt for extend ("must fill"); members may leave it empty.
        body = {"action": "extend", "video_id": request.video_id}
        put_fields(body, prompt=request.prompt or DEFAULT_EXTEND_PROMPT)
        return "/kling/videos", body
    raise TypeError(f"not a generation request: {type(request).__name__}")  # pragma: no cover


def newer_model_fields(request: VideoRequest) -> dict[str, Any]:
    """§1.3: `generate_audio` (left out when the member did not say: each model's default applies),
    omni `image_list` / `video_list`, and multi-shot with whole seconds per shot."""
    fields: dict[str, Any] = {}
    if request.sound is not None:
        fields["generate_audio"] = request.sound
    fields.update(reference_fields(request, lambda media: media_url(media, "reference image")))
    fields.update(shot_fields(request, int))
    return fields
