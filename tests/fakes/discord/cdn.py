"""Signed, expiring CDN URLs and streaming request-body parsing (uploads can be ~100 MB)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from aiohttp import BodyPartReader, web

from .models import ApiError, Clock, UploadedFile

CHUNK = 256 * 1024


class UrlSigner:
    """`ex`/`is`/`hm` query parameters the way Discord's CDN uses them: hex Unix seconds and an HMAC."""

    def __init__(self, secret: bytes, clock: Clock, ttl: float) -> None:
        self._secret = secret
        self._clock = clock
        self.ttl = ttl

    def _mac(self, path: str, ex: str, is_: str) -> str:
        msg = f"{path}|{ex}|{is_}".encode()
        return hmac.new(self._secret, msg, hashlib.sha256).hexdigest()

    def query(self, path: str) -> str:
        issued = int(self._clock.now())
        ex = f"{int(issued + self.ttl):x}"
        is_ = f"{issued:x}"
        return f"ex={ex}&is={is_}&hm={self._mac(path, ex, is_)}&"

    def valid(self, path: str, query: dict[str, str]) -> bool:
        ex, is_, hm = query.get("ex", ""), query.get("is", ""), query.get("hm", "")
        if not (ex and is_ and hm):
            return False
        if not hmac.compare_digest(hm, self._mac(path, ex, is_)):
            return False
        try:
            return self._clock.now() < int(ex, 16)
        except ValueError:
            return False


def cdn_paths(prefix: str, scope_id: int, attachment_id: int, filename: str) -> tuple[str, str]:
    """(decoded path, URL path): the signature covers the decoded path, so however a client
    re-quotes the URL, the server (which sees it decoded) verifies the same string."""
    base = f"/{prefix}/{scope_id}/{attachment_id}/"
    return base + filename, base + quote(filename, safe="")


class _Spool:
    """Hashes a file part as it streams in; keeps it on disk (unless over `store_limit`) and in memory
    (only up to `keep_limit`), so a 100 MB upload never sits in memory."""

    def __init__(self, path: Path, keep_limit: int, store_limit: int | None) -> None:
        self.path: Path | None = path
        self._fh: IO[bytes] | None = path.open("wb")
        self._keep_limit = keep_limit
        self._store_limit = store_limit
        self._hash = hashlib.sha256()
        self._buf: bytearray | None = bytearray()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self._hash.update(chunk)
        if self._buf is not None:
            if self.size <= self._keep_limit:
                self._buf.extend(chunk)
            else:
                self._buf = None
        if self._fh is not None:
            if self._store_limit is not None and self.size > self._store_limit:
                self._drop()
            else:
                self._fh.write(chunk)

    def _drop(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            self.path = None

    def finish(self, field_name: str, filename: str, content_type: str) -> UploadedFile:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        return UploadedFile(
            field=field_name,
            filename=filename,
            content_type=content_type,
            size=self.size,
            sha256=self._hash.hexdigest(),
            data=bytes(self._buf) if self._buf is not None else None,
            path=self.path,
        )


async def send_stalled(
    request: web.Request, data: bytes, headers: dict[str, str], release: asyncio.Event
) -> web.StreamResponse:
    """Half of `data` (its full length declared), then the rest only once `release` is set."""
    response = web.StreamResponse(headers=headers)
    response.content_length = len(data)
    await response.prepare(request)
    half = len(data) // 2
    await response.write(data[:half])
    await release.wait()
    with contextlib.suppress(ConnectionError):  # the client gave up long ago
        await response.write(data[half:])
    return response


@dataclass
class ParsedBody:
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    files: list[UploadedFile] = field(default_factory=list)


BODY_KEY = web.RequestKey("fake_body", ParsedBody)
UNHANDLED_KEY = web.RequestKey("fake_unhandled", bool)


async def read_body(
    request: web.Request, spool_dir: Path, *, keep_limit: int, store_limit: int | None
) -> ParsedBody:
    """Decode a JSON or multipart body once per request (cached on the request)."""
    if BODY_KEY in request:
        return request[BODY_KEY]
    body = ParsedBody()
    request[BODY_KEY] = body
    if not request.body_exists:
        return body
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        bad_json: ApiError | None = None
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader):
                continue  # nested multipart: Discord does not take it either
            name = part.name or ""
            if part.filename is None:
                text = await part.text()
                if name == "payload_json":
                    try:
                        body.json = _loads(text)
                    except ApiError as exc:  # keep reading: the whole body is drained and recorded
                        bad_json, body.form[name] = exc, text
                else:
                    body.form[name] = text
                continue
            spool = _Spool(spool_dir / uuid.uuid4().hex, keep_limit, store_limit)
            while chunk := await part.read_chunk(CHUNK):
                spool.write(chunk)
            ctype = part.headers.get("Content-Type", "application/octet-stream")
            body.files.append(spool.finish(name, part.filename, ctype))
        if bad_json is not None:
            raise bad_json
        return body
    raw = await request.read()
    if raw:
        body.json = _loads(raw.decode("utf-8", errors="replace"))
    return body


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ApiError(400, 50109, "The request body contains invalid JSON.") from exc
