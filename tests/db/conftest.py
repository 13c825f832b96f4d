"""The store fixture: a migrated store, fresh for each test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from db.sql.store import SqlStore
from db.sqlite import SqliteStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    store = SqliteStore(tmp_path / "store.db")
    await store.open()
    await store.migrate()
    yield store
    await store.close()
