"""What commands ask of the bot, as services that speak in typed results (never sentences or markup):
server administration, a member's quota, the line, finding, re-running and deleting jobs, and the
models and earlier videos the video commands use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.jobs.services.admin import ServerAdmin
from bot.jobs.services.jobs import JobService
from bot.jobs.services.queue import QueueService
from bot.jobs.services.quota import QuotaService
from bot.jobs.services.videos import VideoService

if TYPE_CHECKING:
    from bot.jobs.engine import JobEngine


class Services:
    def __init__(self, engine: JobEngine) -> None:
        trail = engine.audit_trail  # the engine's own: writing a record wakes the log-channel poster
        self.quota = QuotaService(engine)
        self.admin = ServerAdmin(engine.store, self.quota, trail, engine.clock, line_changed=engine.wake_line)
        self.jobs = JobService(
            engine.store, engine.inputs, trail, inputs_kept_for=engine.config.retention.media_seconds
        )
        self.queue = QueueService(engine)
        self.videos = VideoService(engine.provider.name)
