"""The HTTP plumbing every provider client shares: one session, timeouts, bounded retries, redaction."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from tenacity import RetryCallState

from bot.json_input import UnreadableJson, read_json
from bot.models import ErrorCategory
from bot.providers.base import ProviderError
from bot.providers.config import HttpConfig
from bot.retry import retrying

log = logging.getLogger(__name__)

_URL_QUERY = re.compile(r"(https?://[^\s?\"']+)\?[^\s\"']*")


def redact_url(url: str) -> str:
    """A URL without its query string: signed URLs carry their credential there."""
    return _URL_QUERY.sub(r"\1?…", url)


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
        config: HttpConfig | None = None,
        session: aiohttp.ClientSession | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        scrub: Callable[[ProviderError], ProviderError] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._scrub = scrub  # applied to every error raised: a family's last word on what may be shown
        self._auth_header = auth_header
        self.config = config or HttpConfig()
        self._session = session
        self._own_session = session is None
        self._sleep = sleep

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(
                    total=self.config.timeout, sock_connect=self.config.connect_timeout
                )
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
        if retry_on is None:
            retry_on = [category for category in ErrorCategory if category.is_retryable]
        retryable = frozenset(retry_on) if retry else frozenset()

        async def send() -> HttpResponse:
            response = await self._send(method, url, headers, json=json_body, params=params, data=data)
            error = classify(response)
            if error is not None:
                raise error
            return response

        return await self.with_retries(
            f"{method} {redact_url(url)}", send, lambda error: error.category in retryable
        )

    async def with_retries(
        self,
        what: str,
        send: Callable[[], Awaitable[HttpResponse]],
        retryable: Callable[[ProviderError], bool],
    ) -> HttpResponse:
        """`send()` again while it raises a ProviderError `retryable` accepts, within the retry policy.

        For calls whose retry rule or request body `request()` cannot express itself (a form that
        must be rebuilt per attempt). A provider's Retry-After is honoured as a floor, up to a cap.
        """
        policy = self.config.retry
        cap = self.config.retry_after_cap

        def should_retry(error: BaseException) -> bool:
            return isinstance(error, ProviderError) and retryable(error)

        def asked_wait(error: BaseException) -> float | None:
            wanted = error.retry_after if isinstance(error, ProviderError) else None
            return None if wanted is None else min(wanted, cap)

        def log_retry(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome is not None else None
            category = error.category.value if isinstance(error, ProviderError) else "error"
            delay = state.next_action.sleep if state.next_action is not None else 0.0
            log.info(
                "provider call %s failed (%s); retry %d/%d in %.2fs",
                what,
                category,
                state.attempt_number,
                policy.attempts - 1,
                delay,
            )

        try:
            async for attempt in retrying(
                policy, retry_on=should_retry, before_sleep=log_retry, min_wait=asked_wait, sleep=self._sleep
            ):
                with attempt:
                    return await send()
        except ProviderError as error:
            if self._scrub is None:
                raise
            raise self._scrub(error) from None
        raise AssertionError("retrying() re-raises the last error once the attempts are spent")

    async def _send(
        self, method: str, url: str, headers: Mapping[str, str] | None, **options: Any
    ) -> HttpResponse:
        """One HTTP exchange; a connection failure or timeout is a transient ProviderError."""
        request_headers = await self._headers(headers)
        try:
            async with self.session.request(method, url, headers=request_headers, **options) as resp:
                raw = await resp.read()
                status, response_headers = resp.status, dict(resp.headers)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ProviderError(
                ErrorCategory.TRANSIENT,
                f"Could not reach the video provider ({type(exc).__name__}).",
            ) from None
        text = raw.decode("utf-8", errors="replace")
        try:  # a hostile or broken answer (too deep, NaN, not JSON) reads as text: the family's error
            body: Any = read_json(raw) if raw else None
            is_json = raw != b""
        except UnreadableJson:
            body, is_json = text, False
        return HttpResponse(status, response_headers, body, is_json)


def full_when_429(classify: ErrorClassifier) -> ErrorClassifier:
    """A submit's classifier: a 429 there means the account runs as many tasks as it may (the families
    without a code of their own for it), so the engine waits for a slot instead of retrying."""

    def classified(response: HttpResponse) -> ProviderError | None:
        error = classify(response)
        if error is None or error.category is not ErrorCategory.RATE_LIMITED:
            return error
        if response.status != 429 and error.code != 429:
            return error
        return ProviderError(
            ErrorCategory.PROVIDER_FULL,
            error.message,
            http_status=error.http_status,
            code=error.code,
            retry_after=error.retry_after,
        )

    return classified


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


def refusal(
    response: HttpResponse,
    category: ErrorCategory,
    message: Any,
    *,
    code: str | int | None,
    secrets: Iterable[str],
) -> ProviderError:
    """The error for a call the provider refused: its message made fit to show, the wait it asked for."""
    return ProviderError(
        category,
        safe_message(
            message, secrets=secrets, default=f"The video provider answered HTTP {response.status}."
        ),
        http_status=response.status,
        code=code,
        retry_after=retry_after_seconds(response.headers),
    )


def failure_category(message: str | None) -> ErrorCategory:
    """A finished-but-failed generation is `failed`, unless its reason says moderation refused it."""
    if message and _CONTENT_POLICY.search(message):
        return ErrorCategory.CONTENT_POLICY
    return ErrorCategory.FAILED
