"""Downloads against loopback servers: total and stall deadlines, size caps, error statuses, and the URL
policy (link-local addresses and non-http schemes refused, on the text, after DNS and after redirects)."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from pydantic import ValidationError
from yarl import URL

from bot.downloads import (
    CHUNK_BYTES,
    Downloader,
    DownloadFailed,
    DownloadLimits,
    DownloadPurpose,
    DownloadTimedOut,
    DownloadTooLarge,
    ForbiddenReason,
    ForbiddenUrl,
    UrlPolicy,
    VettingResolver,
    download_limits,
    is_link_local,
)
from bot.settings import Settings

BODY = bytes(range(256)) * 3000  # 768,000 bytes: several 256 KiB blocks
ROOMY = DownloadLimits(total_seconds=30, stall_seconds=30, max_bytes=10 * len(BODY))
METADATA = "http://169.254.169.254/latest/meta-data/"


class Origin:
    """A loopback server with one route per kind of behaviour; counts hits per path."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.hosts: list[str] = []
        self.release = asyncio.Event()  # lets the stalling routes finish
        self.port = 0
        self._runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{name}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        self.release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.hits[name] += 1
        self.hosts.append(request.host)
        if name == "file":
            return web.Response(body=BODY)
        if name in ("missing", "broken"):
            return web.Response(status=404 if name == "missing" else 500)
        if name == "redirect":
            raise web.HTTPFound(request.query["to"])
        if name == "loop":
            raise web.HTTPFound("/loop")
        if name == "silent":
            await self.release.wait()
            return web.Response(body=BODY)
        return await self._stream(request, name)

    async def _stream(self, request: web.Request, name: str) -> web.StreamResponse:
        response = web.StreamResponse()
        if name in ("half", "declared-big"):
            response.content_length = len(BODY) if name == "half" else 10**9
        await response.prepare(request)
        if name == "half":
            await response.write(BODY[: len(BODY) // 2])
            await self.release.wait()
            await response.write(BODY[len(BODY) // 2 :])
        elif name == "endless":  # chunked, no length, far more than any cap
            while not self.release.is_set():
                await response.write(BODY)
        elif name == "trickle":  # a byte at a time, forever: never a stall, never done
            while not self.release.is_set():
                await response.write(b"x")
                await asyncio.sleep(0.005)  # the sender's pace, not a wait in the test
        return response


class StaticResolver(AbstractResolver):
    """DNS from a table; records every name asked."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=0,
            )
            for address in self.table[host]
        ]

    async def close(self) -> None:
        pass


class Watch:
    """Client-side counts of requests started and connections made."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.connections = 0
        self.trace = aiohttp.TraceConfig()
        self.trace.on_request_start.append(self._request)
        self.trace.on_connection_create_end.append(self._connection)

    async def _request(self, _: object, __: object, params: aiohttp.TraceRequestStartParams) -> None:
        self.requests.append(str(params.url))

    async def _connection(self, *_: object) -> None:
        self.connections += 1


@pytest.fixture
async def origin() -> AsyncIterator[Origin]:
    server = Origin()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def resolver(origin: Origin) -> StaticResolver:
    return StaticResolver(
        {
            "metadata.test": ["169.254.169.254"],
            "mixed.test": ["127.0.0.1", "169.254.169.254"],
            "v6-metadata.test": ["fe80::a9fe:a9fe"],
            "results.test": ["127.0.0.1"],
        }
    )


@pytest.fixture
async def downloader(resolver: StaticResolver, watch: Watch) -> AsyncIterator[Downloader]:
    async with Downloader(resolver=resolver, trace_configs=[watch.trace]) as made:
        yield made


Fetch = Callable[[str, DownloadLimits], Awaitable[bytes]]


@pytest.fixture(params=["bytes", "file"])
def fetch(request: pytest.FixtureRequest, downloader: Downloader, tmp_path: Path) -> Fetch:
    """Both ways to download; the file way must leave nothing behind when it fails."""
    if request.param == "bytes":
        return downloader.fetch_bytes
    target = tmp_path / "result.mp4"

    async def to_file(url: str, limits: DownloadLimits) -> bytes:
        try:
            size = await downloader.fetch_to_file(url, target, limits)
        except BaseException:
            assert not target.exists()
            raise
        data = target.read_bytes()
        assert len(data) == size
        return data

    return to_file


# ---- the happy path and error statuses -------------------------------------------------------


async def test_a_file_arrives_whole(fetch: Fetch, origin: Origin) -> None:
    assert await fetch(origin.url("/file"), ROOMY) == BODY


async def test_a_result_reaches_the_file_in_256_kib_blocks(
    downloader: Downloader, origin: Origin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[int] = []
    real_to_thread = asyncio.to_thread

    async def recording_to_thread(function: Callable[..., object], *args: object) -> object:
        if getattr(function, "__name__", "") == "write":
            written.append(len(args[0]))  # type: ignore[arg-type]
        return await real_to_thread(function, *args)

    monkeypatch.setattr(asyncio, "to_thread", recording_to_thread)
    size = await downloader.fetch_to_file(origin.url("/file"), tmp_path / "r.mp4", ROOMY)
    assert size == len(BODY) == sum(written)
    assert all(CHUNK_BYTES <= block < 2 * CHUNK_BYTES for block in written[:-1]) and len(written) >= 2


@pytest.mark.parametrize(("path", "status"), [("/missing", 404), ("/broken", 500)])
async def test_an_error_status_is_a_typed_failure(
    fetch: Fetch, origin: Origin, path: str, status: int
) -> None:
    with pytest.raises(DownloadFailed) as caught:
        await fetch(origin.url(path), ROOMY)
    assert caught.value.status == status


async def test_a_closed_port_is_a_failure_without_status(fetch: Fetch, origin: Origin) -> None:
    port = origin.port
    await origin.stop()
    with pytest.raises(DownloadFailed) as caught:
        await fetch(f"http://127.0.0.1:{port}/file", ROOMY)
    assert caught.value.status is None


# ---- deadlines ---------------------------------------------------------------------------------


async def test_a_body_that_stops_halfway_hits_the_stall_deadline(fetch: Fetch, origin: Origin) -> None:
    limits = DownloadLimits(total_seconds=30, stall_seconds=0.2, max_bytes=len(BODY))
    with pytest.raises(DownloadTimedOut) as caught:
        await fetch(origin.url("/half"), limits)
    assert caught.value.kind == "stall"
    assert origin.hits["half"] == 1


async def test_a_server_that_never_answers_hits_the_stall_deadline(fetch: Fetch, origin: Origin) -> None:
    limits = DownloadLimits(total_seconds=30, stall_seconds=0.2, max_bytes=len(BODY))
    with pytest.raises(DownloadTimedOut) as caught:
        await fetch(origin.url("/silent"), limits)
    assert caught.value.kind == "stall"


async def test_a_trickle_that_never_ends_hits_the_total_deadline(fetch: Fetch, origin: Origin) -> None:
    limits = DownloadLimits(total_seconds=0.3, stall_seconds=30, max_bytes=len(BODY))
    with pytest.raises(DownloadTimedOut) as caught:
        await fetch(origin.url("/trickle"), limits)
    assert caught.value.kind == "total"


# ---- size caps ---------------------------------------------------------------------------------


async def test_a_declared_length_over_the_cap_is_refused_before_the_body(
    fetch: Fetch, origin: Origin
) -> None:
    with pytest.raises(DownloadTooLarge) as caught:
        await fetch(origin.url("/declared-big"), DownloadLimits(30, 30, max_bytes=1000))
    assert (caught.value.max_bytes, caught.value.declared) == (1000, 10**9)


async def test_an_undeclared_body_over_the_cap_is_cut_off(fetch: Fetch, origin: Origin) -> None:
    with pytest.raises(DownloadTooLarge) as caught:
        await fetch(origin.url("/endless"), DownloadLimits(30, 30, max_bytes=len(BODY) * 2))
    assert caught.value.declared is None


async def test_a_body_exactly_at_the_cap_is_accepted(fetch: Fetch, origin: Origin) -> None:
    assert await fetch(origin.url("/file"), DownloadLimits(30, 30, max_bytes=len(BODY))) == BODY


# ---- the URL policy ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        METADATA,
        "https://169.254.0.1:8443/x",
        "http://[fe80::1]/x",
        "http://[fe80::1%25eth0]:8080/x",
        "http://[::ffff:169.254.169.254]/latest",
    ],
)
async def test_a_link_local_literal_is_never_requested(fetch: Fetch, watch: Watch, url: str) -> None:
    with pytest.raises(ForbiddenUrl) as caught:
        await fetch(url, ROOMY)
    assert caught.value.reason is ForbiddenReason.LINK_LOCAL
    assert watch.requests == [] and watch.connections == 0


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/file", "gopher://127.0.0.1/"])
async def test_a_scheme_other_than_http_is_never_requested(fetch: Fetch, watch: Watch, url: str) -> None:
    with pytest.raises(ForbiddenUrl) as caught:
        await fetch(url, ROOMY)
    assert caught.value.reason is ForbiddenReason.SCHEME
    assert watch.requests == [] and watch.connections == 0


@pytest.mark.parametrize("host", ["metadata.test", "v6-metadata.test"])
async def test_a_name_that_resolves_to_link_local_is_never_connected(
    fetch: Fetch, resolver: StaticResolver, watch: Watch, host: str
) -> None:
    with pytest.raises(ForbiddenUrl) as caught:
        await fetch(f"http://{host}/latest/meta-data/", ROOMY)
    assert caught.value.reason is ForbiddenReason.RESOLVES_TO_LINK_LOCAL
    assert resolver.asked == [host]  # checked after resolution, not on the text
    assert watch.connections == 0


async def test_a_name_with_any_link_local_address_is_refused_whole(
    fetch: Fetch, origin: Origin, watch: Watch
) -> None:
    with pytest.raises(ForbiddenUrl):
        await fetch(f"http://mixed.test:{origin.port}/file", ROOMY)
    assert origin.hits.total() == 0 and watch.connections == 0


async def test_a_resolved_name_connects_to_the_vetted_address(
    fetch: Fetch, origin: Origin, resolver: StaticResolver
) -> None:
    assert await fetch(f"http://results.test:{origin.port}/file", ROOMY) == BODY
    assert resolver.asked == ["results.test"]
    assert origin.hosts == [f"results.test:{origin.port}"]


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        (METADATA, ForbiddenReason.LINK_LOCAL),
        ("http://[fe80::1]/x", ForbiddenReason.LINK_LOCAL),
        ("http://metadata.test/latest", ForbiddenReason.RESOLVES_TO_LINK_LOCAL),
        ("file:///etc/passwd", ForbiddenReason.SCHEME),
    ],
)
async def test_a_redirect_is_checked_like_the_first_url(
    fetch: Fetch, origin: Origin, watch: Watch, target: str, reason: ForbiddenReason
) -> None:
    with pytest.raises(ForbiddenUrl) as caught:
        await fetch(origin.url(f"/redirect?to={target}"), ROOMY)
    assert caught.value.reason is reason
    assert watch.connections == 1 and origin.hits["redirect"] == 1  # the origin's, nothing further


async def test_an_allowed_redirect_is_followed(fetch: Fetch, origin: Origin) -> None:
    assert await fetch(origin.url("/redirect?to=/file"), ROOMY) == BODY
    assert (origin.hits["redirect"], origin.hits["file"]) == (1, 1)


async def test_redirects_are_bounded(fetch: Fetch, origin: Origin) -> None:
    with pytest.raises(DownloadFailed) as caught:
        await fetch(origin.url("/loop"), ROOMY)
    assert caught.value.status == 302
    assert origin.hits["loop"] == 4  # the first request and three redirects


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "::1", "10.0.0.5", "172.16.3.4", "192.168.1.10", "fd00::7", "203.0.113.9"]
)
async def test_loopback_private_and_public_addresses_are_allowed(address: str) -> None:
    assert not UrlPolicy().forbids_address(address)
    vetting = VettingResolver(UrlPolicy(), StaticResolver({"gateway.internal": [address]}))
    assert [r["host"] for r in await vetting.resolve("gateway.internal", 80)] == [address]
    UrlPolicy().check_url(URL(f"http://[{address}]/" if ":" in address else f"http://{address}/"))


@pytest.mark.parametrize(
    "address", ["169.254.169.254", "169.254.0.1", "fe80::1", "febf::1", "fe80::1%eth0", "::ffff:169.254.1.1"]
)
def test_link_local_addresses(address: str) -> None:
    assert is_link_local(address)
    assert UrlPolicy().forbids_address(address)
    assert not UrlPolicy(allow_link_local=True).forbids_address(address)


async def test_a_policy_may_allow_link_local_for_urls_the_bot_built(watch: Watch) -> None:
    resolver = StaticResolver({"metadata.test": ["169.254.169.254"]})
    vetting = VettingResolver(UrlPolicy(allow_link_local=True), resolver)
    assert [r["host"] for r in await vetting.resolve("metadata.test", 80)] == ["169.254.169.254"]


# ---- configuration -----------------------------------------------------------------------------


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_default_deadlines_keep_answers_short() -> None:
    defaults = settings()
    picture = download_limits(defaults, DownloadPurpose.PICTURE, 1000)
    video = download_limits(defaults, DownloadPurpose.VIDEO, 1000)
    result = download_limits(defaults, DownloadPurpose.RESULT, 1000)
    assert (picture.total_seconds, video.total_seconds, result.total_seconds) == (15, 40, 300)
    assert picture.stall_seconds == video.stall_seconds == result.stall_seconds == 10
    assert picture.max_bytes == 1000


def test_the_stall_deadline_never_exceeds_the_total() -> None:
    limits = download_limits(settings(image_download_seconds=5), DownloadPurpose.PICTURE, 1)
    assert limits == DownloadLimits(5, 5, 1)


@pytest.mark.parametrize(
    "name",
    ["download_stall_seconds", "image_download_seconds", "video_download_seconds", "result_download_seconds"],
)
def test_deadlines_must_be_positive(name: str) -> None:
    with pytest.raises(ValidationError):
        settings(**{name: 0})


def test_limits_must_be_positive() -> None:
    for values in ((0, 1, 1), (1, 0, 1), (1, 1, 0)):
        with pytest.raises(ValueError):
            DownloadLimits(*values)
