"""Job inputs on disk: written when a job is accepted, served to the provider, removed when stale.

Discord attachment URLs expire and slash-command attachments are temporary, so the bytes are kept
here from the moment the command arrives; a job that has to be resubmitted after a crash still has them.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from bot.jobs.drafts import InputFile

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(role: str, filename: str) -> str:
    """`role.ext` with a harmless extension: names appear in URLs handed to providers."""
    suffix = Path(filename).suffix.lower()
    suffix = _SAFE_NAME.sub("", suffix)[:8] or ".bin"
    return f"{role}{suffix}"


def folder_bytes(path: Path) -> int:
    """Bytes of the files under `path` (0 when it does not exist); blocking: run it in a thread."""
    total = 0
    for directory, _, names in os.walk(path):
        for name in names:
            try:
                total += os.stat(os.path.join(directory, name), follow_symlinks=False).st_size
            except OSError:
                continue  # removed while we looked
    return total


class MediaUsage:
    """Bytes kept in the media folder (job inputs, hosted results), kept current as files are saved and
    removed, and recounted from the disk at start-up. Each change is reported to `watchers`."""

    def __init__(self) -> None:
        self.bytes = 0
        self.watchers: list[Callable[[int], None]] = []

    def added(self, size: int) -> None:
        self._set(self.bytes + size)

    def removed(self, size: int) -> None:
        self._set(max(0, self.bytes - size))

    def _set(self, value: int) -> None:
        self.bytes = value
        for watcher in self.watchers:
            watcher(value)

    async def recount(self, *folders: Path) -> int:
        self._set(sum([await asyncio.to_thread(folder_bytes, folder) for folder in folders]))
        return self.bytes


class InputStore:
    def __init__(self, root: Path, usage: MediaUsage | None = None) -> None:
        self.root = root
        self.usage = usage or MediaUsage()

    @property
    def inputs_dir(self) -> Path:
        return self.root / "inputs"

    def job_dir(self, job_id: str) -> Path:
        return self.inputs_dir / job_id

    async def save(self, job_id: str, files: tuple[InputFile, ...]) -> list[dict[str, object]]:
        """Write the files; returns their descriptions for the job's params."""

        def write() -> list[dict[str, object]]:
            directory = self.job_dir(job_id)
            directory.mkdir(parents=True, exist_ok=True)
            described: list[dict[str, object]] = []
            for file in files:
                name = safe_filename(file.role, file.filename)
                (directory / name).write_bytes(file.data)
                described.append(
                    {
                        "role": file.role,
                        "name": name,
                        "filename": file.filename,
                        "content_type": file.content_type,
                        "size": len(file.data),
                        "converted": file.converted,
                    }
                )
            return described

        described = await asyncio.to_thread(write)
        self.usage.added(sum(len(file.data) for file in files))
        return described

    def path(self, job_id: str, name: str) -> Path | None:
        if _SAFE_NAME.sub("", name) != name or name.startswith("."):
            return None
        candidate = self.job_dir(job_id) / name
        return candidate if candidate.is_file() else None

    async def read(self, job_id: str, name: str) -> bytes | None:
        path = self.path(job_id, name)
        return None if path is None else await asyncio.to_thread(path.read_bytes)

    async def remove(self, job_id: str) -> int:
        """Delete the job's files; returns how many bytes that freed."""
        freed = await remove_folder(self.job_dir(job_id))
        self.usage.removed(freed)
        return freed


async def remove_folder(path: Path) -> int:
    """Delete a folder and what is in it; returns the bytes freed (0 when it was not there)."""

    def remove() -> int:
        size = folder_bytes(path)
        shutil.rmtree(path, ignore_errors=True)
        return size

    return await asyncio.to_thread(remove)
