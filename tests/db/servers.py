"""The PostgreSQL server the store's tests use, and a database of each test run's own on it.

KLINGBOT_TEST_POSTGRES_URL names the server (default: postgres@127.0.0.1:5432/test, trust auth); when
none answers the PostgreSQL tests are skipped, or fail when KLINGBOT_REQUIRE_POSTGRES=1 (CI).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]
import pytest

from db import redacted_url
from db.postgres import PostgresStore
from db.sql.store import SqlStore
from db.sqlite import SqliteStore

URL_VARIABLE = "KLINGBOT_TEST_POSTGRES_URL"
REQUIRE_VARIABLE = "KLINGBOT_REQUIRE_POSTGRES"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def server_url() -> str:
    return os.environ.get(URL_VARIABLE) or DEFAULT_URL


def postgres_required() -> bool:
    return os.environ.get(REQUIRE_VARIABLE) == "1"


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


async def create_database(url: str) -> str:
    """A fresh database for this run on the server at `url`; raises when the server does not answer."""
    name = f"klingbot_test_{secrets.token_hex(6)}"
    connection = await asyncpg.connect(url, timeout=3)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return with_database(url, name)


async def drop_database(url: str, database_url: str) -> None:
    name = urlsplit(database_url).path.strip("/")
    connection = await asyncpg.connect(url, timeout=3)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def empty_schema(database_url: str) -> None:
    """Start a test from an empty database (faster than a new database for every test)."""
    connection = await asyncpg.connect(database_url, timeout=3)
    try:
        await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await connection.close()


def unreachable_reason(url: str, error: BaseException) -> str:
    return (
        f"no PostgreSQL server answers at {redacted_url(url)} ({type(error).__name__}: {error});"
        f" set {URL_VARIABLE} to run the PostgreSQL store tests"
    )


async def empty_tables(database_url: str) -> None:
    """Empty every table but the migrations record: a migrated database as new.

    DELETE, tables that reference others first: on tables this small it is far quicker than TRUNCATE.
    """
    connection = await asyncpg.connect(database_url, timeout=3)
    try:
        await connection.execute(
            "DO $$ DECLARE t record; BEGIN FOR t IN SELECT tablename FROM pg_tables"
            " WHERE schemaname = 'public' AND tablename <> 'schema_migrations'"
            " ORDER BY EXISTS (SELECT 1 FROM pg_constraint WHERE contype = 'f'"
            " AND conrelid = quote_ident(tablename)::regclass) DESC"
            " LOOP EXECUTE 'DELETE FROM ' || quote_ident(t.tablename); END LOOP; END $$"
        )
    finally:
        await connection.close()


def make_store(url: str) -> SqlStore:
    """A store for a test URL (a real DATABASE_URL goes through db.store_from_url)."""
    if url.startswith("sqlite:///"):
        return SqliteStore(Path(url.removeprefix("sqlite:///")))
    return PostgresStore(url)


def run_sync(coroutine: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coroutine)


@contextmanager
def own_database() -> Iterator[str]:
    """A database of the caller's own, dropped afterwards; skips (or fails, when PostgreSQL is required)
    when no server answers."""
    url = server_url()
    try:
        database_url = asyncio.run(create_database(url))
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        reason = unreachable_reason(url, error)
        if postgres_required():
            pytest.fail(f"{REQUIRE_VARIABLE}=1 but {reason}")
        pytest.skip(reason)
    try:
        yield database_url
    finally:
        asyncio.run(drop_database(url, database_url))
