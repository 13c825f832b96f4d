"""Job inputs on disk: written when a job is accepted, served to the provider, removed when stale.

Discord attachment URLs expire and slash-command attachments are temporary, so the bytes are kept
here from the moment the command arrives; a job that has to be resubmitted after a crash still has them.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

from bot.jobs.drafts import InputFile

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(role: str, filename: str) -> str:
    """`role.ext` with a harmless extension: names appear in URLs handed to providers."""
    suffix = Path(filename).suffix.lower()
    suffix = _SAFE_NAME.sub("", suffix)[:8] or ".bin"
    return f"{role}{suffix}"


class InputStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def job_dir(self, job_id: str) -> Path:
        return self.root / "inputs" / job_id

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

        return await asyncio.to_thread(write)

    def path(self, job_id: str, name: str) -> Path | None:
        if _SAFE_NAME.sub("", name) != name or name.startswith("."):
            return None
        candidate = self.job_dir(job_id) / name
        return candidate if candidate.is_file() else None

    async def read(self, job_id: str, name: str) -> bytes | None:
        path = self.path(job_id, name)
        return None if path is None else await asyncio.to_thread(path.read_bytes)

    async def remove(self, job_id: str) -> None:
        await asyncio.to_thread(shutil.rmtree, self.job_dir(job_id), True)
