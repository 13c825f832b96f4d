"""What the listener serves for jobs, and where: per-job callback URLs, the input files providers
fetch, and finished videos too large to upload to Discord. Every path carries an unguessable token
and stops working when its lifetime is over."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import shutil
from collections.abc import Callable
from pathlib import Path

from bot.jobs.inputs import InputStore, remove_folder
from db.records import JobRecord
from db.store import Store

INPUT_URL_LIFETIME = 3 * 24 * 3600  # as long as a provider may take to start a job
RESULT_LINK_LIFETIME = 7 * 24 * 3600  # how long a video too large for Discord stays downloadable
HOSTED_RESULTS_DIR = "hosted"  # under the media directory: media/hosted/{job_id}/{job_id}.mp4
RESULTS_WORK_DIR = "results"  # downloads being delivered: media/results/{job_id}.*, gone once posted


def result_link_token(callback_token: str) -> str:
    """The secret part of a hosted result's path: derived from the job's callback token, one way only,
    so the link shown in Discord can never be turned into the callback URL."""
    return hmac.new(callback_token.encode(), b"hosted-result", hashlib.sha256).hexdigest()[:32]


class JobHosting:
    def __init__(
        self, store: Store, inputs: InputStore, public_base_url: str | None, clock: Callable[[], float]
    ) -> None:
        self.store = store
        self.inputs = inputs
        self.public_base_url = public_base_url
        self.clock = clock

    def callback_url(self, job: JobRecord) -> str | None:
        base = self.public_base_url
        return f"{base}/callbacks/{job.callback_token}" if base else None

    def input_url(self, job: JobRecord, name: str) -> str | None:
        base = self.public_base_url
        return f"{base}/inputs/{job.input_token}/{name}" if base and job.input_token else None

    def result_url(self, job: JobRecord) -> str | None:
        """The link to a hosted copy of the job's video; None when the bot has no public address."""
        base = self.public_base_url
        if not base:
            return None
        return f"{base}/results/{job.id}/{result_link_token(job.callback_token)}/{job.id}.mp4"

    def result_expires_at(self, job: JobRecord) -> float:
        return (job.finished_at or self.clock()) + RESULT_LINK_LIFETIME

    async def input_file(self, token: str, name: str) -> Path | None:
        """The file behind /inputs/{token}/{name}, while the job may still need it."""
        job = await self.store.get_job_by_input_token(token)
        if job is None or self.clock() - job.created_at > INPUT_URL_LIFETIME:
            return None
        return self.inputs.path(job.id, name)

    def hosted_result_path(self, job_id: str) -> Path:
        """Where a finished video too large for Discord is kept while its link is valid."""
        return self.inputs.root / HOSTED_RESULTS_DIR / job_id / f"{job_id}.mp4"

    async def result_file(self, job_id: str, token: str, name: str) -> Path | None:
        """The file behind /results/{job_id}/{token}/{name}, until the link's expiry."""
        job = await self.store.get_job(job_id)
        if job is None or job.finished_at is None or name != f"{job.id}.mp4":
            return None
        if not hmac.compare_digest(token, result_link_token(job.callback_token)):
            return None
        if self.clock() > job.finished_at + RESULT_LINK_LIFETIME:
            return None
        path = self.hosted_result_path(job.id)
        return path if path.is_file() else None

    @property
    def hosted_dir(self) -> Path:
        return self.inputs.root / HOSTED_RESULTS_DIR

    async def keep_result(self, job_id: str, original: Path) -> None:
        """Copy a finished video where the listener serves it (replacing an earlier copy)."""
        target = self.hosted_result_path(job_id)

        def keep() -> tuple[int, int]:
            before = target.stat().st_size if target.is_file() else 0
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(original, target)
            return before, target.stat().st_size

        before, after = await asyncio.to_thread(keep)
        self.inputs.usage.removed(before)
        self.inputs.usage.added(after)

    async def remove_expired_results(self) -> int:
        """Delete hosted videos whose links have expired (and strays no job owns); returns how many."""
        removed, _ = await self.sweep_results()
        return removed

    async def sweep_results(self) -> tuple[int, float | None]:
        """Remove expired hosted videos: how many went, and when the next kept one expires (None: none
        is kept). The folder holds only videos too large for Discord, so listing it is cheap."""
        root = self.hosted_dir
        names = await asyncio.to_thread(lambda: [p.name for p in root.iterdir()] if root.is_dir() else [])
        removed, next_expiry = 0, None
        for name in names:
            job = await self.store.get_job(name)
            finished = job.finished_at if job is not None else None
            if finished is None or self.clock() > finished + RESULT_LINK_LIFETIME:
                self.inputs.usage.removed(await remove_folder(root / name))
                removed += 1
            else:
                expiry = finished + RESULT_LINK_LIFETIME
                next_expiry = expiry if next_expiry is None else min(next_expiry, expiry)
        return removed, next_expiry
