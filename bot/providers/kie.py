"""The kie.ai job API: Kling motion control only, inputs through kie's File Upload API.

Wire details are in providers.md §4. kie differs from the other families in four ways that shape this
module: the body `code` decides success even under HTTP 200 (§4.7); `resultJson` and `param` are JSON
*strings*; inputs must be uploaded to kie first (§4.5); callbacks are HMAC-signed over
`taskId.timestamp` when the operator set a webhook key (§4.4). Reading kie's answers (codes, states,
its JSON) lives in bot/providers/kie_shapes.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import logging
import mimetypes
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import PurePosixPath
from typing import Any, ClassVar

import aiohttp

from bot.models import (
    ErrorCategory,
    GenerationRequest,
    JobKind,
    MediaInput,
    MotionRequest,
    TaskUpdate,
)
from bot.providers.base import AccountBalance, ProviderClient, ProviderError, UnsupportedKind
from bot.providers.config import HttpConfig
from bot.providers.http import HttpResponse, ProviderHttp, full_when_429, redact_url
from bot.providers.kie_shapes import (
    UNREADABLE,
    as_mapping,
    classify,
    classify_query,
    data_of,
    first_str,
    header_value,
    int_code,
    read_task,
    task_id_of,
)

log = logging.getLogger(__name__)

CREATE_PATH = "/api/v1/jobs/createTask"
CREDIT_PATH = "/api/v1/chat/credit"  # kie's "Get Remaining Credits": {"code": 200, "msg", "data": 100}
QUERY_PATH = "/api/v1/jobs/recordInfo"
UPLOAD_PATH = "/api/file-stream-upload"
UPLOAD_FOLDER = "klingbot"

TIMESTAMP_HEADER = "X-Webhook-Timestamp"
SIGNATURE_HEADER = "X-Webhook-Signature"

# §4.1: kie's `mode` enum is 720p | 1080p; the bot speaks std | pro like the other families.
_MODES = {"std": "720p", "pro": "1080p", "720p": "720p", "1080p": "1080p"}
_ORIENTATIONS = frozenset({"image", "video"})
# Kling's own model names (what /motion may pass) and kie's market names for the same models.
_MODELS = {
    "kling-v2-6": "kling-2.6/motion-control",
    "kling-v3": "kling-3.0/motion-control",
    "kling-2.6/motion-control": "kling-2.6/motion-control",
    "kling-3.0/motion-control": "kling-3.0/motion-control",
}
_MAX_MESSAGE = 300
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # §4.4: integer Unix seconds


class KieClient(ProviderClient):
    name = "kie"
    supported_kinds: ClassVar[frozenset[JobKind]] = frozenset({JobKind.MOTION})
    # Inputs go through kie's own upload API, so the bot does not need a public URL for them.
    needs_input_urls = False
    # kie counts in credits; warn while a few more clips can still be paid for.
    default_low_balance = 1000.0

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = "https://api.kie.ai",
        upload_base_url: str = "https://kieai.redpandaai.co",
        webhook_hmac_key: str | None = None,
        model: str = "kling-2.6/motion-control",
        http: HttpConfig | None = None,
        session: aiohttp.ClientSession | None = None,
        clock: Callable[[], float] = time.time,
        signature_max_age: float = 300.0,
    ) -> None:
        self._api_key = api_key
        self._hmac_key = webhook_hmac_key or None
        self.upload_base_url = upload_base_url.rstrip("/")
        self.model = model
        self.signature_max_age = signature_max_age
        self._clock = clock
        self._http = ProviderHttp(
            base_url, auth_header=self._authorization, config=http, session=session, scrub=self._scrubbed
        )

    def __repr__(self) -> str:
        signed = "on" if self._hmac_key else "off"
        return f"KieClient(base_url={self._http.base_url!r}, model={self.model!r}, signed_callbacks={signed})"

    __str__ = __repr__

    def _authorization(self) -> str:
        return f"Bearer {self._api_key}"

    async def close(self) -> None:
        await self._http.close()

    # ---- submit --------------------------------------------------------------------------------

    async def submit(self, request: GenerationRequest, *, job_id: str, callback_url: str | None) -> str:
        if not isinstance(request, MotionRequest):
            raise UnsupportedKind("kie.ai", request.kind)
        body = self._create_body(request, callback_url)  # checks options before anything is uploaded
        body["input"]["input_urls"] = [await self._upload(request.image, job_id, "image")]
        body["input"]["video_urls"] = [await self._upload(request.video, job_id, "video")]
        response = await self._create(body)
        data = data_of(response.body)
        task_id = task_id_of(data) if data is not None else None
        if task_id is None:
            raise ProviderError(ErrorCategory.TRANSIENT, UNREADABLE, http_status=response.status)
        log.info("kie task %s created for job %s", task_id, job_id)
        return task_id

    def _create_body(self, request: MotionRequest, callback_url: str | None) -> dict[str, Any]:
        mode = _MODES.get(request.mode)
        if mode is None:
            raise ProviderError(ErrorCategory.INVALID_REQUEST, "Mode must be std (720p) or pro (1080p).")
        if request.orientation not in _ORIENTATIONS:
            raise ProviderError(ErrorCategory.INVALID_REQUEST, "Orientation must be image or video.")
        model = _MODELS.get(request.model) if request.model else self.model
        if model is None:
            raise ProviderError(
                ErrorCategory.INVALID_REQUEST, f"kie.ai has no motion-control model called {request.model!r}."
            )
        inputs: dict[str, Any] = {}
        if request.prompt:
            inputs["prompt"] = request.prompt
        # input_urls / video_urls are filled in after upload; kie's schema has no keep_original_sound.
        inputs.update(character_orientation=request.orientation, mode=mode)
        body: dict[str, Any] = {"model": model, "input": inputs}
        if callback_url:
            body["callBackUrl"] = callback_url  # camelCase (§4.1)
        return body

    async def _create(self, body: dict[str, Any]) -> HttpResponse:
        """createTask, retried only when kie certainly did not start a task.

        455 means maintenance, so repeating it cannot double-charge. A 429 started nothing either (§4.7),
        but says the account runs all it may: the job waits in the engine's line for a slot (provider_full).
        After a 500 or a lost connection the task may exist, so the engine decides, not this loop.
        """

        def send() -> Awaitable[HttpResponse]:
            return self._http.request(
                "POST", CREATE_PATH, classify=full_when_429(classify), json_body=body, retry=False
            )

        def refused(error: ProviderError) -> bool:
            return error.category is ErrorCategory.RATE_LIMITED or error.code == 455

        return await self._http.with_retries("kie createTask", send, refused)

    async def _upload(self, media: MediaInput, job_id: str, role: str) -> str:
        """Stream one input to kie's File Upload API (§4.5) and return the URL kie can fetch it from."""
        file_name = _upload_name(media, job_id, role)

        def send() -> Awaitable[HttpResponse]:
            # A fresh form each attempt: a sent BytesIO cannot be replayed, and raw bytes over 1 MiB
            # would make aiohttp write the whole body in one go (it warns about blocking the loop).
            form = aiohttp.FormData()
            form.add_field(
                "file", io.BytesIO(media.data), filename=file_name, content_type=media.content_type
            )
            form.add_field("uploadPath", UPLOAD_FOLDER)
            form.add_field("fileName", file_name)
            return self._http.request(
                "POST", UPLOAD_PATH, classify=classify, data=form, base_url=self.upload_base_url, retry=False
            )

        def transient(error: ProviderError) -> bool:
            return error.category.is_retryable

        response = await self._http.with_retries("kie upload", send, transient)
        data = data_of(response.body)
        # §4.5 [C]: the reference pages name it downloadUrl, the quickstart fileUrl.
        url = first_str(data, "downloadUrl", "fileUrl") if data is not None else None
        if url is None or not url.startswith(("http://", "https://")):
            raise ProviderError(ErrorCategory.TRANSIENT, UNREADABLE, http_status=response.status)
        return url

    # ---- query ---------------------------------------------------------------------------------

    async def query(self, task_id: str, *, kind: JobKind) -> TaskUpdate:
        if kind not in self.supported_kinds:
            raise UnsupportedKind("kie.ai", kind)
        response = await self._http.request(
            "GET", QUERY_PATH, classify=classify_query, params={"taskId": task_id}
        )
        data = data_of(response.body)
        try:
            if data is None:
                raise ValueError("no data object")
            return read_task(data, fallback_task_id=task_id, default_state="", scrub=self._scrub)
        except ValueError:
            # A task record kie cannot describe yet (or a proxy's page): poll again later.
            raise ProviderError(ErrorCategory.TRANSIENT, UNREADABLE, http_status=response.status) from None

    async def account_balance(self) -> AccountBalance:
        """The account's remaining credits (kie's common API, GET /api/v1/chat/credit)."""
        response = await self._http.request("GET", CREDIT_PATH, classify=classify)
        credits = response.body.get("data") if isinstance(response.body, Mapping) else None
        if isinstance(credits, bool) or not isinstance(credits, int | float):
            raise ProviderError(ErrorCategory.TRANSIENT, UNREADABLE, http_status=response.status)
        return AccountBalance(remaining=float(credits), unit="credits")

    # ---- callbacks -----------------------------------------------------------------------------

    def parse_callback(self, body: Any) -> TaskUpdate:
        envelope = as_mapping(body)
        data = data_of(envelope)
        if envelope is None or data is None:
            raise ValueError("a kie callback carries a data object")
        # Callbacks come only for terminal states (§4.3): without a state, the envelope code says which.
        terminal = "success" if int_code(envelope.get("code")) == 200 else "fail"
        return read_task(data, fallback_task_id=None, default_state=terminal, scrub=self._scrub)

    def verify_callback(self, headers: Mapping[str, str], body: Any, *, now: float | None = None) -> bool:
        """§4.4: base64(HMAC-SHA256(key, taskId + "." + timestamp)); only id and time are signed."""
        if self._hmac_key is None:
            return True
        timestamp = header_value(headers, TIMESTAMP_HEADER)
        signature = header_value(headers, SIGNATURE_HEADER)
        data = data_of(as_mapping(body))
        task_id = task_id_of(data) if data is not None else None
        if timestamp is None or signature is None or task_id is None:
            log.warning("kie callback refused: signature headers or task id missing")
            return False
        if not _TIMESTAMP.fullmatch(timestamp):
            log.warning("kie callback for task %r refused: malformed timestamp", task_id)
            return False
        current = self._clock() if now is None else now
        if abs(current - int(timestamp)) > self.signature_max_age:
            log.warning("kie callback for task %r refused: timestamp outside the allowed window", task_id)
            return False
        expected = sign_callback(self._hmac_key, task_id, timestamp)
        if not hmac.compare_digest(expected.encode(), signature.strip().encode("utf-8", "replace")):
            log.warning("kie callback for task %r refused: signature mismatch", task_id)
            return False
        return True

    # ---- making provider text fit to show --------------------------------------------------

    def _scrub(self, text: str) -> str:
        """Provider text is shown to members: no signed URLs, and never our own secrets."""
        text = redact_url(text)
        for secret in (self._api_key, self._hmac_key):
            if secret:
                text = text.replace(secret, "…")
        return text[:_MAX_MESSAGE]

    def _scrubbed(self, exc: ProviderError) -> ProviderError:
        if type(exc) is not ProviderError:
            return exc
        return ProviderError(
            exc.category,
            self._scrub(exc.message),
            http_status=exc.http_status,
            code=exc.code,
            retry_after=exc.retry_after,
        )


def sign_callback(key: str, task_id: str, timestamp: str) -> str:
    """The X-Webhook-Signature kie sends for `task_id` at `timestamp` (§4.4; the key as UTF-8 bytes)."""
    digest = hmac.new(key.encode(), f"{task_id}.{timestamp}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _upload_name(media: MediaInput, job_id: str, role: str) -> str:
    """A fresh name per upload: kie overwrites on a re-used name (§4.5) and the URL is public."""
    stem = re.sub(r"[^A-Za-z0-9_-]", "", job_id)[:40] or "job"
    suffix = PurePosixPath(media.filename).suffix.lower()
    if not re.fullmatch(r"\.[a-z0-9]{1,5}", suffix):
        suffix = mimetypes.guess_extension(media.content_type) or ""
    return f"{stem}-{role}-{secrets.token_hex(6)}{suffix}"
