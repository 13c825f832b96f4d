"""A finished job's video on its way to Discord: downloaded from the provider (through the bot's
`Downloader`: deadlines, size cap, URL policy), re-encoded to fit an upload limit when it can stay
watchable, or kept for the listener to serve when it cannot."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.downloads import (
    Downloader,
    DownloadError,
    DownloadLimits,
    DownloadPurpose,
    ForbiddenUrl,
    download_limits,
)
from bot.jobs.hosting import RESULTS_WORK_DIR, JobHosting
from bot.jobs.publisher import DeliveryRetry, ResultRefused
from bot.settings import Settings
from db.records import JobRecord

log = logging.getLogger(__name__)

MIB = 1024 * 1024
KNOWN_UPLOAD_LIMITS = (10 * MIB, 50 * MIB, 100 * MIB)  # every user and bot; boost tiers 2 and 3
FIT_HEADROOM = 0.97  # re-encode to a little under the limit: multipart overhead, rounding
MAX_RESULT_DOWNLOAD = 512 * 1024 * 1024  # a generated clip is far smaller; refuse anything silly

FitVideo = Callable[[Path, Path, int], bool]


@dataclass(frozen=True, slots=True)
class HostedLink:
    url: str
    expires_at: float


def limit_below(refused_size: int) -> int:
    """The byte budget to re-encode for after Discord refused a file of `refused_size` bytes: the
    largest upload limit Discord knows (10, 50, 100 MiB) under that size, with headroom."""
    known = [limit for limit in KNOWN_UPLOAD_LIMITS if limit < refused_size]
    return int(max(known) * FIT_HEADROOM) if known else int(refused_size * 0.8)


def with_headroom(limit: int) -> int:
    return int(limit * FIT_HEADROOM)


async def file_size(path: Path) -> int:
    return (await asyncio.to_thread(path.stat)).st_size


def result_download_limits(settings: Settings) -> DownloadLimits:
    """The configured RESULT deadlines, with the result size cap."""
    return download_limits(settings, DownloadPurpose.RESULT, MAX_RESULT_DOWNLOAD)


def _fit_with_media(source: Path, target: Path, limit: int) -> bool:
    from bot.media import fit_video_to_size  # PyAV loads only when a video needs re-encoding

    return fit_video_to_size(source, target, limit)


class ResultFiles:
    """The bot's `downloader` is shared (one per bot), so it is closed by its owner, not here."""

    def __init__(
        self,
        media_dir: Path,
        hosting: JobHosting,
        downloader: Downloader,
        limits: DownloadLimits,
        *,
        fit_video: FitVideo | None = None,
    ) -> None:
        self.results_dir = media_dir / RESULTS_WORK_DIR
        self.hosting = hosting
        self.downloader = downloader
        self.limits = limits
        self._fit_video = fit_video or _fit_with_media

    async def download(self, job: JobRecord) -> Path:
        """Stream the result to disk, never holding it whole in memory.

        Raises ResultRefused when the link breaks the URL policy (nothing was fetched; retrying cannot
        help) and DeliveryRetry on any other failure (deadline, size cap, an error status, no answer).
        The errors never carry the link: it is signed.
        """
        assert job.result_url is not None
        await asyncio.to_thread(self.results_dir.mkdir, parents=True, exist_ok=True)
        path = self.results_dir / f"{job.id}.mp4"
        try:
            await self.downloader.fetch_to_file(job.result_url, path, self.limits)
        except ForbiddenUrl as forbidden:
            raise ResultRefused(forbidden.reason.value) from None
        except DownloadError as failed:
            raise DeliveryRetry(f"result download: {failed}") from None
        except ValueError:  # yarl: the link is not a URL at all
            raise DeliveryRetry("result download: the link is not a URL") from None
        return path

    async def fit(self, job: JobRecord, path: Path, limit: int) -> Path | None:
        """A copy re-encoded under `limit`, or None when that would not be watchable."""
        target = path.with_name(f"{job.id}.fit{limit}.mp4")  # never the file being read
        started = time.monotonic()
        ok = await asyncio.to_thread(self._fit_video, path, target, limit)
        fitted = target if ok and target.exists() and target.stat().st_size <= limit else None
        log.info(
            "job %s: re-encoding for a %d-byte limit %s in %.1fs",
            job.id,
            limit,
            f"gave {fitted.stat().st_size} bytes" if fitted else "did not fit",
            time.monotonic() - started,
        )
        return fitted

    async def host(self, job: JobRecord, original: Path) -> HostedLink | None:
        """Keep the original where the listener serves it; its link, or None when the bot has no public
        address (PUBLIC_BASE_URL unset)."""
        url = self.hosting.result_url(job)
        if url is None:
            return None
        await self.hosting.keep_result(job.id, original)
        return HostedLink(url, self.hosting.result_expires_at(job))

    async def cleanup(self, job_id: str) -> None:
        """The download and every re-encoded copy of it."""

        def remove() -> None:
            for candidate in self.results_dir.glob(f"{job_id}.*"):
                candidate.unlink(missing_ok=True)

        await asyncio.to_thread(remove)
