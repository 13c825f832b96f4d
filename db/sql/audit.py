"""The audit log: admin changes and job events, each posted to the server's log channel once."""

from __future__ import annotations

from db.notify import Channel
from db.records import AuditEntry
from db.sql.session import Database


class AuditSql:
    _db: Database

    async def add_audit(
        self,
        guild_id: int | None,
        actor_id: int | None,
        action: str,
        detail: str,
        job_id: str | None,
        now: float,
    ) -> int:
        async with self._db.transaction() as session:
            entry_id = await session.scalar(
                "INSERT INTO audit_log (guild_id, actor_id, action, detail, job_id, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (guild_id, actor_id, action, detail, job_id, now),
            )
            await session.notify(Channel.AUDIT_ADDED)
        return int(entry_id)

    async def unposted_audit(self, limit: int = 50) -> list[AuditEntry]:
        rows = await self._db.fetchall(
            "SELECT id, guild_id, actor_id, action, detail, job_id, created_at FROM audit_log"
            " WHERE posted_at IS NULL ORDER BY id LIMIT ?",
            (limit,),
        )
        return [AuditEntry(**r) for r in rows]

    async def mark_audit_posted(self, entry_id: int, now: float) -> None:
        await self._db.execute("UPDATE audit_log SET posted_at = ? WHERE id = ?", (now, entry_id))
