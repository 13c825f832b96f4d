"""SQLite connections: aiosqlite, WAL mode, one connection, serialised writes.

IS NOT DISTINCT FROM needs SQLite 3.39+, RETURNING 3.35+.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from db.notify import Channel, LocalNotifier, hub_for
from db.sql.session import Database, Row, Session

Notification = tuple[Channel, str]


class SqliteSession(Session):
    def __init__(
        self,
        connection: aiosqlite.Connection,
        notifier: LocalNotifier,
        held: list[Notification] | None = None,
    ) -> None:
        self._connection = connection
        self._notifier = notifier
        self._held = held  # inside a transaction: published at COMMIT, dropped at ROLLBACK

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self._connection.execute(sql, params) as cursor:
            return [dict(row) for row in await cursor.fetchall()]

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        async with self._connection.execute(sql, params) as cursor:
            return cursor.rowcount

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._connection.executemany(sql, rows)

    async def notify(self, channel: Channel, payload: str = "") -> None:
        if self._held is None:
            self._notifier.publish(channel, payload)
        else:
            self._held.append((channel, payload))

    async def lock_member(self, guild_id: int | None, user_id: int) -> None:
        """Nothing to do: BEGIN IMMEDIATE already serialises every write transaction."""

    async def lock_migrations(self) -> None:
        """Nothing to do: BEGIN IMMEDIATE already serialises every write transaction."""


class SqliteDatabase(Database):
    """One connection; a lock keeps each transaction (and each read) whole."""

    dialect = "sqlite"

    def __init__(self, path: Path | None, *, busy_timeout_ms: int = 5000) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self._connection: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self.notifier: LocalNotifier = LocalNotifier(hub_for(path))

    async def open(self) -> None:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        target = str(self.path) if self.path is not None else ":memory:"
        # isolation_level=None: no implicit transactions; every write says BEGIN itself.
        self._connection = await aiosqlite.connect(target, isolation_level=None)
        self._connection.row_factory = aiosqlite.Row
        await self._connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
        await self._connection.execute("PRAGMA journal_mode = WAL")
        await self._connection.execute("PRAGMA synchronous = NORMAL")
        await self._connection.execute("PRAGMA foreign_keys = ON")

    async def close(self) -> None:
        await self.notifier.close()
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    @property
    def connection(self) -> aiosqlite.Connection:
        if self._connection is None:
            raise RuntimeError("the store is not open")
        return self._connection

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Session]:
        async with self._lock:
            yield SqliteSession(self.connection, self.notifier)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Session]:
        held: list[Notification] = []
        async with self._lock:
            await self.connection.execute("BEGIN IMMEDIATE")
            try:
                yield SqliteSession(self.connection, self.notifier, held)
            except BaseException:
                await self.connection.execute("ROLLBACK")
                raise
            else:
                await self.connection.execute("COMMIT")
        for channel, payload in held:
            self.notifier.publish(channel, payload)

    async def has_table(self, name: str) -> bool:
        row = await self.fetchone(
            "SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        )
        return row is not None
