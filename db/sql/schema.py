"""Opening, health and numbered migrations, the same for every backend."""

from __future__ import annotations

import logging
import time

from db.migrate import Migration, check_not_newer, load_migrations
from db.sql.session import Database

log = logging.getLogger(__name__)

_CREATE_MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
)


class SchemaSql:
    _db: Database

    async def open(self) -> None:
        await self._db.open()

    async def close(self) -> None:
        await self._db.close()

    async def ping(self) -> bool:
        try:
            await self._db.fetchone("SELECT 1 AS ok")
        except Exception:
            return False
        return True

    async def probe_write(self, now: float) -> bool:
        """Whether the database takes a write now: one row upserted in a transaction of its own."""
        try:
            await self._db.execute(
                "INSERT INTO health_probe (id, checked_at) VALUES (1, ?)"
                " ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
                (now,),
            )
        except Exception:
            return False
        return True

    async def schema_version(self) -> int:
        """The newest migration applied; 0 for a database no migration has touched."""
        if not await self._db.has_table("schema_migrations"):
            return 0
        row = await self._db.fetchone("SELECT MAX(version) AS version FROM schema_migrations")
        return int(row["version"]) if row and row["version"] is not None else 0

    async def migrate(self, migrations: list[Migration] | None = None) -> list[int]:
        """Apply every migration newer than the recorded version, all in one transaction.

        Processes that start together take turns on the migrations lock, so only the first migrates.
        A database newer than this code knows is refused (`SchemaTooNew`) rather than used.
        """
        known = migrations if migrations is not None else load_migrations(dialect=self._db.dialect)
        async with self._db.transaction() as session:
            await session.lock_migrations()
            await session.execute(_CREATE_MIGRATIONS_TABLE)
            current = int(await session.scalar("SELECT MAX(version) FROM schema_migrations") or 0)
            check_not_newer(current, known)
            pending = [m for m in known if m.version > current]
            for migration in pending:
                for statement in migration.statements:
                    await session.execute(statement)
                await session.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, time.time()),
                )
        applied = [m.version for m in pending]
        if applied:
            log.info("database migrated to version %d (applied %s)", applied[-1], applied)
        return applied
