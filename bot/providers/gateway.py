"""EZmodel and other new-api style gateways in front of Kling (providers.md §3).

Submits take Kling's own bodies at /kling/v1/videos/<kind>; queries go to
GET /v1/video/generations/{task_id}, which answers in one of three shapes depending on the gateway's
version (§3.1 documented, §3.2 observed). Callbacks, when any, come from Kling itself (§3.3).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from bot.models import (
    ErrorCategory,
    GenerationRequest,
    JobKind,
    TaskStatus,
    TaskUpdate,
)
from bot.providers.base import ProviderError
from bot.providers.bearer import BearerKeyClient
from bot.providers.http import (
    HttpResponse,
    category_for_http_status,
    failure_category,
    full_when_429,
    refusal,
)
from bot.providers.json_fields import json_object, json_text, json_url, parse_seconds
from bot.providers.kling_shapes import (
    UNEXPECTED,
    build_request_body,
    first_video,
    numeric_code,
    parse_kling_task,
    settle,
    unwrap_callback,
)
from bot.providers.kling_shapes import error_category as kling_error_category

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://www.ezmodel.cloud"

# The gateway routes by model and refuses a request without one, except for extend (§3.1; its
# middleware picks a channel from `model_name` or `model`). These match Kling's own defaults.
DEFAULT_MODELS: dict[JobKind, str] = {
    JobKind.MOTION: "kling-v2-6",
    JobKind.TEXT2VIDEO: "kling-v1",
    JobKind.IMAGE2VIDEO: "kling-v1",
}

# Every status vocabulary a gateway may answer with (§3.5, §6.1), lower-cased. Unknown: running.
STATUSES: dict[str, TaskStatus] = {
    # Kling
    "submitted": TaskStatus.QUEUED,
    "processing": TaskStatus.PROCESSING,
    "succeed": TaskStatus.SUCCEEDED,
    "failed": TaskStatus.FAILED,
    # new-api TaskDto (upper case on the wire)
    "not_start": TaskStatus.QUEUED,
    "queued": TaskStatus.QUEUED,
    "in_progress": TaskStatus.PROCESSING,
    "success": TaskStatus.SUCCEEDED,
    "failure": TaskStatus.FAILED,
    # OpenAI-style video objects
    "succeeded": TaskStatus.SUCCEEDED,
    "completed": TaskStatus.SUCCEEDED,
}

# Kling's words for 1101/1102 (arrears, resource pack depleted or expired), as task_failed relays them.
_CREDITS = re.compile(r"arrear|resource pack|balance|insufficient|quota", re.IGNORECASE)

# §3.4: the gateway's own string codes.
ERROR_CODES: dict[str, ErrorCategory] = {
    "build_request_failed": ErrorCategory.INVALID_REQUEST,  # validation, though sent with HTTP 500
    "task_not_exist": ErrorCategory.INVALID_REQUEST,
    "quota_not_enough": ErrorCategory.INSUFFICIENT_CREDITS,
    "insufficient_user_quota": ErrorCategory.INSUFFICIENT_CREDITS,
    "invalid_api_platform": ErrorCategory.AUTH,
}


def parse_generation(body: Any, task_id: str) -> TaskUpdate:
    """The answer to GET /v1/video/generations/{task_id}, in any of the three shapes of §3.2.

    ValueError when it is in none of them.
    """
    if not isinstance(body, dict):
        raise ValueError("a generations answer is not a JSON object")
    data = body.get("data")
    if isinstance(data, dict):
        if "task_status" in data:  # the documented Kling envelope
            return parse_kling_task({**data, "task_id": task_id}, statuses=STATUSES)
        if "status" in data:  # TaskDto, or an OpenAI-style object wrapped in {code, data}
            return parse_status_object(data, task_id)
    if "status" in body:  # a flat OpenAI-style object
        return parse_status_object(body, task_id)
    raise ValueError("a generations answer in no known shape")


def _upstream_task(obj: dict[str, Any]) -> dict[str, Any]:
    """The raw Kling task a TaskDto carries: at data.data (envelope) or data itself."""
    inner = json_object(obj.get("data"))
    nested = json_object(inner.get("data"))
    if "task_status" in nested or "task_result" in nested:
        return nested
    if "task_status" in inner or "task_result" in inner:
        return inner
    return {}


def parse_status_object(obj: dict[str, Any], task_id: str) -> TaskUpdate:
    """A TaskDto (UPPER-CASE status, URL in fail_reason on success) or an OpenAI-style video object.

    The update carries `task_id`, the id asked about: gateways may show their own id beside it.
    """
    raw = json_text(obj.get("status")) or ""
    status = STATUSES.get(raw.lower(), TaskStatus.PROCESSING)
    upstream = _upstream_task(obj)
    video = first_video(upstream)
    fail_reason = json_text(obj.get("fail_reason"))
    url = (
        json_url(video.get("url"))
        or json_url(obj.get("url"))
        or json_url(json_object(obj.get("metadata")).get("url"))
    )
    if url is None and status is TaskStatus.SUCCEEDED:
        url = json_url(fail_reason)  # new-api stores the result URL in fail_reason on success (§3.2)
    update = TaskUpdate(
        task_id=task_id,
        status=status,
        raw_status=raw,
        video_url=url if status is TaskStatus.SUCCEEDED else None,
        video_id=json_text(video.get("id")),
        duration=parse_seconds(video.get("duration")) or parse_seconds(obj.get("seconds")),
    )
    return settle(update, _failure_reason(obj, upstream, fail_reason))


def _failure_reason(obj: dict[str, Any], upstream: dict[str, Any], fail_reason: str | None) -> str | None:
    error = obj.get("error")
    if isinstance(error, str) and error.strip():
        return error
    return (
        json_text(json_object(error).get("message"))
        or fail_reason
        or json_text(upstream.get("task_status_msg"))
    )


def submitted_task_id(body: Any) -> str | None:
    """§3.5: `id` or `task_id` (what the code sends), or `data.task_id` (what the docs show)."""
    result = json_object(body)
    return (
        json_text(result.get("task_id"))
        or json_text(result.get("id"))
        or json_text(json_object(result.get("data")).get("task_id"))
    )


class GatewayClient(BearerKeyClient):
    name = "gateway"
    default_base_url = DEFAULT_BASE_URL
    key_owner = "the gateway"
    supported_kinds = frozenset(JobKind)
    needs_input_urls = True  # images may go as base64, reference videos must be links

    async def submit(self, request: GenerationRequest, *, job_id: str, callback_url: str | None) -> str:
        segment, body = build_request_body(request, job_id=job_id, callback_url=callback_url)
        default_model = DEFAULT_MODELS.get(request.kind)
        if default_model and "model_name" not in body:
            body["model_name"] = default_model
        response = await self._http.request(
            "POST",
            f"/kling/v1/videos/{segment}",
            classify=full_when_429(self._classify),
            json_body=body,
            retry_on=(ErrorCategory.RATE_LIMITED,),  # a lost submit may have started a task
        )
        task_id = submitted_task_id(response.body)
        if task_id is None:
            raise ProviderError(ErrorCategory.TRANSIENT, UNEXPECTED, http_status=response.status)
        log.info("gateway: job %s submitted as %s task %s", job_id, segment, task_id)
        return task_id

    async def query(self, task_id: str, *, kind: JobKind) -> TaskUpdate:
        response = await self._http.request(
            "GET", f"/v1/video/generations/{task_id}", classify=self._classify
        )
        try:
            return parse_generation(response.body, task_id)
        except ValueError as exc:
            raise ProviderError(ErrorCategory.TRANSIENT, UNEXPECTED, http_status=response.status) from exc

    def parse_callback(self, body: Any) -> TaskUpdate:
        """Kling's own callback, bare (§2.5, §3.3); the wrapped variant is read as well."""
        return parse_kling_task(unwrap_callback(body), statuses=STATUSES)

    # ---- errors ----------------------------------------------------------------------------

    def _classify(self, response: HttpResponse) -> ProviderError | None:
        body = json_object(response.body)
        ok_status = 200 <= response.status < 300
        if ok_status and not _is_error_body(body):
            if response.is_json and body:
                return None
            return ProviderError(ErrorCategory.TRANSIENT, UNEXPECTED, http_status=response.status)
        code, message, category = self._read_error(body, response.status)
        log.warning("gateway: HTTP %s error %s (%s)", response.status, code, category.value)
        return refusal(response, category, message, code=code, secrets=(self._api_key,))

    @staticmethod
    def _read_error(body: dict[str, Any], http_status: int) -> tuple[str | int | None, Any, ErrorCategory]:
        """§3.4: `{code: "<string>", message}`, `{"error": {message, type, code}}`, or Kling's own."""
        error = json_object(body.get("error"))
        if error:
            code = json_text(error.get("code"))
            return code, error.get("message"), _middleware_category(code, http_status)
        raw_code = body.get("code")
        number = numeric_code(raw_code)
        if number is not None:  # an upstream Kling error passed through unchanged
            return number, body.get("message"), kling_error_category(number, http_status)
        code = json_text(raw_code)
        category = ERROR_CODES.get(code or "")
        message = body.get("message")
        if category is None and code == "task_failed" and http_status < 500 and http_status != 429:
            category = _refusal_category(message)
        return code, message, category or category_for_http_status(http_status)


def _middleware_category(code: str | None, http_status: int) -> ErrorCategory:
    """The gateway's own auth and quota checks answer `{"error": {…}}` (§3.4)."""
    if code and "quota" in code:
        return ErrorCategory.INSUFFICIENT_CREDITS
    if http_status in (401, 403):
        return ErrorCategory.AUTH
    return category_for_http_status(http_status)


def _refusal_category(message: Any) -> ErrorCategory:
    """task_failed carries Kling's refusal as text only (its 1xxx code is lost): read the words."""
    reason = message if isinstance(message, str) else None
    if failure_category(reason) is ErrorCategory.CONTENT_POLICY:
        return ErrorCategory.CONTENT_POLICY
    if reason and _CREDITS.search(reason):
        return ErrorCategory.INSUFFICIENT_CREDITS
    return ErrorCategory.INVALID_REQUEST


def _is_error_body(body: dict[str, Any]) -> bool:
    """Some gateway errors arrive with HTTP 200; a success has a Kling code 0 or the string "success"."""
    if json_object(body.get("error")) and "status" not in body:  # not a failed task's own `error`
        return True
    code = body.get("code")
    if code is None or code in (0, "success", ""):
        return False
    return numeric_code(code) != 0
