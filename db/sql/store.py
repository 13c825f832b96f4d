"""Every concern's SQL combined into one store over any backend's `Database`."""

from __future__ import annotations

from db.sql.audit import AuditSql
from db.sql.guilds import GuildSettingsSql
from db.sql.inbox import InboxSql
from db.sql.jobs import JobsSql
from db.sql.ledger import LedgerSql
from db.sql.retention import RetentionSql
from db.sql.schema import SchemaSql
from db.sql.session import Database
from db.sql.transitions import TransitionsSql


class SqlStore(
    SchemaSql, JobsSql, TransitionsSql, InboxSql, GuildSettingsSql, LedgerSql, AuditSql, RetentionSql
):
    """The whole `db.store.Store` in portable SQL; a backend supplies the `Database`."""

    def __init__(self, database: Database) -> None:
        self._db = database

    @property
    def database(self) -> Database:
        return self._db
