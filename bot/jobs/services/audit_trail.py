"""Where services write their audit records."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.jobs.audit import AuditRecord

if TYPE_CHECKING:
    from bot.jobs.engine import JobEngine


class AuditTrail:
    def __init__(self, engine: JobEngine) -> None:
        self.engine = engine

    async def record(self, record: AuditRecord) -> None:
        """Store the record (facts as JSON) and wake the poster of log-channel lines."""
        await self.engine.audit_trail.record(record)
