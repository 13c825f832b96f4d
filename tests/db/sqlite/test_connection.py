"""The SQLite file: WAL mode, created with its folder, and nothing done before it is opened."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from db.sqlite import SqliteStore


async def test_a_new_file_is_created_in_wal_mode(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "sub" / "fresh.db")
    await store.open()
    await store.migrate()
    await store.close()
    with sqlite3.connect(tmp_path / "sub" / "fresh.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"jobs", "schema_migrations"} <= tables


async def test_in_memory_and_not_yet_open() -> None:
    store = SqliteStore(None)
    with pytest.raises(RuntimeError, match="not open"):
        await store.get_job("a")
    await store.open()
    assert await store.ping()
    assert await store.migrate() != []
    await store.close()
    assert not await store.ping()
