"""The callback inbox: callbacks are stored before the listener answers, processed later."""

from __future__ import annotations

from collections.abc import Sequence

from db.notify import Channel
from db.records import InboxItem
from db.sql.session import Database


class InboxSql:
    _db: Database

    async def add_callbacks(self, items: Sequence[tuple[str, str]], now: float) -> None:
        """Many (job id, body) callbacks in one transaction: the listener's group commit."""
        async with self._db.transaction() as session:
            await session.executemany(
                "INSERT INTO callback_inbox (job_id, body, received_at) VALUES (?, ?, ?)",
                [(job_id, body, now) for job_id, body in items],
            )
            await session.executemany(
                "UPDATE jobs SET callback_count = callback_count + 1 WHERE id = ?",
                [(job_id,) for job_id, _ in items],
            )
            await session.notify(Channel.CALLBACK_ARRIVED)

    async def pending_callbacks(self, limit: int = 100) -> list[InboxItem]:
        rows = await self._db.fetchall(
            "SELECT id, job_id, body, received_at FROM callback_inbox WHERE processed_at IS NULL"
            " ORDER BY id LIMIT ?",
            (limit,),
        )
        return [InboxItem(**r) for r in rows]

    async def mark_callback_processed(self, item_id: int, now: float) -> None:
        await self._db.execute("UPDATE callback_inbox SET processed_at = ? WHERE id = ?", (now, item_id))
