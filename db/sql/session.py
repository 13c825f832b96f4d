"""The contract between the shared SQL and a backend: sessions that run statements, and transactions.

The SQL in `db.sql` is portable (standard ON CONFLICT, IS NOT DISTINCT FROM, RETURNING, `?` placeholders);
a backend only says how to connect, how to open a transaction and how to serialise what must be serial.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from db.notify import Channel, Notifier

Row = dict[str, Any]


def placeholders(count: int) -> str:
    return ", ".join("?" * count)


class Session(ABC):
    """One connection's statements, inside a transaction or not (see `Database`)."""

    @abstractmethod
    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    @abstractmethod
    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the number of rows it changed."""

    @abstractmethod
    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    @abstractmethod
    async def lock_member(self, guild_id: int | None, user_id: int) -> None:
        """Hold, until the transaction ends, the lock that serialises one member's reservations."""

    @abstractmethod
    async def lock_migrations(self) -> None:
        """Hold, until the transaction ends, the lock that lets only one process migrate at a time."""

    @abstractmethod
    async def notify(self, channel: Channel, payload: str = "") -> None:
        """Wake listeners on `channel`: at COMMIT inside a transaction (never after a rollback), else now."""

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row, or None."""
        row = await self.fetchone(sql, params)
        return next(iter(row.values())) if row else None


class Database(ABC):
    """A backend's connections: reads in `session()`, writes in `transaction()` (committed on exit)."""

    dialect: str
    notifier: Notifier  # where this database's notifications are listened to

    @abstractmethod
    async def open(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    def session(self) -> AbstractAsyncContextManager[Session]: ...

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Session]: ...

    @abstractmethod
    async def has_table(self, name: str) -> bool: ...

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self.session() as session:
            return await session.fetchall(sql, params)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        async with self.session() as session:
            return await session.fetchone(sql, params)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One write statement in its own transaction; returns the number of rows changed."""
        async with self.transaction() as session:
            return await session.execute(sql, params)
