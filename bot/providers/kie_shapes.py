"""How kie.ai answers (providers.md §4): its response codes and error envelope, its task records, and
small readers of its JSON that never raise KeyError or TypeError.

kie's body `code` decides success even under HTTP 200 (§4.7), and `resultJson` is a JSON *string*.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.json_input import read_json
from bot.models import ErrorCategory, TaskStatus, TaskUpdate
from bot.providers.base import ProviderError
from bot.providers.http import HttpResponse, category_for_http_status, retry_after_seconds

# §4.1 response codes. The body `code` is authoritative whatever the HTTP status (§4.7).
CODE_CATEGORIES: dict[int, ErrorCategory] = {
    400: ErrorCategory.INVALID_REQUEST,  # upload API parameter error (§4.5)
    401: ErrorCategory.AUTH,
    402: ErrorCategory.INSUFFICIENT_CREDITS,
    404: ErrorCategory.INVALID_REQUEST,
    422: ErrorCategory.INVALID_REQUEST,
    429: ErrorCategory.RATE_LIMITED,
    433: ErrorCategory.INSUFFICIENT_CREDITS,  # a sub-key's usage cap: more credits fix it
    455: ErrorCategory.TRANSIENT,  # maintenance
    500: ErrorCategory.TRANSIENT,
    501: ErrorCategory.FAILED,  # generation failed
    505: ErrorCategory.AUTH,  # feature disabled for this account: only the operator can fix it
}
DEFAULT_MESSAGES: dict[ErrorCategory, str] = {
    ErrorCategory.INVALID_REQUEST: "kie.ai refused the request as invalid.",
    ErrorCategory.CONTENT_POLICY: "kie.ai refused the content.",
    ErrorCategory.AUTH: "kie.ai refused the bot's credentials or has this feature disabled for the account.",
    ErrorCategory.INSUFFICIENT_CREDITS: "The kie.ai account has run out of credits.",
    ErrorCategory.RATE_LIMITED: "kie.ai is rate limiting the bot; try again shortly.",
    ErrorCategory.TRANSIENT: "kie.ai is unavailable right now; try again shortly.",
    ErrorCategory.FAILED: "kie.ai could not generate the video.",
}


# §4.2 / §4.7: three pending words, one success, one failure. Anything else counts as still running.
TASK_STATES: dict[str, TaskStatus] = {
    "waiting": TaskStatus.QUEUED,
    "queuing": TaskStatus.QUEUED,
    "generating": TaskStatus.PROCESSING,
    "success": TaskStatus.SUCCEEDED,
    "fail": TaskStatus.FAILED,
}

UNREADABLE = "kie.ai sent a response the bot could not read."


def read_task(
    data: Mapping[str, Any], *, fallback_task_id: str | None, default_state: str, scrub: Callable[[str], str]
) -> TaskUpdate:
    """A recordInfo `data` or a callback `data` (the same record shape, §4.2 / §4.3); `scrub` makes a
    failure reason fit to show."""
    task_id = task_id_of(data) or fallback_task_id
    if task_id is None:
        raise ValueError("no taskId")
    raw = data.get("state")
    raw_state = raw if isinstance(raw, str) else default_state
    status = TASK_STATES.get(raw_state.strip().lower(), TaskStatus.PROCESSING)
    if status is TaskStatus.SUCCEEDED:
        return TaskUpdate(task_id, status, raw_state, video_url=result_url(data.get("resultJson")))
    if status is TaskStatus.FAILED:
        # The envelope's msg is generic ("success", "Playground task failed."): failMsg or nothing.
        reason = first_str(data, "failMsg") or DEFAULT_MESSAGES[ErrorCategory.FAILED]
        return TaskUpdate(
            task_id,
            status,
            raw_state,
            error_category=ErrorCategory.FAILED,
            error_message=scrub(reason),
        )
    return TaskUpdate(task_id, status, raw_state)


# ---- error classification --------------------------------------------------------------------------


def classify(response: HttpResponse) -> ProviderError | None:
    return _classify_response(response, query=False)


def classify_query(response: HttpResponse) -> ProviderError | None:
    return _classify_response(response, query=True)


def _classify_response(response: HttpResponse, *, query: bool) -> ProviderError | None:
    """An error when the HTTP status or the body `code` says so; §4.7: HTTP 200 can carry an error."""
    body = response.body if isinstance(response.body, Mapping) else None
    if body is None:
        if response.status < 400:
            # Not kie's envelope at all (a proxy page, an empty body): worth another try.
            return ProviderError(ErrorCategory.TRANSIENT, UNREADABLE, http_status=response.status)
        return _error(category_for_http_status(response.status), None, response, response.status)
    code = int_code(body.get("code"))
    if code is None:
        code = response.status
    if code == 200 and response.status < 400:
        return None
    if code == 200:
        code = response.status
    if query and code == 404:
        # The id came from kie moments ago, so "not found" is most likely a record that has not
        # propagated yet; polling again is bounded by the job's timeout.
        category = ErrorCategory.TRANSIENT
    else:
        category = CODE_CATEGORIES.get(code) or category_for_http_status(code)
    return _error(category, _message(body), response, code)


def _error(category: ErrorCategory, message: str | None, response: HttpResponse, code: int) -> ProviderError:
    return ProviderError(
        category,
        message or DEFAULT_MESSAGES[category],
        http_status=response.status,
        code=code,
        retry_after=retry_after_seconds(response.headers),
    )


# ---- small readers that never raise KeyError or TypeError ------------------------------------------


def as_mapping(body: Any) -> Mapping[str, Any] | None:
    if isinstance(body, bytes | bytearray | str):
        try:
            body = read_json(body)
        except ValueError:
            return None
    return body if isinstance(body, Mapping) else None


def data_of(body: Any) -> Mapping[str, Any] | None:
    data = body.get("data") if isinstance(body, Mapping) else None
    return data if isinstance(data, Mapping) else None


def int_code(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def first_str(data: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _message(body: Mapping[str, Any] | None) -> str | None:
    # §4.2 [C]: recordInfo says `message`, everything else says `msg`.
    return first_str(body, "msg", "message") if body is not None else None


def task_id_of(data: Mapping[str, Any]) -> str | None:
    # §4.4 [C]: market callbacks carry data.taskId; the verification sample reads data.task_id.
    for key in ("taskId", "task_id"):
        value = data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def result_url(result_json: Any) -> str:
    """§4.2: resultJson is a JSON *string* {"resultUrls": [...]}; a decoded object is accepted too."""
    if isinstance(result_json, str):
        result_json = read_json(result_json)  # UnreadableJson (a ValueError) on garbage
    urls = result_json.get("resultUrls") if isinstance(result_json, Mapping) else None
    if isinstance(urls, list):
        for url in urls:
            if isinstance(url, str) and url.startswith(("http://", "https://")):
                return url
    raise ValueError("a successful kie task without a result URL")


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value if isinstance(value, str) and value else None
