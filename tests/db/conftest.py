"""The store fixtures: each store test runs on SQLite and on PostgreSQL, from an empty database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from db.sql.store import SqlStore
from tests.db import servers
from tests.db.servers import make_store


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of this test run's own, created on first use and dropped at the end of the run."""
    with servers.own_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


# PostgreSQL databases that hold exactly the migrated schema, so emptying their tables is enough.
_MIGRATED: set[str] = set()


async def open_store(url: str, *, migrated: bool) -> SqlStore:
    if url.startswith("postgres"):
        if migrated and url in _MIGRATED:
            await servers.empty_tables(url)
        else:
            await servers.empty_schema(url)
            _MIGRATED.discard(url)
    store = make_store(url)
    await store.open()
    if migrated:
        await store.migrate()
        _MIGRATED.add(url)
    return store


@pytest.fixture
async def empty_store(store_url: str) -> AsyncIterator[SqlStore]:
    """An open store on an empty database (no migrations yet): its test may shape the schema freely."""
    store = await open_store(store_url, migrated=False)
    yield store
    await store.close()


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[SqlStore]:
    """An open store on a migrated database with empty tables."""
    store = await open_store(store_url, migrated=True)
    yield store
    await store.close()
