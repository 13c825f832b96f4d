"""The line as /queue, /job and the Cancel button see it: what runs and waits on a server, where one
job stands, and taking a waiting job out (answers are typed results)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.jobs.line import Standing
from bot.jobs.queue import CancelOutcome
from db.records import JobRecord, JobState

if TYPE_CHECKING:
    from bot.jobs.engine import JobEngine

RUNNING = (JobState.PENDING, JobState.SUBMITTED)
SHOWN = 50  # jobs of each kind listed at most


@dataclass(frozen=True, slots=True)
class WaitingJob:
    job: JobRecord
    standing: Standing | None


@dataclass(frozen=True, slots=True)
class QueueView:
    running: list[JobRecord]  # oldest first
    waiting: list[WaitingJob]  # in the order the line will hand them out
    slots_in_use: int  # across every server
    working_limit: int
    max_concurrency: int


class QueueService:
    def __init__(self, engine: JobEngine) -> None:
        self.engine = engine
        self.store = engine.store

    async def view(self, guild_id: int | None, user_id: int | None) -> QueueView:
        """The server's running and waiting jobs (one member's only, with `user_id`)."""
        line = self.engine.line
        running = await self.store.list_jobs(guild_id=guild_id, user_id=user_id, states=RUNNING, limit=SHOWN)
        queued = await self.store.list_jobs(
            guild_id=guild_id, user_id=user_id, states=[JobState.QUEUED], limit=SHOWN
        )
        places = await line.standings()
        waiting = [WaitingJob(job, places.get(job.id)) for job in queued]
        waiting.sort(key=lambda w: (w.standing is None or w.standing.paused, _ahead(w), w.job.created_at))
        state = await self.store.slot_state(line.rules)
        return QueueView(
            running=sorted(running, key=lambda job: job.created_at),
            waiting=waiting,
            slots_in_use=state.running,
            working_limit=state.working_limit,
            max_concurrency=line.rules.max_concurrency,
        )

    async def standing(self, job: JobRecord) -> Standing | None:
        """Where a waiting job stands; None for any other."""
        if job.status is not JobState.QUEUED:
            return None
        return await self.engine.line.standing(job.id)

    async def cancel(self, job: JobRecord, actor_id: int, *, moderator: bool) -> CancelOutcome:
        return await self.engine.line.cancel(job, actor_id, moderator=moderator)


def _ahead(waiting: WaitingJob) -> int:
    return waiting.standing.ahead if waiting.standing is not None else 0
