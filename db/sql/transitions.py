"""A job's one-way transitions: each is a conditional update, so it happens at most once."""

from __future__ import annotations

from typing import Any

from db.records import JobRecord, JobState, Settlement
from db.sql.jobs import LIVE
from db.sql.session import Database, placeholders

_WHILE_LIVE = f"status IN ({placeholders(len(LIVE))})"


class TransitionsSql:
    _db: Database

    async def note_submit_attempt(self, job_id: str, now: float) -> None:
        await self._db.execute(
            "UPDATE jobs SET submit_attempts = submit_attempts + 1, updated_at = ? WHERE id = ?",
            (now, job_id),
        )

    async def mark_submitted(self, job_id: str, task_id: str, now: float, next_poll_at: float) -> bool:
        changed = await self._db.execute(
            "UPDATE jobs SET status = ?, provider_task_id = ?, submitted_at = ?, next_poll_at = ?,"
            " updated_at = ? WHERE id = ? AND status = ?",
            (JobState.SUBMITTED.value, task_id, now, next_poll_at, now, job_id, JobState.PENDING.value),
        )
        return changed == 1

    async def record_progress(self, job_id: str, provider_status: str, stage: str | None, now: float) -> bool:
        # Only a real change counts: repeated "still processing" reports must not trigger edits.
        changed = await self._db.execute(
            "UPDATE jobs SET provider_status = ?, progress_stage = COALESCE(?, progress_stage),"
            f" updated_at = ? WHERE id = ? AND {_WHILE_LIVE}"
            " AND (provider_status IS NULL OR provider_status <> ?"
            " OR progress_stage <> COALESCE(?, progress_stage))",
            (provider_status, stage, now, job_id, *LIVE, provider_status, stage),
        )
        return changed == 1

    async def set_progress_message(self, job_id: str, message_id: int) -> None:
        await self._db.execute("UPDATE jobs SET progress_message_id = ? WHERE id = ?", (message_id, job_id))

    async def schedule_poll(self, job_id: str, next_poll_at: float, attempts: int) -> None:
        await self._db.execute(
            "UPDATE jobs SET next_poll_at = ?, poll_attempts = ? WHERE id = ?",
            (next_poll_at, attempts, job_id),
        )

    async def _finish(
        self,
        job_id: str,
        assignments: str,
        values: tuple[Any, ...],
        settlement: Settlement,
        now: float,
        from_states: tuple[str, ...] = LIVE,
    ) -> bool:
        """Leave a live state (or `from_states`) once, settling the credits in the same transaction."""
        async with self._db.transaction() as session:
            changed = await session.execute(
                f"UPDATE jobs SET {assignments}, settlement = ?, finished_at = ?, next_poll_at = NULL,"
                f" updated_at = ? WHERE id = ? AND status IN ({placeholders(len(from_states))})",
                (*values, settlement.value, now, now, job_id, *from_states),
            )
            if changed != 1:
                return False
            await session.execute(
                "UPDATE credit_ledger SET state = ?, settled_at = ? WHERE job_id = ?",
                (settlement.value, now, job_id),
            )
        return True

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
        return await self._finish(
            job_id,
            "status = ?, result_url = ?, result_video_id = ?, result_duration = ?, provider_status = ?,"
            " progress_stage = 'uploading'",
            (JobState.SUCCEEDED.value, video_url, video_id, duration, provider_status),
            Settlement.CHARGED,
            now,
        )

    async def mark_failed(
        self, job_id: str, *, category: str, message: str, provider_status: str | None, now: float
    ) -> bool:
        """The one transition to "failed": refunds the reservation in the same transaction."""
        return await self._finish(
            job_id,
            "status = ?, error_category = ?, error_message = ?,"
            " provider_status = COALESCE(?, provider_status), progress_stage = 'failed'",
            (JobState.FAILED.value, category, message, provider_status),
            Settlement.REFUNDED,
            now,
        )

    async def mark_undeliverable(self, job_id: str, *, category: str, message: str, now: float) -> bool:
        """A finished job whose video can never be delivered (its result link is refused): "failed",
        the charge refunded in the same transaction. Only from "succeeded", so it happens once."""
        return await self._finish(
            job_id,
            "status = ?, error_category = ?, error_message = ?, progress_stage = 'failed'",
            (JobState.FAILED.value, category, message),
            Settlement.REFUNDED,
            now,
            from_states=(JobState.SUCCEEDED.value,),
        )

    async def begin_delivery(self, job_id: str, nonce: str, now: float) -> JobRecord | None:
        """Claim a delivery attempt: keeps the first nonce ever chosen so a retry posts idempotently."""
        async with self._db.transaction() as session:
            row = await session.fetchone(
                "UPDATE jobs SET delivery_nonce = COALESCE(delivery_nonce, ?),"
                " delivery_attempts = delivery_attempts + 1, updated_at = ? WHERE id = ? AND status = ?"
                " RETURNING *",
                (nonce, now, job_id, JobState.SUCCEEDED.value),
            )
        return JobRecord.from_row(row) if row else None

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
        changed = await self._db.execute(
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
