"""PostgreSQL specifics: placeholders, command tags, and several processes sharing one database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from db.migrate import load_migrations
from db.postgres import PostgresStore
from db.postgres.connection import PostgresDatabase, advisory_key, numbered_placeholders, rows_changed
from db.records import QuotaCheck
from tests.db import servers
from tests.db.factories import NOW, new_job


def test_placeholders_are_numbered_outside_string_literals() -> None:
    sql = "UPDATE t SET a = ?, b = 'why?', c = 'it''s ?' WHERE d IN (?, ?)"
    assert numbered_placeholders(sql) == "UPDATE t SET a = $1, b = 'why?', c = 'it''s ?' WHERE d IN ($2, $3)"


def test_rows_changed_reads_the_command_tag() -> None:
    assert [rows_changed(tag) for tag in ("UPDATE 3", "INSERT 0 1", "DELETE 0", "SELECT 1", "BEGIN")] == [
        3,
        1,
        0,
        1,
        0,
    ]


def test_advisory_keys_are_stable_signed_64_bit_numbers() -> None:
    key = advisory_key("klingbot:member:1:7")
    assert key == advisory_key("klingbot:member:1:7") != advisory_key("klingbot:member:1:8")
    assert -(2**63) <= key < 2**63


def test_the_password_stays_out_of_repr() -> None:
    assert "hunter2" not in repr(PostgresDatabase("postgresql://kb:hunter2@db:5432/klingbot"))


@pytest.fixture
async def empty_database(postgres_url: str) -> AsyncIterator[str]:
    await servers.empty_schema(postgres_url)
    yield postgres_url


async def open_stores(url: str, count: int) -> list[PostgresStore]:
    """Stores with a pool each, like that many bot processes."""
    stores = [PostgresStore(url, max_size=5) for _ in range(count)]
    await asyncio.gather(*(store.open() for store in stores))
    return stores


async def test_processes_starting_together_migrate_once(empty_database: str) -> None:
    stores = await open_stores(empty_database, 4)
    try:
        applied = await asyncio.gather(*(store.migrate() for store in stores))
        assert sorted(applied, key=len) == [[], [], [], [m.version for m in load_migrations()]]
    finally:
        await asyncio.gather(*(store.close() for store in stores))


async def test_reservations_hold_across_processes(empty_database: str) -> None:
    stores = await open_stores(empty_database, 2)
    try:
        await stores[0].migrate()
        quota = QuotaCheck(limit=3, window_start=NOW - 60, max_in_flight=100)
        results = await asyncio.gather(
            *(stores[i % 2].create_job(new_job(f"j{i}"), quota) for i in range(10))
        )
        assert sum(r.accepted for r in results) == 3
        assert {r.reason for r in results if not r.accepted} == {"quota"}
        assert await stores[1].spent_credits(1, 7, NOW - 60) == 3
    finally:
        await asyncio.gather(*(store.close() for store in stores))


async def test_ids_are_numbered_by_the_database(empty_database: str) -> None:
    (store,) = await open_stores(empty_database, 1)
    try:
        await store.migrate()
        first = await store.add_audit(1, 2, "pause", "{}", None, NOW)
        assert await store.add_audit(1, 2, "resume", "{}", None, NOW) == first + 1
    finally:
        await store.close()
