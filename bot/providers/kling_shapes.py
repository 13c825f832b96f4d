"""Kling's request and response shapes (providers.md §2), shared by the official API client and the
gateways that proxy it (§3): request bodies, task-object reading, and the error-code table.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any

from bot import models
from bot.models import CameraControl, ErrorCategory, JobKind, MediaInput, TaskStatus, TaskUpdate
from bot.providers.base import ProviderError
from bot.providers.capabilities import KLING, OMNI_MODELS
from bot.providers.http import category_for_http_status, failure_category, safe_message
from bot.providers.json_fields import json_object, json_text, json_url, parse_seconds

# The path segment of each kind: POST /v1/videos/<segment>, GET /v1/videos/<segment>/{id} (§2.3, §2.4).
ENDPOINTS: dict[JobKind, str] = {
    JobKind.MOTION: "motion-control",
    JobKind.TEXT2VIDEO: "text2video",
    JobKind.IMAGE2VIDEO: "image2video",
    JobKind.EXTEND: "video-extend",
}

# §2.4: requests with omni references (or an omni model) go to their own endpoint.
OMNI_ENDPOINT = "omni-video"

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
        if code == 1302:
            return ErrorCategory.RATE_LIMITED
        if code == 1303:  # "parallel task over resource pack limit"
            return ErrorCategory.PROVIDER_FULL
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


# ---- request bodies ---------------------------------------------------------------------------


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


VideoRequest = models.TextToVideoRequest | models.ImageToVideoRequest


def reference_fields(request: VideoRequest, image: Callable[[MediaInput], str]) -> dict[str, Any]:
    """Omni references (§1.3 `image_list` / `video_list`, §2.4 omni-video): the prompt cites them as
    <<<image_N>>> in list order and <<<video_1>>>."""
    fields: dict[str, Any] = {}
    if request.reference_images:
        fields["image_list"] = [{"image_url": image(item)} for item in request.reference_images]
    reference = request.reference_video
    if reference is not None:
        entry: dict[str, Any] = {
            "video_url": media_url(reference.video, "reference video"),
            "refer_type": reference.refer_type,
        }
        if reference.keep_sound is not None:
            entry["keep_original_sound"] = "yes" if reference.keep_sound else "no"
        fields["video_list"] = [entry]
    return fields


def shot_fields(request: VideoRequest, seconds: Callable[[int], Any]) -> dict[str, Any]:
    """Multi-shot (§1.3): custom shots numbered from 1, or Kling's own cuts from the one prompt."""
    if request.shots:
        shots = [
            {"index": index, "prompt": shot.prompt, "duration": seconds(shot.seconds)}
            for index, shot in enumerate(request.shots, start=1)
        ]
        return {"multi_shot": True, "shot_type": "customize", "multi_prompt": shots}
    if request.auto_shots:
        return {"multi_shot": True, "shot_type": "intelligence"}
    return {}


def is_omni(request: VideoRequest) -> bool:
    return bool(request.reference_images or request.reference_video or request.model in OMNI_MODELS)


def official_video_fields(request: VideoRequest) -> dict[str, Any]:
    """What §2.4 adds for the newer models: `sound` on/off, references, shots (durations as strings)."""
    fields: dict[str, Any] = {}
    if request.sound is not None:
        fields["sound"] = "on" if request.sound else "off"
    fields.update(reference_fields(request, media_reference))
    fields.update(shot_fields(request, str))
    return fields


def build_request_body(
    request: models.GenerationRequest, *, job_id: str | None, callback_url: str | None
) -> tuple[str, dict[str, Any]]:
    """The endpoint segment and the JSON body of a Kling submit (§2.3, §2.4)."""
    body: dict[str, Any]
    if isinstance(request, models.MotionRequest):
        body = {
            "image_url": media_reference(request.image),
            "video_url": media_url(request.video, "reference video"),
            "character_orientation": request.orientation,
            "mode": request.mode,
            "keep_original_sound": "yes" if request.keep_sound else "no",
        }
        put_fields(body, prompt=request.prompt, model_name=request.model)
    elif isinstance(request, models.TextToVideoRequest):
        body = {
            "prompt": request.prompt,
            "mode": request.mode,
            "aspect_ratio": request.aspect_ratio,
            "duration": str(request.duration),  # a string on this API (§2.4)
        }
        put_fields(
            body,
            model_name=wire_model(request.model),
            negative_prompt=request.negative_prompt,
            cfg_scale=request.cfg_scale,
        )
        if request.camera is not None:
            body["camera_control"] = camera_control_body(request.camera)
        body.update(official_video_fields(request))
    elif isinstance(request, models.ImageToVideoRequest):
        body = {
            "image": media_reference(request.image),
            "mode": request.mode,
            "duration": str(request.duration),
        }
        put_fields(
            body,
            image_tail=media_reference(request.end_image) if request.end_image else None,
            prompt=request.prompt,
            model_name=wire_model(request.model),
            negative_prompt=request.negative_prompt,
            cfg_scale=request.cfg_scale,
        )
        body.update(official_video_fields(request))
    elif isinstance(request, models.ExtendRequest):
        body = {"video_id": request.video_id}
        put_fields(body, prompt=request.prompt)
    else:  # pragma: no cover - the union is closed
        raise TypeError(f"not a generation request: {type(request).__name__}")
    put_fields(body, callback_url=callback_url, external_task_id=job_id)
    if isinstance(request, VideoRequest) and is_omni(request):
        return OMNI_ENDPOINT, omni_body(body)
    return ENDPOINTS[request.kind], body


def omni_body(body: dict[str, Any]) -> dict[str, Any]:
    """omni-video takes frames as typed `image_list` entries, not `image` / `image_tail` (§2.4).
    They go after the references, so the prompt's <<<image_N>>> numbering stays as the member wrote it."""
    frames = [
        {"image_url": body.pop(key), "type": kind}
        for key, kind in (("image", "first_frame"), ("image_tail", "end_frame"))
        if key in body
    ]
    if frames:
        body["image_list"] = [*body.get("image_list", []), *frames]
    return body


def wire_model(model: str | None) -> str | None:
    """The official API's spelling of a model (kling-o1 is kling-video-o1 there)."""
    return KLING.wire_name(model) if model else None


# ---- reading task objects ---------------------------------------------------------------------


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
