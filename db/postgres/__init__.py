"""The PostgreSQL backend: the shared SQL over an asyncpg pool, for several bot processes at once."""

from __future__ import annotations

from db.postgres.connection import PostgresDatabase
from db.sql.store import SqlStore

__all__ = ["PostgresStore"]


class PostgresStore(SqlStore):
    """The store in a PostgreSQL database (DATABASE_URL=postgresql://user:password@host:5432/name)."""

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 10) -> None:
        super().__init__(PostgresDatabase(dsn, min_size=min_size, max_size=max_size))
