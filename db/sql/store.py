"""Every concern's SQL combined into one store over any backend's `Database`."""

from __future__ import annotations

from db.notify import Channel, Notifier
from db.sql.audit import AuditSql
from db.sql.guilds import GuildSettingsSql
from db.sql.inbox import InboxSql
from db.sql.jobs import JobsSql
from db.sql.leases import LeasesSql
from db.sql.ledger import LedgerSql
from db.sql.queue import QueueSql
from db.sql.retention import RetentionSql
from db.sql.schema import SchemaSql
from db.sql.session import Database
from db.sql.transitions import TransitionsSql


class SqlStore(
    SchemaSql,
    JobsSql,
    TransitionsSql,
    QueueSql,
    LeasesSql,
    InboxSql,
    GuildSettingsSql,
    LedgerSql,
    AuditSql,
    RetentionSql,
):
    """The whole `db.store.Store` in portable SQL; a backend supplies the `Database`."""

    def __init__(self, database: Database) -> None:
        self._db = database

    @property
    def database(self) -> Database:
        return self._db

    @property
    def notifier(self) -> Notifier:
        return self._db.notifier

    async def notify(self, channel: Channel, payload: str = "") -> None:
        """Wake listeners on `channel` now (writes that must wake others notify in their transaction)."""
        async with self._db.session() as session:
            await session.notify(channel, payload)
