"""The HTTP plumbing every provider client shares: one session, timeouts, bounded retries, redaction."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.models import ErrorCategory
from bot.providers.base import ProviderError

log = logging.getLogger(__name__)

_URL_QUERY = re.compile(r"(https?://[^\s?\"']+)\?[^\s\"']*")


def redact_url(url: str) -> str:
    """A URL without its query string: signed URLs carry their credential there."""
    return _URL_QUERY.sub(r"\1?…", url)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4  # total tries, the first included
    base_delay: float = 0.5  # seconds before the first retry; doubles each time
    max_delay: float = 8.0
    total_timeout: float = 60.0  # per HTTP attempt

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Exponential backoff with full jitter; a provider's Retry-After is honoured as a floor."""
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        delay = random.uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_delay * 4))
        return delay


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    body: Any  # decoded JSON, or the text when the body is not JSON
    is_json: bool


ErrorClassifier = Callable[[HttpResponse], ProviderError | None]
"""Look at a response and return the error it means, or None when it is a success."""


class ProviderHttp:
    """A shared aiohttp session plus `request()`: JSON in, classified errors out, retries bounded."""

    def __init__(
        self,
        base_url: str,
        *,
        auth_header: Callable[[], Awaitable[str] | str] | None = None,
        retry: RetryPolicy | None = None,
        session: aiohttp.ClientSession | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._auth_header = auth_header
        self.retry = retry or RetryPolicy()
        self._session = session
        self._own_session = session is None
        self._sleep = sleep

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.retry.total_timeout, sock_connect=10)
            )
            self._own_session = True
        return self._session

    async def close(self) -> None:
        if self._own_session and self._session is not None and not self._session.closed:
            await self._session.close()

    async def _headers(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self._auth_header is not None:
            value = self._auth_header()
            if not isinstance(value, str):
                value = await value
            headers["Authorization"] = value
        if extra:
            headers.update(extra)
        return headers

    async def request(
        self,
        method: str,
        path: str,
        *,
        classify: ErrorClassifier,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        base_url: str | None = None,
        retry: bool = True,
        retry_on: Collection[ErrorCategory] | None = None,
    ) -> HttpResponse:
        """Send one request, retrying rate limits and transient failures with backoff and jitter.

        invalid_request, content_policy, auth and insufficient_credits are raised at once. Set
        `retry=False` for calls that must not be repeated blindly, or narrow `retry_on` (e.g. to
        rate_limited only, for a submit: a refused request started nothing, a lost one may have).
        """
        url = (base_url or self.base_url).rstrip("/") + path
        attempts = self.retry.attempts if retry else 1
        if retry_on is None:
            retry_on = [category for category in ErrorCategory if category.is_retryable]
        retryable = frozenset(retry_on)
        last_error: ProviderError | None = None
        for attempt in range(attempts):
            try:
                response = await self._send(method, url, json_body, params, data, headers)
            except (aiohttp.ClientError, TimeoutError) as exc:
                last_error = ProviderError(
                    ErrorCategory.TRANSIENT,
                    f"Could not reach the video provider ({type(exc).__name__}).",
                )
            else:
                error = classify(response)
                if error is None:
                    return response
                last_error = error
            if last_error.category not in retryable or attempt == attempts - 1:
                break
            delay = self.retry.delay(attempt, last_error.retry_after)
            log.info(
                "provider call %s %s failed (%s); retry %d/%d in %.2fs",
                method,
                redact_url(url),
                last_error.category.value,
                attempt + 1,
                attempts - 1,
                delay,
            )
            await self._sleep(delay)
        assert last_error is not None
        raise last_error

    async def _send(
        self,
        method: str,
        url: str,
        json_body: Any,
        params: Mapping[str, str] | None,
        data: Any,
        headers: Mapping[str, str] | None,
    ) -> HttpResponse:
        request_headers = await self._headers(headers)
        async with self.session.request(
            method, url, json=json_body, params=params, data=data, headers=request_headers
        ) as resp:
            raw = await resp.read()
            text = raw.decode("utf-8", errors="replace")
            try:
                body: Any = json.loads(text) if text else None
                is_json = text != ""
            except ValueError:
                body, is_json = text, False
            return HttpResponse(resp.status, dict(resp.headers), body, is_json)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After") or headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def category_for_http_status(status: int) -> ErrorCategory:
    """A fallback for errors whose body says nothing the family's own table recognises."""
    if status == 429:
        return ErrorCategory.RATE_LIMITED
    if status in (401, 403):
        return ErrorCategory.AUTH
    if status == 402:
        return ErrorCategory.INSUFFICIENT_CREDITS
    if status >= 500 or status in (408, 409):
        return ErrorCategory.TRANSIENT
    return ErrorCategory.INVALID_REQUEST


def parse_seconds(value: Any) -> float | None:
    """Durations come as strings ("5.066") or numbers; anything else is unknown."""
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


_ANY_URL = re.compile(r"https?://[^\s\"'<>]+")
_CONTENT_POLICY = re.compile(
    r"moderat|content[ _-]?(?:security|policy|risk|safety)|risk[ _-]?control|sensitive|violat|"
    r"inappropriate|nsfw|prohibited|风控|违规|敏感",
    re.IGNORECASE,
)


def safe_message(text: Any, *, secrets: Iterable[str] = (), default: str = "", limit: int = 300) -> str:
    """A provider's message made fit to show a member: no secrets, no URLs, one line, bounded length.

    Providers echo inputs back in their errors ("fetch failed: https://…?sig=…"), and a misbehaving
    one could echo the credential it was sent.
    """
    if not isinstance(text, str) or not text.strip():
        return default
    clean: str = text
    for secret in secrets:
        if secret:
            clean = clean.replace(secret, "***")
    clean = " ".join(_ANY_URL.sub("<url>", clean).split())
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def failure_category(message: str | None) -> ErrorCategory:
    """A finished-but-failed generation is `failed`, unless its reason says moderation refused it."""
    if message and _CONTENT_POLICY.search(message):
        return ErrorCategory.CONTENT_POLICY
    return ErrorCategory.FAILED


def json_object(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one: reading a shape never raises KeyError."""
    return value if isinstance(value, dict) else {}


def json_text(value: Any) -> str | None:
    """A non-empty string (ids may come as numbers), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def json_url(value: Any) -> str | None:
    """An http(s) URL, else None: a result "URL" that is a number or a path cannot be downloaded."""
    text = value.strip() if isinstance(value, str) else ""
    return text if text.startswith(("https://", "http://")) else None
