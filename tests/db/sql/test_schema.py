"""Numbered migrations: applied in one transaction, recorded, idempotent, and safe on failure."""

from __future__ import annotations

import sqlite3

import asyncpg  # type: ignore[import-untyped]
import pytest

from db.migrate import Migration, SchemaTooNew, load_migrations
from db.sql.store import SqlStore
from tests.db.servers import make_store

TABLES = ("jobs", "callback_inbox", "guild_settings", "quota_limits", "credit_ledger", "audit_log")


async def test_fresh_database_gets_every_migration(empty_store: SqlStore) -> None:
    assert await empty_store.schema_version() == 0
    applied = await empty_store.migrate()
    assert applied == [m.version for m in load_migrations()]
    assert await empty_store.schema_version() == applied[-1]
    for table in TABLES:
        assert await empty_store.database.has_table(table), table


async def test_existing_database_is_left_alone_and_keeps_its_data(store: SqlStore, store_url: str) -> None:
    await store.allow_channel(1, 2)
    await store.close()

    reopened = make_store(store_url)
    await reopened.open()
    assert await reopened.migrate() == []
    assert (await reopened.get_guild_settings(1)).allowed_channels == frozenset({2})
    await reopened.close()


async def test_a_new_migration_is_applied_on_top(empty_store: SqlStore) -> None:
    base = load_migrations(dialect=empty_store.database.dialect)
    await empty_store.migrate(base)
    extra = Migration(base[-1].version + 1, "add_note", ("ALTER TABLE guild_settings ADD COLUMN note TEXT",))
    assert await empty_store.migrate([*base, extra]) == [extra.version]
    assert await empty_store.schema_version() == extra.version


async def test_a_failing_migration_changes_nothing(empty_store: SqlStore) -> None:
    base = load_migrations(dialect=empty_store.database.dialect)
    await empty_store.migrate(base)
    broken = Migration(
        base[-1].version + 1,
        "broken",
        ("CREATE TABLE half_done (id INTEGER)", "ALTER TABLE no_such_table ADD COLUMN x TEXT"),
    )
    error = (
        sqlite3.OperationalError if empty_store.database.dialect == "sqlite" else asyncpg.UndefinedTableError
    )
    with pytest.raises(error):
        await empty_store.migrate([*base, broken])
    assert await empty_store.schema_version() == base[-1].version
    assert not await empty_store.database.has_table("half_done")


async def test_a_database_newer_than_the_code_is_refused(empty_store: SqlStore) -> None:
    base = load_migrations(dialect=empty_store.database.dialect)
    future = Migration(base[-1].version + 1, "future", ("CREATE TABLE from_the_future (id INTEGER)",))
    await empty_store.migrate([*base, future])
    with pytest.raises(SchemaTooNew) as refused:
        await empty_store.migrate()
    assert (refused.value.found, refused.value.known) == (future.version, base[-1].version)
    assert "newer than this klingbot knows" in str(refused.value)
