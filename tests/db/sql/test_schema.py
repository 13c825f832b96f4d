"""Numbered migrations: applied in one transaction, recorded, idempotent, and safe on failure."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from db.migrate import Migration, load_migrations
from db.sqlite import SqliteStore


async def test_fresh_database_gets_every_migration(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "fresh.db")
    await store.open()
    applied = await store.migrate()
    assert applied == [m.version for m in load_migrations()]
    assert await store.schema_version() == applied[-1]
    await store.close()
    with sqlite3.connect(tmp_path / "fresh.db") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {
        "jobs",
        "callback_inbox",
        "guild_settings",
        "quota_limits",
        "credit_ledger",
        "audit_log",
    } <= tables


async def test_existing_database_is_left_alone_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "existing.db"
    store = SqliteStore(path)
    await store.open()
    await store.migrate()
    await store.allow_channel(1, 2)
    await store.close()

    reopened = SqliteStore(path)
    await reopened.open()
    assert await reopened.migrate() == []
    assert (await reopened.get_guild_settings(1)).allowed_channels == frozenset({2})
    await reopened.close()


async def test_a_new_migration_is_applied_on_top(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "db.sqlite")
    await store.open()
    base = load_migrations()
    await store.migrate(base)
    extra = Migration(base[-1].version + 1, "add_note", ("ALTER TABLE guild_settings ADD COLUMN note TEXT",))
    assert await store.migrate([*base, extra]) == [extra.version]
    assert await store.schema_version() == extra.version
    await store.close()


async def test_a_failing_migration_changes_nothing(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "db.sqlite")
    await store.open()
    base = load_migrations()
    await store.migrate(base)
    broken = Migration(
        base[-1].version + 1,
        "broken",
        ("CREATE TABLE half_done (id INTEGER)", "ALTER TABLE no_such_table ADD COLUMN x TEXT"),
    )
    with pytest.raises(sqlite3.OperationalError):
        await store.migrate([*base, broken])
    assert await store.schema_version() == base[-1].version
    assert not await store.database.has_table("half_done")
    await store.close()
