"""PostgreSQL connections: an asyncpg pool; the shared SQL's `?` placeholders become `$1, $2, …` here.

Per-member reservations and migrations are serialised with transaction-scoped advisory locks, so any
number of bot processes can share one database.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from db.notify import Channel
from db.postgres.notify import PostgresNotifier
from db.sql.session import Database, Row, Session

# A string literal (kept as it is) or a `?` placeholder (numbered).
_LITERAL_OR_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|\?")


@functools.lru_cache(maxsize=1024)
def numbered_placeholders(sql: str) -> str:
    """Translate `?` placeholders to `$1, $2, …` in order, leaving string literals alone."""
    numbers = itertools.count(1)
    return _LITERAL_OR_PLACEHOLDER.sub(
        lambda match: f"${next(numbers)}" if match.group(0) == "?" else match.group(0), sql
    )


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_xact_lock (Python's hash() differs per process)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


MIGRATIONS_LOCK = advisory_key("klingbot:migrations")


def rows_changed(status: str) -> int:
    """The row count from a command tag such as "UPDATE 1" or "INSERT 0 1"."""
    count = status.rsplit(" ", 1)[-1]
    return int(count) if count.isdigit() else 0


class PostgresSession(Session):
    def __init__(self, connection: Any) -> None:
        self._connection = connection

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        records = await self._connection.fetch(numbered_placeholders(sql), *params)
        return [dict(record) for record in records]

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return rows_changed(await self._connection.execute(numbered_placeholders(sql), *params))

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._connection.executemany(numbered_placeholders(sql), rows)

    async def notify(self, channel: Channel, payload: str = "") -> None:
        # NOTIFY inside a transaction is delivered when it commits, and never if it rolls back.
        await self._connection.execute("SELECT pg_notify($1, $2)", channel.value, payload)

    async def lock_member(self, guild_id: int | None, user_id: int) -> None:
        await self._lock(advisory_key(f"klingbot:member:{guild_id}:{user_id}"))

    async def lock_migrations(self) -> None:
        await self._lock(MIGRATIONS_LOCK)

    async def _lock(self, key: int) -> None:
        # Held until the transaction commits or rolls back; waits while another transaction holds it.
        await self._connection.execute("SELECT pg_advisory_xact_lock($1)", key)


class PostgresDatabase(Database):
    """A pool of connections; every transaction runs on one of them at READ COMMITTED."""

    dialect = "postgres"

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self._dsn = dsn
        self._min_size = min_size
        self._max_size = max_size
        self._pool: Any = None
        self.notifier = PostgresNotifier(dsn)

    def __repr__(self) -> str:  # the DSN may carry a password
        return f"PostgresDatabase(pool={self._min_size}..{self._max_size})"

    async def open(self) -> None:
        self._pool = await asyncpg.create_pool(self._dsn, min_size=self._min_size, max_size=self._max_size)

    async def close(self) -> None:
        await self.notifier.close()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @property
    def pool(self) -> Any:
        if self._pool is None:
            raise RuntimeError("the store is not open")
        return self._pool

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Session]:
        async with self.pool.acquire() as connection:
            yield PostgresSession(connection)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Session]:
        async with self.pool.acquire() as connection, connection.transaction():
            yield PostgresSession(connection)

    async def has_table(self, name: str) -> bool:
        row = await self.fetchone("SELECT to_regclass(?) IS NOT NULL AS found", (name,))
        return bool(row and row["found"])
