"""Every download the bot makes from a URL: a total deadline, a stall deadline, a size cap, and a URL policy.

Attachments come back as bytes; results stream to a file in 256 KiB blocks written off the event loop.
Failures are typed (never sentences): the caller decides what the member reads.

The URL policy (no link-local addresses, http(s) only) is checked twice: on the URL's text, and on every
address a host name resolves to, inside the connector's resolver, so the connection goes to exactly the
address that was checked and a DNS answer that changes between check and connect (rebinding) cannot slip
past. IP literals never reach a resolver, which is why the text check is needed too.

Redirects are followed here, not by aiohttp, at most `MAX_REDIRECTS` hops: result links are often signed
storage or CDN URLs that answer with a redirect, so refusing every 3xx would fail real deliveries, while
aiohttp's own following would send a redirect to an IP literal straight past the resolver check. Each hop
goes through the same text check and resolver.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO, Literal, TypeVar

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from bot.settings import Settings

CHUNK_BYTES = 256 * 1024  # what is handed to the file (or buffer) at a time
MAX_REDIRECTS = 3
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

T = TypeVar("T")
Sink = Callable[[bytes], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class DownloadLimits:
    total_seconds: float  # the whole download, redirects and connecting included
    stall_seconds: float  # longest wait for the next bytes (or for the response to start)
    max_bytes: int

    def __post_init__(self) -> None:
        if self.total_seconds <= 0 or self.stall_seconds <= 0 or self.max_bytes <= 0:
            raise ValueError("download limits must be positive")


class DownloadPurpose(StrEnum):
    PICTURE = "picture"  # an attached picture: the member is waiting for an answer
    VIDEO = "video"  # an attached reference video: the member is waiting too
    RESULT = "result"  # a finished clip fetched from the provider for delivery


def download_limits(settings: Settings, purpose: DownloadPurpose, max_bytes: int) -> DownloadLimits:
    """The configured deadlines for one kind of download, with the caller's size cap."""
    total = {
        DownloadPurpose.PICTURE: settings.image_download_seconds,
        DownloadPurpose.VIDEO: settings.video_download_seconds,
        DownloadPurpose.RESULT: settings.result_download_seconds,
    }[purpose]
    return DownloadLimits(total, min(settings.download_stall_seconds, total), max_bytes)


# ---- typed failures ----------------------------------------------------------------------------


class DownloadError(Exception):
    """A download did not complete. Never carries the URL: result links are signed (secret)."""


class DownloadTimedOut(DownloadError):
    def __init__(self, kind: Literal["total", "stall"]) -> None:
        super().__init__(f"download exceeded its {kind} deadline")
        self.kind = kind


class DownloadTooLarge(DownloadError):
    def __init__(self, max_bytes: int, declared: int | None = None) -> None:
        super().__init__(
            f"download is over {max_bytes} bytes" + (f" ({declared} declared)" if declared else "")
        )
        self.max_bytes = max_bytes
        self.declared = declared  # the Content-Length, when the server sent one


class ForbiddenReason(StrEnum):
    SCHEME = "scheme"  # not http or https
    NO_HOST = "no_host"
    LINK_LOCAL = "link_local"  # the URL names a link-local address
    RESOLVES_TO_LINK_LOCAL = "resolves_to_link_local"  # its host name resolves to one


class ForbiddenUrl(DownloadError):
    """The URL breaks the policy; nothing was fetched from it. Permanent: retrying cannot help."""

    def __init__(self, reason: ForbiddenReason, address: str | None = None) -> None:
        super().__init__(f"forbidden URL: {reason.value}" + (f" ({address})" if address else ""))
        self.reason = reason
        self.address = address


class DownloadFailed(DownloadError):
    """The server answered something other than the file (`status`), or the connection failed (None)."""

    def __init__(self, status: int | None, detail: str = "") -> None:
        super().__init__(f"download failed ({status if status is not None else detail or 'no answer'})")
        self.status = status
        self.detail = detail


# ---- the URL policy ----------------------------------------------------------------------------


def is_link_local(address: str) -> bool:
    """169.254.0.0/16 or fe80::/10, also when written as an IPv4-mapped IPv6 address."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_link_local


def _ip_literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    """Which URLs the bot may fetch. Loopback and private ranges stay allowed (self-hosted gateways)."""

    allow_link_local: bool = False
    schemes: frozenset[str] = frozenset({"http", "https"})

    def check_url(self, url: URL) -> None:
        if url.scheme not in self.schemes:
            raise ForbiddenUrl(ForbiddenReason.SCHEME)
        host = url.raw_host
        if not host:
            raise ForbiddenUrl(ForbiddenReason.NO_HOST)
        literal = _ip_literal(host)
        if literal is not None and self.forbids_address(literal):
            raise ForbiddenUrl(ForbiddenReason.LINK_LOCAL, literal)

    def forbids_address(self, address: str) -> bool:
        return not self.allow_link_local and is_link_local(address)


class VettingResolver(AbstractResolver):
    """Resolves through `inner`, then refuses the host if any of its addresses breaks the policy.

    The connector connects only to the addresses returned here, so what was checked is what is used.
    """

    def __init__(self, policy: UrlPolicy, inner: AbstractResolver) -> None:
        self.policy = policy
        self.inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        for result in results:
            if self.policy.forbids_address(result["host"]):
                raise ForbiddenUrl(ForbiddenReason.RESOLVES_TO_LINK_LOCAL, result["host"])
        return results

    async def close(self) -> None:
        await self.inner.close()


# ---- the downloader ----------------------------------------------------------------------------


async def _within_stall(awaitable: Awaitable[T], seconds: float) -> T:
    try:
        async with asyncio.timeout(seconds):
            return await awaitable
    except TimeoutError:
        raise DownloadTimedOut("stall") from None


class Downloader:
    """One HTTP session for downloads, its connections resolved through the policy.

    `resolver` replaces the system's DNS (tests); `trace_configs` lets tests watch requests.
    """

    def __init__(
        self,
        policy: UrlPolicy | None = None,
        *,
        resolver: AbstractResolver | None = None,
        trace_configs: list[aiohttp.TraceConfig] | None = None,
    ) -> None:
        self.policy = policy or UrlPolicy()
        self._resolver = resolver
        self._trace_configs = trace_configs
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Downloader:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        """Made on first use, inside the running loop; its resolver vets every address it connects to."""
        if self._session is None or self._session.closed:
            vetting = VettingResolver(self.policy, self._resolver or aiohttp.DefaultResolver())
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(resolver=vetting),
                timeout=aiohttp.ClientTimeout(total=None),  # deadlines are ours, see _download
                trust_env=False,  # a proxy would resolve names itself, past the policy
                trace_configs=self._trace_configs,
            )
        return self._session

    async def fetch_bytes(self, url: str, limits: DownloadLimits) -> bytes:
        """The whole body in memory: for attachments, which are small and capped by `max_bytes`."""
        blocks: list[bytes] = []

        async def keep(block: bytes) -> None:
            blocks.append(block)

        await self._download(url, limits, keep)
        return b"".join(blocks)

    async def fetch_to_file(self, url: str, path: Path, limits: DownloadLimits) -> int:
        """Stream the body to `path` (its size is returned); a failed download leaves no file behind."""
        out = await asyncio.to_thread(path.open, "wb")

        async def write(block: bytes) -> None:
            await asyncio.to_thread(out.write, block)

        try:
            size = await self._download(url, limits, write)
        except BaseException:
            _discard(out, path)  # synchronous on purpose: it must also run while being cancelled
            raise
        await asyncio.to_thread(out.close)
        return size

    async def _download(self, url: str, limits: DownloadLimits, sink: Sink) -> int:
        try:
            async with asyncio.timeout(limits.total_seconds):
                response = await self._open(URL(url), limits)
                async with response:
                    return await _read_body(response, limits, sink)
        except TimeoutError:
            # A stall became DownloadTimedOut inside; any TimeoutError left is the total deadline.
            raise DownloadTimedOut("total") from None
        except aiohttp.ClientError as exc:
            raise DownloadFailed(None, type(exc).__name__) from exc

    async def _open(self, url: URL, limits: DownloadLimits) -> aiohttp.ClientResponse:
        """The response for `url`, following at most MAX_REDIRECTS redirects, each one checked."""
        for _ in range(MAX_REDIRECTS + 1):
            self.policy.check_url(url)
            response = await _within_stall(self.session.get(url, allow_redirects=False), limits.stall_seconds)
            if response.status not in REDIRECT_STATUSES:
                return response
            location = response.headers.get(aiohttp.hdrs.LOCATION)
            response.release()
            if not location:
                raise DownloadFailed(response.status, "redirect without a location")
            url = response.url.join(URL(location))
        raise DownloadFailed(response.status, "too many redirects")


def _discard(out: BinaryIO, path: Path) -> None:
    out.close()
    path.unlink(missing_ok=True)


async def _read_body(response: aiohttp.ClientResponse, limits: DownloadLimits, sink: Sink) -> int:
    """Hand the body to `sink` in CHUNK_BYTES blocks; the stall deadline applies to each read."""
    if response.status != 200:
        raise DownloadFailed(response.status)
    declared = response.content_length
    if declared is not None and declared > limits.max_bytes:
        raise DownloadTooLarge(limits.max_bytes, declared)
    size = 0
    block = bytearray()
    while True:
        # readany: whatever has arrived, so a slow but steady sender is never taken for a stalled one.
        chunk = await _within_stall(response.content.readany(), limits.stall_seconds)
        if not chunk:
            break
        size += len(chunk)
        if size > limits.max_bytes:
            raise DownloadTooLarge(limits.max_bytes, declared)
        block += chunk
        if len(block) >= CHUNK_BYTES:
            await sink(bytes(block))
            block.clear()
    if block:
        await sink(bytes(block))
    return size
