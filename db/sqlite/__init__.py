"""The SQLite backend: the shared SQL over one aiosqlite connection in WAL mode."""

from __future__ import annotations

from pathlib import Path

from db.sql.store import SqlStore
from db.sqlite.connection import SqliteDatabase

__all__ = ["SqliteStore"]


class SqliteStore(SqlStore):
    """The store in one SQLite file (or in memory when `path` is None)."""

    def __init__(self, path: Path | None, *, busy_timeout_ms: int = 5000) -> None:
        super().__init__(SqliteDatabase(path, busy_timeout_ms=busy_timeout_ms))
        self.path = path
