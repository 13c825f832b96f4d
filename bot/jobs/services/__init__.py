"""What commands ask of the bot, as services that speak in typed results (never sentences or markup):
server administration, a member's quota, and finding, re-running and deleting jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.jobs.services.admin import ServerAdmin
from bot.jobs.services.audit_trail import AuditTrail
from bot.jobs.services.jobs import JobService
from bot.jobs.services.quota import QuotaService

if TYPE_CHECKING:
    from bot.jobs.engine import JobEngine


class Services:
    def __init__(self, engine: JobEngine) -> None:
        trail = AuditTrail(engine)
        self.quota = QuotaService(engine)
        self.admin = ServerAdmin(engine.store, self.quota, trail, engine.clock)
        self.jobs = JobService(
            engine.store, engine.inputs, trail, inputs_kept_for=engine.config.retention.media_seconds
        )
