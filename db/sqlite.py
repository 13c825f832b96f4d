"""The SQLite implementation of the store (aiosqlite, WAL mode, one connection, serialised writes).

The SQL is standard (ON CONFLICT, IS NOT DISTINCT FROM for nullable server ids, no JSON operators) so a
PostgreSQL backend can reuse it with its own placeholders. IS NOT DISTINCT FROM needs SQLite 3.39+.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from db.migrate import Migration, load_migrations
from db.records import (
    AuditEntry,
    GuildSettings,
    InboxItem,
    JobRecord,
    JobState,
    NewJob,
    QuotaCheck,
    QuotaLimit,
    Reservation,
    Settlement,
    UsageRow,
)

log = logging.getLogger(__name__)

_IN_FLIGHT = (JobState.PENDING.value, JobState.SUBMITTED.value)
_LIVE = (JobState.PENDING.value, JobState.SUBMITTED.value)


def _placeholders(count: int) -> str:
    return ", ".join("?" * count)


class SqliteStore:
    """All database access for the bot. One connection; a lock keeps each transaction whole."""

    def __init__(self, path: Path | None, *, busy_timeout_ms: int = 5000) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    # ---- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        target = str(self.path) if self.path is not None else ":memory:"
        # isolation_level=None: no implicit transactions; every write says BEGIN itself.
        self._db = await aiosqlite.connect(target, isolation_level=None)
        self._db.row_factory = aiosqlite.Row
        await self._db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
        await self._db.execute("PRAGMA journal_mode = WAL")
        await self._db.execute("PRAGMA synchronous = NORMAL")
        await self._db.execute("PRAGMA foreign_keys = ON")

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("the store is not open")
        return self._db

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock:
            await self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                await self.db.execute("ROLLBACK")
                raise
            else:
                await self.db.execute("COMMIT")

    async def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        async with self._lock, self.db.execute(sql, params) as cursor:
            return [dict(row) for row in await cursor.fetchall()]

    async def _fetchone(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = await self._fetchall(sql, params)
        return rows[0] if rows else None

    async def _execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One write statement in its own transaction; returns the number of rows changed."""
        async with self._transaction() as db:
            cursor = await db.execute(sql, params)
            return cursor.rowcount

    async def ping(self) -> bool:
        try:
            await self._fetchone("SELECT 1 AS ok")
        except Exception:
            return False
        return True

    # ---- migrations ------------------------------------------------------------------------

    async def schema_version(self) -> int:
        async with self._lock:
            await self._ensure_migrations_table()
            async with self.db.execute("SELECT MAX(version) FROM schema_migrations") as cursor:
                row = await cursor.fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    async def _ensure_migrations_table(self) -> None:
        await self.db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
        )

    async def migrate(self, migrations: list[Migration] | None = None) -> list[int]:
        """Apply every migration newer than the recorded version, all in one transaction."""
        pending_source = migrations if migrations is not None else load_migrations()
        current = await self.schema_version()
        pending = [m for m in pending_source if m.version > current]
        if not pending:
            return []
        async with self._transaction() as db:
            for migration in pending:
                for statement in migration.statements:
                    await db.execute(statement)
                await db.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, time.time()),
                )
        applied = [m.version for m in pending]
        log.info("database migrated to version %d (applied %s)", applied[-1], applied)
        return applied

    # ---- jobs ------------------------------------------------------------------------------

    async def create_job(self, job: NewJob, quota: QuotaCheck | None) -> Reservation:
        """Insert the job and reserve its credits in one transaction, or refuse without writing.

        The check and the insert share one write transaction, so concurrent requests from one
        member cannot both pass a check that only one of them fits.
        """
        async with self._transaction() as db:
            spent = in_flight = 0
            if quota is not None:
                in_flight = await self._scalar(
                    db,
                    f"SELECT COUNT(*) FROM jobs WHERE guild_id IS NOT DISTINCT FROM ? AND user_id = ? "
                    f"AND status IN ({_placeholders(len(_IN_FLIGHT))})",
                    (job.guild_id, job.user_id, *_IN_FLIGHT),
                )
                if in_flight >= quota.max_in_flight:
                    return Reservation(False, "in_flight", in_flight=in_flight)
                if quota.limit is not None:
                    spent = await self._spent(db, job.guild_id, job.user_id, quota.window_start)
                    if spent + job.credits > quota.limit:
                        return Reservation(False, "quota", spent=spent, in_flight=in_flight)
            await db.execute(
                "INSERT INTO jobs (id, guild_id, channel_id, user_id, kind, params, parent_job_id, provider,"
                " callback_token, input_token, status, credits, settlement, interaction_token,"
                " interaction_expires_at, application_id, created_at, updated_at)"
                f" VALUES ({_placeholders(18)})",
                (
                    job.id,
                    job.guild_id,
                    job.channel_id,
                    job.user_id,
                    job.kind,
                    json.dumps(job.params, sort_keys=True),
                    job.parent_job_id,
                    job.provider,
                    job.callback_token,
                    job.input_token,
                    JobState.PENDING.value,
                    job.credits,
                    Settlement.RESERVED.value,
                    job.interaction_token,
                    job.interaction_expires_at,
                    job.application_id,
                    job.created_at,
                    job.created_at,
                ),
            )
            await db.execute(
                "INSERT INTO credit_ledger (job_id, guild_id, user_id, kind, credits, state, created_at)"
                f" VALUES ({_placeholders(7)})",
                (
                    job.id,
                    job.guild_id,
                    job.user_id,
                    job.kind,
                    job.credits,
                    Settlement.RESERVED.value,
                    job.created_at,
                ),
            )
        return Reservation(True, spent=spent + job.credits, in_flight=in_flight + 1)

    @staticmethod
    async def _scalar(db: aiosqlite.Connection, sql: str, params: Sequence[Any]) -> int:
        async with db.execute(sql, params) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    async def _spent(self, db: aiosqlite.Connection, guild_id: int | None, user_id: int, since: float) -> int:
        # A quota reset forgives everything before it, within the current period.
        last_reset = await self._scalar_float(
            db,
            "SELECT MAX(reset_at) FROM quota_resets WHERE guild_id IS NOT DISTINCT FROM ? AND user_id = ?",
            (guild_id, user_id),
        )
        window = max(since, last_reset) if last_reset is not None else since
        return await self._scalar(
            db,
            "SELECT COALESCE(SUM(credits), 0) FROM credit_ledger"
            " WHERE guild_id IS NOT DISTINCT FROM ? AND user_id = ? AND created_at >= ? AND state IN (?, ?)",
            (guild_id, user_id, window, Settlement.RESERVED.value, Settlement.CHARGED.value),
        )

    @staticmethod
    async def _scalar_float(db: aiosqlite.Connection, sql: str, params: Sequence[Any]) -> float | None:
        async with db.execute(sql, params) as cursor:
            row = await cursor.fetchone()
        return float(row[0]) if row and row[0] is not None else None

    async def _job_where(self, where: str, params: Sequence[Any]) -> JobRecord | None:
        row = await self._fetchone(f"SELECT * FROM jobs WHERE {where}", params)
        return JobRecord.from_row(row) if row else None

    async def get_job(self, job_id: str) -> JobRecord | None:
        return await self._job_where("id = ?", (job_id,))

    async def get_job_by_callback_token(self, token: str) -> JobRecord | None:
        return await self._job_where("callback_token = ?", (token,))

    async def get_job_by_input_token(self, token: str) -> JobRecord | None:
        return await self._job_where("input_token = ?", (token,))

    async def jobs_in_states(self, states: Sequence[JobState], limit: int = 10_000) -> list[JobRecord]:
        rows = await self._fetchall(
            f"SELECT * FROM jobs WHERE status IN ({_placeholders(len(states))}) ORDER BY created_at LIMIT ?",
            (*[s.value for s in states], limit),
        )
        return [JobRecord.from_row(r) for r in rows]

    async def jobs_created_before(
        self, states: Sequence[JobState], before: float, limit: int = 500
    ) -> list[JobRecord]:
        """Jobs in `states` created at or before `before`, oldest first (the timeout sweep)."""
        rows = await self._fetchall(
            f"SELECT * FROM jobs WHERE status IN ({_placeholders(len(states))}) AND created_at <= ?"
            " ORDER BY created_at LIMIT ?",
            (*[s.value for s in states], before, limit),
        )
        return [JobRecord.from_row(r) for r in rows]

    async def jobs_due_for_poll(self, now: float, limit: int) -> list[JobRecord]:
        rows = await self._fetchall(
            "SELECT * FROM jobs WHERE status = ? AND next_poll_at IS NOT NULL AND next_poll_at <= ?"
            " ORDER BY next_poll_at LIMIT ?",
            (JobState.SUBMITTED.value, now, limit),
        )
        return [JobRecord.from_row(r) for r in rows]

    async def list_jobs(
        self,
        *,
        guild_id: int | None,
        user_id: int | None,
        states: Sequence[JobState] | None = None,
        limit: int = 10,
        query: str | None = None,
    ) -> list[JobRecord]:
        clauses = ["guild_id IS NOT DISTINCT FROM ?"]
        params: list[Any] = [guild_id]
        if user_id is not None:
            clauses.append("user_id = ?")
            params.append(user_id)
        if states:
            clauses.append(f"status IN ({_placeholders(len(states))})")
            params.extend(s.value for s in states)
        # A search matches the job id or the prompt; the prompt lives in the JSON params, so it is
        # filtered here rather than with a database-specific JSON operator (portable SQL).
        needle = query.strip().lower() if query else ""
        params.append(limit if not needle else max(limit * 8, 200))
        rows = await self._fetchall(
            f"SELECT * FROM jobs WHERE {' AND '.join(clauses)} ORDER BY created_at DESC LIMIT ?", params
        )
        jobs = [JobRecord.from_row(r) for r in rows]
        if needle:
            jobs = [
                job
                for job in jobs
                if needle in job.id or needle in str(job.params.get("prompt") or "").lower()
            ][:limit]
        return jobs

    async def count_in_flight(self, guild_id: int | None, user_id: int) -> int:
        row = await self._fetchone(
            f"SELECT COUNT(*) AS n FROM jobs WHERE guild_id IS NOT DISTINCT FROM ? AND user_id = ?"
            f" AND status IN ({_placeholders(len(_IN_FLIGHT))})",
            (guild_id, user_id, *_IN_FLIGHT),
        )
        return int(row["n"]) if row else 0

    async def count_in_states(self, states: Sequence[JobState]) -> int:
        row = await self._fetchone(
            f"SELECT COUNT(*) AS n FROM jobs WHERE status IN ({_placeholders(len(states))})",
            [s.value for s in states],
        )
        return int(row["n"]) if row else 0

    async def note_submit_attempt(self, job_id: str, now: float) -> None:
        await self._execute(
            "UPDATE jobs SET submit_attempts = submit_attempts + 1, updated_at = ? WHERE id = ?",
            (now, job_id),
        )

    async def mark_submitted(self, job_id: str, task_id: str, now: float, next_poll_at: float) -> bool:
        changed = await self._execute(
            "UPDATE jobs SET status = ?, provider_task_id = ?, submitted_at = ?, next_poll_at = ?,"
            " updated_at = ? WHERE id = ? AND status = ?",
            (JobState.SUBMITTED.value, task_id, now, next_poll_at, now, job_id, JobState.PENDING.value),
        )
        return changed == 1

    async def record_progress(self, job_id: str, provider_status: str, stage: str | None, now: float) -> bool:
        # Only a real change counts: repeated "still processing" reports must not trigger edits.
        changed = await self._execute(
            "UPDATE jobs SET provider_status = ?, progress_stage = COALESCE(?, progress_stage),"
            f" updated_at = ? WHERE id = ? AND status IN ({_placeholders(len(_LIVE))})"
            " AND (provider_status IS NULL OR provider_status <> ?"
            " OR progress_stage <> COALESCE(?, progress_stage))",
            (provider_status, stage, now, job_id, *_LIVE, provider_status, stage),
        )
        return changed == 1

    async def set_progress_message(self, job_id: str, message_id: int) -> None:
        await self._execute("UPDATE jobs SET progress_message_id = ? WHERE id = ?", (message_id, job_id))

    async def schedule_poll(self, job_id: str, next_poll_at: float, attempts: int) -> None:
        await self._execute(
            "UPDATE jobs SET next_poll_at = ?, poll_attempts = ? WHERE id = ?",
            (next_poll_at, attempts, job_id),
        )

    async def mark_succeeded(
        self,
        job_id: str,
        *,
        video_url: str,
        video_id: str | None,
        duration: float | None,
        provider_status: str,
        now: float,
    ) -> bool:
        """The one transition to "the video exists": only from a live state, so it happens once."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE jobs SET status = ?, result_url = ?, result_video_id = ?, result_duration = ?,"
                " provider_status = ?, progress_stage = 'uploading', settlement = ?, finished_at = ?,"
                " next_poll_at = NULL, updated_at = ?"
                f" WHERE id = ? AND status IN ({_placeholders(len(_LIVE))})",
                (
                    JobState.SUCCEEDED.value,
                    video_url,
                    video_id,
                    duration,
                    provider_status,
                    Settlement.CHARGED.value,
                    now,
                    now,
                    job_id,
                    *_LIVE,
                ),
            )
            if cursor.rowcount != 1:
                return False
            await db.execute(
                "UPDATE credit_ledger SET state = ?, settled_at = ? WHERE job_id = ?",
                (Settlement.CHARGED.value, now, job_id),
            )
        return True

    async def mark_failed(
        self, job_id: str, *, category: str, message: str, provider_status: str | None, now: float
    ) -> bool:
        """The one transition to "failed": refunds the reservation in the same transaction."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE jobs SET status = ?, error_category = ?, error_message = ?,"
                " provider_status = COALESCE(?, provider_status), progress_stage = 'failed', settlement = ?,"
                f" finished_at = ?, next_poll_at = NULL, updated_at = ? WHERE id = ? AND status IN"
                f" ({_placeholders(len(_LIVE))})",
                (
                    JobState.FAILED.value,
                    category,
                    message,
                    provider_status,
                    Settlement.REFUNDED.value,
                    now,
                    now,
                    job_id,
                    *_LIVE,
                ),
            )
            if cursor.rowcount != 1:
                return False
            await db.execute(
                "UPDATE credit_ledger SET state = ?, settled_at = ? WHERE job_id = ?",
                (Settlement.REFUNDED.value, now, job_id),
            )
        return True

    async def begin_delivery(self, job_id: str, nonce: str, now: float) -> JobRecord | None:
        """Claim a delivery attempt: keeps the first nonce ever chosen so a retry posts idempotently."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE jobs SET delivery_nonce = COALESCE(delivery_nonce, ?),"
                " delivery_attempts = delivery_attempts + 1, updated_at = ? WHERE id = ? AND status = ?",
                (nonce, now, job_id, JobState.SUCCEEDED.value),
            )
            if cursor.rowcount != 1:
                return None
            async with db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)) as rows:
                row = await rows.fetchone()
        return JobRecord.from_row(dict(row)) if row else None

    async def mark_delivered(
        self,
        job_id: str,
        *,
        message_id: int | None,
        channel_id: int | None,
        via: str,
        note: str | None,
        now: float,
    ) -> bool:
        changed = await self._execute(
            "UPDATE jobs SET status = ?, delivered_message_id = ?, delivered_channel_id = ?,"
            " delivered_via = ?, delivery_note = ?, progress_stage = 'done', delivered_at = ?, updated_at = ?"
            " WHERE id = ? AND status = ?",
            (
                JobState.DELIVERED.value,
                message_id,
                channel_id,
                via,
                note,
                now,
                now,
                job_id,
                JobState.SUCCEEDED.value,
            ),
        )
        return changed == 1

    # ---- callback inbox --------------------------------------------------------------------

    async def add_callback(self, job_id: str, body: str, now: float) -> int:
        async with self._transaction() as db:
            cursor = await db.execute(
                "INSERT INTO callback_inbox (job_id, body, received_at) VALUES (?, ?, ?)", (job_id, body, now)
            )
            await db.execute("UPDATE jobs SET callback_count = callback_count + 1 WHERE id = ?", (job_id,))
            return int(cursor.lastrowid or 0)

    async def add_callbacks(self, items: Sequence[tuple[str, str]], now: float) -> None:
        """Many (job id, body) callbacks in one transaction: the listener's group commit."""
        async with self._transaction() as db:
            await db.executemany(
                "INSERT INTO callback_inbox (job_id, body, received_at) VALUES (?, ?, ?)",
                [(job_id, body, now) for job_id, body in items],
            )
            await db.executemany(
                "UPDATE jobs SET callback_count = callback_count + 1 WHERE id = ?",
                [(job_id,) for job_id, _ in items],
            )

    async def pending_callbacks(self, limit: int = 100) -> list[InboxItem]:
        rows = await self._fetchall(
            "SELECT id, job_id, body, received_at FROM callback_inbox WHERE processed_at IS NULL"
            " ORDER BY id LIMIT ?",
            (limit,),
        )
        return [InboxItem(**r) for r in rows]

    async def mark_callback_processed(self, item_id: int, now: float) -> None:
        await self._execute("UPDATE callback_inbox SET processed_at = ? WHERE id = ?", (now, item_id))

    # ---- server policy ---------------------------------------------------------------------

    async def get_guild_settings(self, guild_id: int) -> GuildSettings:
        row = await self._fetchone("SELECT * FROM guild_settings WHERE guild_id = ?", (guild_id,))
        channels = await self._fetchall(
            "SELECT channel_id FROM allowed_channels WHERE guild_id = ?", (guild_id,)
        )
        terms = await self._fetchall(
            "SELECT term FROM blocklist WHERE guild_id = ? ORDER BY term", (guild_id,)
        )
        return GuildSettings(
            guild_id=guild_id,
            paused=bool(row["paused"]) if row else False,
            pause_reason=row["pause_reason"] if row else None,
            log_channel_id=row["log_channel_id"] if row else None,
            mod_role_id=row["mod_role_id"] if row else None,
            allowed_channels=frozenset(int(c["channel_id"]) for c in channels),
            blocklist=tuple(str(t["term"]) for t in terms),
        )

    async def _upsert_guild(
        self, guild_id: int, column: str, value: Any, now: float, extra: str = ""
    ) -> None:
        # `column` comes from this module only, never from input.
        await self._execute(
            f"INSERT INTO guild_settings (guild_id, {column}, updated_at) VALUES (?, ?, ?)"
            f" ON CONFLICT (guild_id) DO UPDATE SET {column} = excluded.{column},"
            " updated_at = excluded.updated_at",
            (guild_id, value, now),
        )

    async def set_paused(self, guild_id: int, paused: bool, reason: str | None, now: float) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO guild_settings (guild_id, paused, pause_reason, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (guild_id) DO UPDATE SET paused = excluded.paused,"
                " pause_reason = excluded.pause_reason, updated_at = excluded.updated_at",
                (guild_id, int(paused), reason, now),
            )

    async def set_log_channel(self, guild_id: int, channel_id: int | None, now: float) -> None:
        await self._upsert_guild(guild_id, "log_channel_id", channel_id, now)

    async def set_mod_role(self, guild_id: int, role_id: int | None, now: float) -> None:
        await self._upsert_guild(guild_id, "mod_role_id", role_id, now)

    async def allow_channel(self, guild_id: int, channel_id: int) -> bool:
        return (
            await self._execute(
                "INSERT INTO allowed_channels (guild_id, channel_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (guild_id, channel_id),
            )
            == 1
        )

    async def deny_channel(self, guild_id: int, channel_id: int) -> bool:
        return (
            await self._execute(
                "DELETE FROM allowed_channels WHERE guild_id = ? AND channel_id = ?", (guild_id, channel_id)
            )
            == 1
        )

    async def add_blocked_term(self, guild_id: int, term: str) -> bool:
        return (
            await self._execute(
                "INSERT INTO blocklist (guild_id, term) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (guild_id, term),
            )
            == 1
        )

    async def remove_blocked_term(self, guild_id: int, term: str) -> bool:
        return (
            await self._execute("DELETE FROM blocklist WHERE guild_id = ? AND term = ?", (guild_id, term))
            == 1
        )

    # ---- quota and usage -------------------------------------------------------------------

    async def set_quota_limit(self, limit: QuotaLimit, now: float) -> None:
        await self._execute(
            "INSERT INTO quota_limits (guild_id, scope, target_id, credits, period, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id, scope, target_id) DO UPDATE SET"
            " credits = excluded.credits, period = excluded.period, updated_at = excluded.updated_at",
            (limit.guild_id, limit.scope, limit.target_id, limit.credits, limit.period, now),
        )

    async def quota_limits(self, guild_id: int) -> list[QuotaLimit]:
        rows = await self._fetchall(
            "SELECT guild_id, scope, target_id, credits, period FROM quota_limits WHERE guild_id = ?"
            " ORDER BY scope, target_id",
            (guild_id,),
        )
        return [QuotaLimit(**r) for r in rows]

    async def clear_quota_limit(self, guild_id: int, scope: str, target_id: int) -> bool:
        """Remove one limit so the next one down applies again; False when there was none."""
        changed = await self._execute(
            "DELETE FROM quota_limits WHERE guild_id = ? AND scope = ? AND target_id = ?",
            (guild_id, scope, target_id),
        )
        return changed == 1

    async def spent_credits(self, guild_id: int | None, user_id: int, since: float) -> int:
        async with self._lock:
            return await self._spent(self.db, guild_id, user_id, since)

    async def reset_quota(self, guild_id: int, user_id: int, actor_id: int, now: float) -> int:
        """Forgive what the member spent so far this period; returns how many credits came back."""
        async with self._transaction() as db:
            before = await self._spent(db, guild_id, user_id, 0.0)
            await db.execute(
                "INSERT INTO quota_resets (guild_id, user_id, reset_at, actor_id) VALUES (?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (guild_id, user_id, now, actor_id),
            )
        return before

    async def usage(self, guild_id: int, since: float, user_id: int | None = None) -> list[UsageRow]:
        clauses = "guild_id = ? AND created_at >= ?" + (" AND user_id = ?" if user_id is not None else "")
        params: list[Any] = [guild_id, since] + ([user_id] if user_id is not None else [])
        rows = await self._fetchall(
            "SELECT user_id, kind, COUNT(*) AS jobs,"
            " COALESCE(SUM(CASE WHEN state = 'charged' THEN credits ELSE 0 END), 0) AS credits_charged,"
            " COALESCE(SUM(CASE WHEN state = 'reserved' THEN credits ELSE 0 END), 0) AS credits_reserved,"
            " COALESCE(SUM(CASE WHEN state = 'refunded' THEN credits ELSE 0 END), 0) AS credits_refunded"
            f" FROM credit_ledger WHERE {clauses} GROUP BY user_id, kind ORDER BY user_id, kind",
            params,
        )
        return [UsageRow(**r) for r in rows]

    # ---- audit -----------------------------------------------------------------------------

    async def add_audit(
        self,
        guild_id: int | None,
        actor_id: int | None,
        action: str,
        detail: str,
        job_id: str | None,
        now: float,
    ) -> int:
        async with self._transaction() as db:
            cursor = await db.execute(
                "INSERT INTO audit_log (guild_id, actor_id, action, detail, job_id, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (guild_id, actor_id, action, detail, job_id, now),
            )
            return int(cursor.lastrowid or 0)

    async def unposted_audit(self, limit: int = 50) -> list[AuditEntry]:
        rows = await self._fetchall(
            "SELECT id, guild_id, actor_id, action, detail, job_id, created_at FROM audit_log"
            " WHERE posted_at IS NULL ORDER BY id LIMIT ?",
            (limit,),
        )
        return [AuditEntry(**r) for r in rows]

    async def mark_audit_posted(self, entry_id: int, now: float) -> None:
        await self._execute("UPDATE audit_log SET posted_at = ? WHERE id = ?", (now, entry_id))
