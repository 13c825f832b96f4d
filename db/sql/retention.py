"""Retention: finished jobs whose input files are still kept, processed callbacks and posted audit lines
past their age, each found and pruned in small batches; and the live jobs counted by state."""

from __future__ import annotations

from db.records import JobRecord, JobState
from db.sql.session import Database, placeholders

# Every state a job may still leave (new states count here without a change).
UNFINISHED = tuple(state.value for state in JobState if not state.ended)
# Written as "not unfinished" so the planner picks the partial index on finished_at (0003), not the
# status index, which would walk every finished job there ever was.
_INPUTS_KEPT = (
    "inputs_removed_at IS NULL AND finished_at IS NOT NULL"
    f" AND status NOT IN ({placeholders(len(UNFINISHED))})"
)


class RetentionSql:
    _db: Database

    async def jobs_with_inputs_kept(self, finished_before: float | None, limit: int) -> list[JobRecord]:
        """Finished jobs whose inputs are still kept, the longest finished first (all of them when
        `finished_before` is None)."""
        bound = "" if finished_before is None else " AND finished_at <= ?"
        params = (*UNFINISHED, *(() if finished_before is None else (finished_before,)), limit)
        rows = await self._db.fetchall(
            f"SELECT * FROM jobs WHERE {_INPUTS_KEPT}{bound} ORDER BY finished_at, id LIMIT ?", params
        )
        return [JobRecord.from_row(row) for row in rows]

    async def earliest_finished_with_inputs(self) -> float | None:
        row = await self._db.fetchone(
            f"SELECT MIN(finished_at) AS at FROM jobs WHERE {_INPUTS_KEPT}", UNFINISHED
        )
        return None if row is None or row["at"] is None else float(row["at"])

    async def mark_inputs_removed(self, job_id: str, now: float) -> bool:
        """Only a finished job's inputs are ever marked removed."""
        changed = await self._db.execute(
            f"UPDATE jobs SET inputs_removed_at = ? WHERE id = ? AND {_INPUTS_KEPT}",
            (now, job_id, *UNFINISHED),
        )
        return changed == 1

    async def _prune(self, table: str, column: str, before: float, limit: int) -> int:
        """Delete up to `limit` rows whose `column` time is set and at or before `before`, oldest first."""
        return await self._db.execute(
            f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table}"
            f" WHERE {column} IS NOT NULL AND {column} <= ? ORDER BY {column} LIMIT ?)",
            (before, limit),
        )

    async def _earliest(self, table: str, column: str) -> float | None:
        row = await self._db.fetchone(f"SELECT MIN({column}) AS at FROM {table} WHERE {column} IS NOT NULL")
        return None if row is None or row["at"] is None else float(row["at"])

    async def prune_processed_callbacks(self, processed_before: float, limit: int) -> int:
        return await self._prune("callback_inbox", "processed_at", processed_before, limit)

    async def earliest_processed_callback(self) -> float | None:
        return await self._earliest("callback_inbox", "processed_at")

    async def prune_posted_audit(self, posted_before: float, limit: int) -> int:
        return await self._prune("audit_log", "posted_at", posted_before, limit)

    async def earliest_posted_audit(self) -> float | None:
        return await self._earliest("audit_log", "posted_at")

    # ---- what the gauges show ---------------------------------------------------------------

    async def count_unfinished_by_state(self) -> dict[JobState, int]:
        """Jobs not yet finished, per state (states with none are absent)."""
        rows = await self._db.fetchall(
            f"SELECT status, COUNT(*) AS n FROM jobs WHERE status IN ({placeholders(len(UNFINISHED))})"
            " GROUP BY status",
            UNFINISHED,
        )
        return {JobState(row["status"]): int(row["n"]) for row in rows}

    async def count_pending_callbacks(self) -> int:
        row = await self._db.fetchone("SELECT COUNT(*) AS n FROM callback_inbox WHERE processed_at IS NULL")
        return int(row["n"]) if row else 0
