"""A loopback kie.ai: the job API (createTask, recordInfo), the File Upload API and signed callbacks.

Follows providers.md §4. Where the docs are silent the fake makes a choice and marks it [I]:
- an unknown taskId on recordInfo answers code 404;
- an input URL the fake cannot download, or an image over 10 MB / a video over 100 MB, fails the task
  with failCode "400";
- `http_200_errors=True` answers every error with HTTP 200 and the code only in the body, the variant
  §4.7 says some deployments show.
One server plays both hosts (api.kie.ai and the upload host); uploaded files are served back under
/_files/, and result URLs carry a signature-like query string, as CDN links do.
GET /api/v1/chat/credit answers the account's `credits` the way kie's "Get Remaining Credits" does
(docs.kie.ai/common-api/get-account-credits): {"code": 200, "msg": "success", "data": <number>}.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import mimetypes
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.providers.common import FakeProvider, FakeTask

MODELS = frozenset({"kling-2.6/motion-control", "kling-3.0/motion-control"})
MODES = frozenset({"720p", "1080p", "std", "pro"})  # §4.1 [C]: the enum is 720p|1080p; prose says std|pro
ORIENTATIONS = frozenset({"image", "video"})
INPUT_FIELDS = frozenset({"prompt", "input_urls", "video_urls", "character_orientation", "mode"})
MAX_IMAGE_BYTES = 10 * 1024 * 1024  # §4.1
MAX_VIDEO_BYTES = 100 * 1024 * 1024
NO_ACCESS = "You do not have access permissions"  # §4.1, kie's body for a missing or bad key

# The fake's bookkeeping state -> kie's word (§4.2). `raw_states` can force any other word.
KIE_STATES = {"queued": "waiting", "processing": "generating", "succeeded": "success", "failed": "fail"}


def sign(key: str, task_id: str, timestamp: str) -> str:
    """§4.4: base64(HMAC-SHA256(key, taskId + "." + timestamp)), written independently of the client."""
    mac = hmac.new(key.encode("utf-8"), (task_id + "." + timestamp).encode("utf-8"), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


@dataclass
class UploadedFile:
    method: str  # stream | base64 | url
    upload_path: str
    file_name: str
    data: bytes
    mime_type: str
    download_url: str


class UploadRefused(Exception):
    """A File Upload API parameter error (§4.5: 400 with `msg`)."""


class FakeKie(FakeProvider):
    name = "kie"

    def __init__(
        self,
        api_key: str = "kie-test-key",
        *,
        hmac_key: str | None = None,
        http_200_errors: bool = False,
        auto: bool = True,
        result_video: bytes | None = None,
        clock: Callable[[], float] = time.time,
        max_running: int | None = None,
        work_seconds: float = 0.0,
    ) -> None:
        super().__init__(
            auto=auto, result_video=result_video, max_running=max_running, work_seconds=work_seconds
        )
        self.api_key = api_key
        self.hmac_key = hmac_key
        self.http_200_errors = http_200_errors
        self.clock = clock
        self.uploads: dict[str, UploadedFile] = {}  # "uploadPath/fileName" -> file (re-use overwrites)
        self.upload_log: list[UploadedFile] = []  # every upload, in order
        self.raw_states: dict[str, str] = {}  # task id -> a state word to report instead
        self.input_fetch_errors: dict[str, str] = {}  # task id -> why its inputs could not be fetched
        self.credits: float = 2510330  # what GET /api/v1/chat/credit reports

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/api/v1/jobs/createTask", self._create_task),
            web.get("/api/v1/jobs/recordInfo", self._record_info),
            web.get("/api/v1/chat/credit", self._credit),
            web.post("/api/file-stream-upload", self._upload_stream),
            web.post("/api/file-base64-upload", self._upload_base64),
            web.post("/api/file-url-upload", self._upload_url),
            web.get("/_files/{key:.+}", self._serve_file),
        ]

    # ---- errors ------------------------------------------------------------------------------

    def error(self, code: int, msg: str, *, upload: bool = False) -> web.Response:
        """kie's error envelope {code, msg}; HTTP mirrors the code unless `http_200_errors`."""
        body: dict[str, Any] = {"code": code, "msg": msg, "data": None}
        if upload:
            body = {"success": False, **body}
        return web.json_response(body, status=200 if self.http_200_errors else code)

    def fail_next_code(self, path_part: str, code: int, msg: str = "", *, times: int = 1) -> None:
        """Answer the next request(s) to `path_part` with kie error `code`, honouring `http_200_errors`."""
        body: dict[str, Any] = {"code": code, "msg": msg or f"error {code}", "data": None}
        if "upload" in path_part:
            body = {"success": False, **body}
        self.fail_next(path_part, 200 if self.http_200_errors else code, body, times=times)

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.api_key}"

    # ---- job API -----------------------------------------------------------------------------

    async def _create_task(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self.error(401, NO_ACCESS)
        if self.at_capacity():  # full: kie's 429 ("too frequent"), mirrored in HTTP unless http_200_errors
            return self.error(429, "The request is too frequent, please try again later.")
        try:
            body = await request.json()
        except ValueError:
            return self.error(422, "Request body must be JSON")
        problem = validate_create(body)
        if problem is not None:
            return self.error(422, problem)
        model = body["model"]
        task_id = f"task_{model.split('/')[0]}_{self.now_ms()}{self.next_id()}"
        task = FakeTask(task_id, "motion", body, body.get("callBackUrl"))
        self.add_task(task)  # with auto=True this starts `_auto_finish`, which fetches first
        if not self.auto:
            self.spawn(self._start_task(task))
        return web.json_response({"code": 200, "msg": "success", "data": {"taskId": task_id}})

    def add_task(self, task: FakeTask) -> FakeTask:
        super().add_task(task)
        # Real result links are signed CDN URLs: the query string must never reach a log.
        task.result_url = f"{task.result_url}?Expires=1999999999&Signature={secrets.token_hex(12)}"
        return task

    async def _auto_finish(self, task: FakeTask) -> None:
        if await self._fetch_task_inputs(task):
            await super()._auto_finish(task)

    async def _start_task(self, task: FakeTask) -> None:
        """With auto=False the test drives the states; fetching the inputs still happens at once."""
        await self._fetch_task_inputs(task)

    async def _fetch_task_inputs(self, task: FakeTask) -> bool:
        """Download the image and video like kie does at task start; fail the task if it cannot."""
        (image_url,) = task.request["input"]["input_urls"]
        (video_url,) = task.request["input"]["video_urls"]
        try:
            await self.fetch_inputs(task, [image_url, video_url])
        except (RuntimeError, aiohttp.ClientError) as exc:
            self.input_fetch_errors[task.task_id] = str(exc)
            await self.fail(task.task_id, "Failed to download the input file")
            return False
        if len(task.inputs[image_url]) > MAX_IMAGE_BYTES or len(task.inputs[video_url]) > MAX_VIDEO_BYTES:
            self.input_fetch_errors[task.task_id] = "too large"
            await self.fail(task.task_id, "The input file exceeds the size limit")
            return False
        await self.notify()
        return True

    async def _record_info(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self.error(401, NO_ACCESS)
        task_id = request.query.get("taskId", "")
        if not task_id:
            return self.error(422, "taskId is required")
        task = self.tasks.get(task_id)
        if task is None:
            return self.error(404, "Task not found")  # [I]
        # §4.2 [C]: this endpoint's example says `message`, not `msg`.
        return web.json_response({"code": 200, "message": "success", "data": self.record(task, query=True)})

    async def _credit(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self.error(401, NO_ACCESS)
        return web.json_response({"code": 200, "msg": "success", "data": self.credits})

    def record(self, task: FakeTask, *, query: bool) -> dict[str, Any]:
        """The task record shared by recordInfo (§4.2) and callbacks (§4.3)."""
        state = self.raw_states.get(task.task_id, KIE_STATES[task.state])
        done = task.state in ("succeeded", "failed")
        record: dict[str, Any] = {
            "taskId": task.task_id,
            "model": task.request["model"],
            "state": state,
            "param": json.dumps(task.request),  # a JSON *string*
            "resultJson": "" if query else None,
            "failCode": "" if query else None,
            "failMsg": "" if query else None,
            "costTime": max(0, (task.updated_ms - task.created_ms) // 1000) if done else None,
            "completeTime": task.updated_ms if done else None,
            "createTime": task.created_ms,
            "updateTime": task.updated_ms,
        }
        if task.state == "succeeded":
            record["resultJson"] = json.dumps({"resultUrls": [task.result_url]})
        elif task.state == "failed":
            record["failCode"] = "400" if task.task_id in self.input_fetch_errors else "500"
            record["failMsg"] = task.fail_message or "Internal server error"
        return record

    # ---- callbacks ---------------------------------------------------------------------------

    def callback_bodies(self, task: FakeTask) -> list[tuple[dict[str, Any], dict[str, str]]]:
        if task.state not in ("succeeded", "failed"):
            return []  # §4.3: terminal states only
        ok = task.state == "succeeded"
        data = self.record(task, query=False)
        data.update(consumeCredits=100 if ok else 0, remainedCredits=2_510_330)
        body = {
            "code": 200 if ok else 501,
            "msg": "Playground task completed successfully." if ok else "Playground task failed.",
            "data": data,
        }
        return [(body, self.signature_headers(task.task_id))]

    def signature_headers(self, task_id: str) -> dict[str, str]:
        if self.hmac_key is None:
            return {}  # §4.4: no headers until a webhookHmacKey exists
        timestamp = str(int(self.clock()))
        return {
            "X-Webhook-Timestamp": timestamp,
            "X-Webhook-Signature": sign(self.hmac_key, task_id, timestamp),
        }

    # ---- File Upload API (§4.5) ----------------------------------------------------------------

    async def _upload_stream(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self.error(401, NO_ACCESS, upload=True)
        if request.content_type != "multipart/form-data":
            return self.error(400, "Content-Type must be multipart/form-data", upload=True)
        form = await request.post()
        part = form.get("file")
        if not isinstance(part, web.FileField):
            return self.error(400, "file is required", upload=True)
        data = part.file.read()
        mime = part.content_type or _guess_mime(part.filename)
        return self._store("stream", form.get("uploadPath"), form.get("fileName"), data, mime)

    async def _upload_base64(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self.error(401, NO_ACCESS, upload=True)
        body = await _json_object(request)
        encoded = body.get("base64Data")
        if not isinstance(encoded, str) or not encoded:
            return self.error(400, "base64Data is required", upload=True)
        mime = ""
        match = re.fullmatch(r"data:([\w/+.-]+);base64,(.*)", encoded, flags=re.DOTALL)
        if match:
            mime, encoded = match.group(1), match.group(2)
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return self.error(400, "base64Data is not valid base64", upload=True)
        return self._store("base64", body.get("uploadPath"), body.get("fileName"), data, mime)

    async def _upload_url(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self.error(401, NO_ACCESS, upload=True)
        body = await _json_object(request)
        url = body.get("fileUrl")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return self.error(400, "fileUrl must be an http(s) URL", upload=True)
        assert self._session is not None
        try:
            async with self._session.get(url, timeout=aiohttp.ClientTimeout(total=30)) as resp:
                if resp.status != 200:
                    return self.error(400, f"Could not download fileUrl ({resp.status})", upload=True)
                data = await resp.read()
                mime = resp.content_type
        except (aiohttp.ClientError, TimeoutError):
            return self.error(400, "Could not download fileUrl", upload=True)
        return self._store("url", body.get("uploadPath"), body.get("fileName"), data, mime)

    def _store(self, method: str, upload_path: Any, file_name: Any, data: bytes, mime: str) -> web.Response:
        if not isinstance(upload_path, str) or not upload_path.strip("/"):
            return self.error(400, "uploadPath is required", upload=True)
        if file_name is not None and (not isinstance(file_name, str) or "/" in file_name):
            return self.error(400, "fileName is invalid", upload=True)
        folder = upload_path.strip("/")
        name = file_name or f"{secrets.token_hex(8)}{mimetypes.guess_extension(mime or '') or ''}"
        key = f"{folder}/{name}"
        url = f"{self.base_url}/_files/{key}"
        mime = mime or _guess_mime(name)
        stored = UploadedFile(method, folder, name, data, mime, url)
        self.uploads[key] = stored
        self.upload_log.append(stored)
        now = self.now_ms()
        return web.json_response(
            {
                "success": True,
                "code": 200,
                "msg": "File uploaded successfully",
                # §4.5 [C]: the reference and quickstart pages disagree, so both shapes at once.
                "data": {
                    "fileId": secrets.token_hex(8),
                    "fileName": name,
                    "originalName": name,
                    "filePath": key,
                    "uploadPath": folder,
                    "fileSize": len(data),
                    "mimeType": mime,
                    "downloadUrl": url,
                    "fileUrl": url,
                    "uploadedAt": now,
                    "uploadTime": now,
                    "expiresAt": now + 3 * 24 * 3600 * 1000,  # uploads last 3 days
                },
            }
        )

    async def _serve_file(self, request: web.Request) -> web.StreamResponse:
        stored = self.uploads.get(request.match_info["key"])
        if stored is None:
            raise web.HTTPNotFound()
        return web.Response(body=stored.data, content_type=stored.mime_type)


def validate_create(body: Any) -> str | None:
    """createTask's checks (§4.1); the message for the first problem found, None when valid."""
    if not isinstance(body, dict):
        return "Request body must be a JSON object"
    if body.get("model") not in MODELS:
        return "model is not supported"
    callback = body.get("callBackUrl")
    if callback is not None and (not isinstance(callback, str) or not callback.startswith("http")):
        return "callBackUrl must be a URL"
    inputs = body.get("input")
    if not isinstance(inputs, dict):
        return "input is required"
    unknown = set(inputs) - INPUT_FIELDS - ({"background_source"} if "3.0" in body["model"] else set())
    if unknown:
        return f"input has unknown fields: {', '.join(sorted(unknown))}"
    prompt = inputs.get("prompt")
    if prompt is not None and (not isinstance(prompt, str) or len(prompt) > 2500):
        return "input.prompt must be a string of at most 2500 characters"
    for field in ("input_urls", "video_urls"):
        urls = inputs.get(field)
        if not isinstance(urls, list) or len(urls) != 1:
            return f"input.{field} must hold exactly 1 URL"
        if not isinstance(urls[0], str) or not urls[0].startswith(("http://", "https://")):
            return f"input.{field} must hold an uploaded file's URL"
    # Required by kie's OpenAPI `required` list even though both have defaults.
    if inputs.get("character_orientation") not in ORIENTATIONS:
        return "input.character_orientation must be image or video"
    if inputs.get("mode") not in MODES:
        return "input.mode must be 720p or 1080p"
    return None


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _guess_mime(name: str | None) -> str:
    return (mimetypes.guess_type(name or "")[0]) or "application/octet-stream"
