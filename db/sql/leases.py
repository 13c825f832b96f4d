"""Leases: each piece of background work (a job to submit, poll or deliver, a callback to process, an audit
line to post, a once-at-a-time task) is claimed by one process until an expiry, so any number of workers
share the work and a process that dies loses its claims when they lapse.

Batch claims pick rows with `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL (two workers claiming at once
get different rows, neither waits; a row passed over is due again at the next pass); on SQLite the same
conditional UPDATE runs inside BEGIN IMMEDIATE. A claim on one named job is a conditional UPDATE. A job's
lease belongs to its current step: every transition that ends the step (submitted, finished, delivered,
back in the line, next poll scheduled) clears it in the same UPDATE.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from db.records import AuditEntry, InboxItem, JobRecord, JobState, Lease
from db.sql.session import Database, Row, placeholders

# Holds deferred work, free again only when its lease lapses (no INSTANCE_ID looks like this).
DEFERRED = "(deferred)"
# Free to claim: nobody holds it, its holder's lease lapsed, or the claimer holds it already.
_FREE = "(lease_owner IS NULL OR lease_owner = ? OR lease_until <= ?)"
# Unfinished work whose lease may lapse (the takeover loop wakes then).
_LEASED_WORK = (
    ("jobs", "status IN (?, ?)", (JobState.PENDING.value, JobState.SUCCEEDED.value)),
    ("callback_inbox", "processed_at IS NULL", ()),
    ("audit_log", "posted_at IS NULL", ()),
)
_INBOX_COLUMNS = "id, job_id, body, received_at"
_AUDIT_COLUMNS = "id, guild_id, actor_id, action, detail, job_id, created_at"


def _free(lease: Lease) -> tuple[str, float]:
    return lease.owner, lease.now


class LeasesSql:
    _db: Database

    async def _claim_rows(
        self, table: str, columns: str, where: str, params: Sequence[Any], lease: Lease, limit: int
    ) -> list[Row]:
        """Lease up to `limit` free rows matching `where`, in id order; the rows as claimed."""
        async with self._db.transaction() as session:
            rows = await session.fetchall(
                f"UPDATE {table} SET lease_owner = ?, lease_until = ? WHERE id IN (SELECT id FROM {table}"
                f" WHERE {where} AND {_FREE} ORDER BY id LIMIT ?{session.skip_locked}) RETURNING {columns}",
                (lease.owner, lease.until, *params, *_free(lease), limit),
            )
        return sorted(rows, key=lambda row: str(row["id"]))

    # ---- jobs ------------------------------------------------------------------------------

    async def claim_job(self, job_id: str, state: JobState, lease: Lease) -> JobRecord | None:
        """Lease the job for its step if it is still in `state` and free; the job as claimed, or None.

        One named row: a plain conditional UPDATE, which waits for a transaction writing the row and
        then checks again (SKIP LOCKED would miss a job some unrelated update happened to be writing)."""
        async with self._db.transaction() as session:
            row = await session.fetchone(
                f"UPDATE jobs SET lease_owner = ?, lease_until = ? WHERE id = ? AND status = ? AND {_FREE}"
                " RETURNING *",
                (lease.owner, lease.until, job_id, state.value, *_free(lease)),
            )
        return JobRecord.from_row(row) if row else None

    async def renew_job(self, job_id: str, state: JobState, lease: Lease) -> bool:
        """Extend the job's lease to `lease.until`; False when it left `state` or another process holds it."""
        changed = await self._db.execute(
            "UPDATE jobs SET lease_until = ? WHERE id = ? AND status = ? AND lease_owner = ?",
            (lease.until, job_id, state.value, lease.owner),
        )
        return changed == 1

    async def claim_due_polls(self, lease: Lease, limit: int) -> list[JobRecord]:
        """Lease up to `limit` submitted jobs due for a poll, the longest overdue first."""
        async with self._db.transaction() as session:
            rows = await session.fetchall(
                "UPDATE jobs SET lease_owner = ?, lease_until = ? WHERE id IN (SELECT id FROM jobs"
                f" WHERE status = ? AND next_poll_at IS NOT NULL AND next_poll_at <= ? AND {_FREE}"
                f" ORDER BY next_poll_at LIMIT ?{session.skip_locked}) RETURNING *",
                (lease.owner, lease.until, JobState.SUBMITTED.value, lease.now, *_free(lease), limit),
            )
        jobs = [JobRecord.from_row(row) for row in rows]
        return sorted(jobs, key=lambda job: job.next_poll_at or 0.0)

    async def free_jobs(self, states: Sequence[JobState], owner: str, now: float) -> list[JobRecord]:
        """Jobs in `states` nobody else holds a live lease on (what start-up recovery may take)."""
        rows = await self._db.fetchall(
            f"SELECT * FROM jobs WHERE status IN ({placeholders(len(states))}) AND {_FREE}"
            " ORDER BY created_at",
            (*[state.value for state in states], owner, now),
        )
        return [JobRecord.from_row(row) for row in rows]

    # ---- the callback inbox and the audit log ----------------------------------------------

    async def claim_callbacks(self, lease: Lease, limit: int = 100) -> list[InboxItem]:
        """Lease up to `limit` unprocessed callbacks, oldest first."""
        rows = await self._claim_rows(
            "callback_inbox", _INBOX_COLUMNS, "processed_at IS NULL", (), lease, limit
        )
        return sorted((InboxItem(**row) for row in rows), key=lambda item: item.id)

    async def claim_audit(self, lease: Lease, limit: int = 50) -> list[AuditEntry]:
        """Lease up to `limit` unposted audit lines, oldest first."""
        rows = await self._claim_rows("audit_log", _AUDIT_COLUMNS, "posted_at IS NULL", (), lease, limit)
        return sorted((AuditEntry(**row) for row in rows), key=lambda entry: entry.id)

    async def defer_callback(self, item_id: int, owner: str, until: float) -> None:
        """Nobody, `owner` included, takes the callback before `until` (its processing failed)."""
        await self._defer("callback_inbox", item_id, owner, until)

    async def defer_audit(self, entry_id: int, owner: str, until: float) -> None:
        """Nobody, `owner` included, posts the line before `until` (Discord did not take it)."""
        await self._defer("audit_log", entry_id, owner, until)

    async def _defer(self, table: str, row_id: int, owner: str, until: float) -> None:
        await self._db.execute(
            f"UPDATE {table} SET lease_owner = ?, lease_until = ? WHERE id = ? AND lease_owner = ?",
            (DEFERRED, until, row_id, owner),
        )

    # ---- once at a time, and lapsing -------------------------------------------------------

    async def claim_task(self, name: str, lease: Lease) -> bool:
        """Lease the task called `name` (a retention pass, …); False while another process holds it."""
        async with self._db.transaction() as session:
            claimed = await session.fetchone(
                "INSERT INTO work_leases (name, owner, lease_until) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until"
                " WHERE work_leases.owner = excluded.owner OR work_leases.lease_until <= ? RETURNING name",
                (name, lease.owner, lease.until, lease.now),
            )
        return claimed is not None

    async def next_lease_expiry(self, now: float) -> float | None:
        """When the next live lease on unfinished work lapses (None: none is held)."""
        expiries: list[float] = []
        async with self._db.session() as session:
            for table, where, params in _LEASED_WORK:
                found = await session.scalar(
                    f"SELECT MIN(lease_until) FROM {table} WHERE {where} AND lease_until > ?", (*params, now)
                )
                if found is not None:
                    expiries.append(float(found))
        return min(expiries, default=None)

    async def release_leases(self) -> None:
        """Drop every lease: for the one process of a store no other process shares (SQLite)."""
        async with self._db.transaction() as session:
            for table in ("jobs", "callback_inbox", "audit_log"):
                await session.execute(
                    f"UPDATE {table} SET lease_owner = NULL, lease_until = NULL WHERE lease_owner IS NOT NULL"
                )
            await session.execute("DELETE FROM work_leases")
