"""The shared HTTP helper: bounded retries with backoff and jitter, and what is never retried."""

from __future__ import annotations

import logging
import random
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from bot.models import ErrorCategory
from bot.providers.base import ProviderError
from bot.providers.config import HttpConfig
from bot.providers.http import (
    HttpResponse,
    ProviderHttp,
    category_for_http_status,
    failure_category,
    redact_url,
    retry_after_seconds,
    safe_message,
)
from bot.providers.json_fields import json_object, json_text, parse_seconds
from bot.retry import RetryPolicy
from tests.providers import log_texts

RETRY = RetryPolicy(attempts=4, first_delay=0.5, max_delay=8.0)
POLICY = HttpConfig(retry=RETRY, timeout=5.0)


def classify(response: HttpResponse) -> ProviderError | None:
    if 200 <= response.status < 300:
        return None
    return ProviderError(
        category_for_http_status(response.status),
        f"HTTP {response.status}",
        http_status=response.status,
        retry_after=retry_after_seconds(response.headers),
    )


class Script:
    """A server answering each request with the next scripted (status, body, headers)."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, Any, dict[str, str]]] = []
        self.seen: list[web.Request] = []
        self.headers: list[dict[str, str]] = []

    def then(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> Script:
        self.answers.append((status, body if body is not None else {"ok": status < 400}, headers or {}))
        return self

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(request)
        self.headers.append(dict(request.headers))
        status, body, headers = self.answers.pop(0) if self.answers else (200, {"ok": True}, {})
        if isinstance(body, str):
            return web.Response(status=status, text=body, headers=headers)
        if isinstance(body, bytes):
            return web.Response(status=status, body=body, headers=headers, content_type="application/json")
        return web.json_response(body, status=status, headers=headers)


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
async def script() -> AsyncIterator[tuple[Script, str]]:
    handler = Script()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield handler, f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


async def make(base_url: str, sleeps: Sleeps, **kwargs: Any) -> ProviderHttp:
    return ProviderHttp(base_url, config=kwargs.pop("config", POLICY), sleep=sleeps, **kwargs)


async def test_rate_limit_then_success_is_retried_with_backoff(
    script: tuple[Script, str], sleeps: Sleeps
) -> None:
    server, base = script
    server.then(429).then(200, {"done": True})
    http = await make(base, sleeps)
    try:
        response = await http.request("GET", "/x", classify=classify)
    finally:
        await http.close()
    assert response.body == {"done": True}
    assert len(server.seen) == 2
    # Full jitter: anywhere between nothing and the first bound.
    assert len(sleeps.delays) == 1 and 0.0 <= sleeps.delays[0] <= 0.5


async def test_transient_errors_are_bounded(script: tuple[Script, str], sleeps: Sleeps) -> None:
    server, base = script
    for _ in range(10):
        server.then(503)
    http = await make(base, sleeps)
    with pytest.raises(ProviderError) as caught:
        await http.request("POST", "/x", classify=classify, json_body={"a": 1})
    await http.close()
    assert caught.value.category is ErrorCategory.TRANSIENT
    assert len(server.seen) == RETRY.attempts
    assert len(sleeps.delays) == RETRY.attempts - 1
    # Exponential ceilings 0.5, 1, 2 with full jitter below each.
    assert [RETRY.delay_bound(n) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    for retry_number, delay in enumerate(sleeps.delays, start=1):
        ceiling = min(RETRY.max_delay, RETRY.first_delay * 2 ** (retry_number - 1))
        assert 0.0 <= delay <= ceiling


def closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_connection_errors_are_retried_then_transient(sleeps: Sleeps) -> None:
    http = ProviderHttp(f"http://127.0.0.1:{closed_port()}", config=POLICY, sleep=sleeps)
    with pytest.raises(ProviderError) as caught:
        await http.request("GET", "/x", classify=classify)
    await http.close()
    assert caught.value.category is ErrorCategory.TRANSIENT
    assert "ClientConnectorError" in caught.value.message
    assert len(sleeps.delays) == RETRY.attempts - 1


@pytest.mark.parametrize(
    ("status", "category"),
    [
        (400, ErrorCategory.INVALID_REQUEST),
        (401, ErrorCategory.AUTH),
        (403, ErrorCategory.AUTH),
        (402, ErrorCategory.INSUFFICIENT_CREDITS),
        (422, ErrorCategory.INVALID_REQUEST),
    ],
)
async def test_non_retryable_errors_are_raised_at_once(
    script: tuple[Script, str], sleeps: Sleeps, status: int, category: ErrorCategory
) -> None:
    server, base = script
    server.then(status).then(200)
    http = await make(base, sleeps)
    with pytest.raises(ProviderError) as caught:
        await http.request("GET", "/x", classify=classify)
    await http.close()
    assert caught.value.category is category
    assert len(server.seen) == 1 and sleeps.delays == []


async def test_retry_after_is_a_floor(script: tuple[Script, str], sleeps: Sleeps) -> None:
    server, base = script
    server.then(429, headers={"Retry-After": "7"}).then(200)
    http = await make(base, sleeps)
    await http.request("GET", "/x", classify=classify)
    await http.close()
    assert sleeps.delays[0] >= 7


async def test_retry_false_sends_once(script: tuple[Script, str], sleeps: Sleeps) -> None:
    server, base = script
    server.then(503).then(200)
    http = await make(base, sleeps)
    with pytest.raises(ProviderError):
        await http.request("POST", "/x", classify=classify, retry=False)
    await http.close()
    assert len(server.seen) == 1


async def test_retry_on_narrows_what_is_retried(script: tuple[Script, str], sleeps: Sleeps) -> None:
    server, base = script
    server.then(429).then(503).then(200)
    http = await make(base, sleeps)
    with pytest.raises(ProviderError) as caught:
        await http.request("POST", "/x", classify=classify, retry_on=(ErrorCategory.RATE_LIMITED,))
    await http.close()
    assert caught.value.category is ErrorCategory.TRANSIENT  # the 503 after the retried 429
    assert len(server.seen) == 2


async def test_auth_header_may_be_async_and_is_sent(script: tuple[Script, str], sleeps: Sleeps) -> None:
    server, base = script

    async def header() -> str:
        return "Bearer async-token"

    http = await make(base, sleeps, auth_header=header)
    await http.request("GET", "/x", classify=classify, params={"q": "1"})
    await http.close()
    assert server.headers[0]["Authorization"] == "Bearer async-token"
    assert server.seen[0].query["q"] == "1"


async def test_non_json_bodies_are_kept_as_text(script: tuple[Script, str], sleeps: Sleeps) -> None:
    server, base = script
    server.then(200, "<html>maintenance</html>")
    http = await make(base, sleeps)
    response = await http.request("GET", "/x", classify=classify)
    await http.close()
    assert response.is_json is False and response.body == "<html>maintenance</html>"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="100k-nested"),
        pytest.param(b'{"code": 0, "data": NaN}', id="nan"),
        pytest.param(b'{"code": ' + b"9" * 10_000 + b"}", id="int-past-digit-limit"),
        pytest.param(b'{"code": 0, "msg": "\xff\xfe"}', id="not-utf8"),
    ],
)
async def test_hostile_json_answers_are_kept_as_text(
    script: tuple[Script, str], sleeps: Sleeps, raw: bytes
) -> None:
    """An answer the bot will not read as JSON reaches the family's classifier as text (is_json False),
    which each family turns into a transient "unexpected answer" error; nothing raises on the way."""
    server, base = script
    server.then(200, raw)
    http = await make(base, sleeps)
    response = await http.request("GET", "/x", classify=classify)
    await http.close()
    assert response.is_json is False and isinstance(response.body, str)


async def test_retry_logs_carry_no_query_strings(
    script: tuple[Script, str], sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    server, base = script
    server.then(503).then(200)
    http = await make(base, sleeps)
    with caplog.at_level(logging.DEBUG):
        await http.request("GET", "/x?signature=s3cr3t", classify=classify)
    await http.close()
    assert caplog.records, "the retry is logged"
    assert all("s3cr3t" not in text for text in log_texts(caplog.records))


async def test_jitter_spreads_delays(sleeps: Sleeps) -> None:
    """Full jitter: waits spread over the whole range below the bound, none above it."""
    flat = HttpConfig(retry=RetryPolicy(attempts=21, first_delay=2.0, max_delay=2.0), timeout=5.0)
    http = ProviderHttp(f"http://127.0.0.1:{closed_port()}", config=flat, sleep=sleeps)
    rng_state = random.getstate()
    random.seed(7)
    try:
        with pytest.raises(ProviderError):
            await http.request("GET", "/x", classify=classify)
    finally:
        random.setstate(rng_state)
        await http.close()
    delays = {round(d, 6) for d in sleeps.delays}
    assert len(delays) > 10
    assert all(0.0 <= d <= 2.0 for d in delays)
    assert min(delays) < 1.0 < max(delays)  # below the upper half too, unlike "equal jitter"
    assert RETRY.delay_bound(30) <= RETRY.max_delay


def test_helpers() -> None:
    assert redact_url("see https://cdn.example/a.mp4?sig=abc now") == "see https://cdn.example/a.mp4?… now"
    assert safe_message("fetch failed https://x.example/a?sig=1 token sk-9", secrets=["sk-9"]) == (
        "fetch failed <url> token ***"
    )
    assert safe_message(None, default="fallback") == "fallback"
    assert len(safe_message("x" * 1000)) == 300
    assert failure_category("Failure to pass the risk control system") is ErrorCategory.CONTENT_POLICY
    assert failure_category("content moderation failed") is ErrorCategory.CONTENT_POLICY
    assert failure_category("upstream timeout") is ErrorCategory.FAILED
    assert failure_category(None) is ErrorCategory.FAILED
    assert json_object([1]) == {} and json_object({"a": 1}) == {"a": 1}
    assert json_text(12) == "12" and json_text(True) is None and json_text(" ") is None
    assert parse_seconds("5.066") == 5.066 and parse_seconds("n/a") is None
    assert retry_after_seconds({"retry-after": "3"}) == 3.0
    assert retry_after_seconds({"Retry-After": "Wed, 21 Oct 2015"}) is None
