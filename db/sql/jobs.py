"""Jobs: the reservation that creates one, and the queries that find them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from db.notify import Channel
from db.records import JobRecord, JobState, NewJob, QuotaCheck, Reservation, Settlement
from db.sql.ledger import spent_since
from db.sql.session import Database, Session, placeholders

# The states that count against a member's in-flight cap and that a provider report may still change.
LIVE = tuple(state.value for state in JobState if state.in_flight)

_INSERT_JOB = (
    "INSERT INTO jobs (id, guild_id, channel_id, user_id, kind, params, parent_job_id, provider,"
    " callback_token, input_token, status, credits, settlement, interaction_token,"
    f" interaction_expires_at, application_id, created_at, updated_at) VALUES ({placeholders(18)})"
)
_INSERT_LEDGER = (
    "INSERT INTO credit_ledger (job_id, guild_id, user_id, kind, credits, state, created_at)"
    f" VALUES ({placeholders(7)})"
)


async def count_live(session: Session, guild_id: int | None, user_id: int) -> int:
    count = await session.scalar(
        "SELECT COUNT(*) FROM jobs WHERE guild_id IS NOT DISTINCT FROM ? AND user_id = ?"
        f" AND status IN ({placeholders(len(LIVE))})",
        (guild_id, user_id, *LIVE),
    )
    return int(count or 0)


def _job_values(job: NewJob) -> tuple[Any, ...]:
    return (
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
    )


class JobsSql:
    _db: Database

    async def create_job(self, job: NewJob, quota: QuotaCheck | None) -> Reservation:
        """Insert the job and reserve its credits in one transaction, or refuse without writing.

        The check and the insert share one transaction that holds the member's lock, so concurrent
        requests from one member cannot both pass a check that only one of them fits.
        """
        async with self._db.transaction() as session:
            spent = in_flight = 0
            if quota is not None:
                await session.lock_member(job.guild_id, job.user_id)
                in_flight = await count_live(session, job.guild_id, job.user_id)
                if in_flight >= quota.max_in_flight:
                    return Reservation(False, "in_flight", in_flight=in_flight)
                if quota.limit is not None:
                    spent = await spent_since(session, job.guild_id, job.user_id, quota.window_start)
                    if spent + job.credits > quota.limit:
                        return Reservation(False, "quota", spent=spent, in_flight=in_flight)
            await session.execute(_INSERT_JOB, _job_values(job))
            await session.execute(
                _INSERT_LEDGER,
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
            await session.notify(Channel.JOB_ACCEPTED, job.id)
        return Reservation(True, spent=spent + job.credits, in_flight=in_flight + 1)

    async def _jobs(self, where: str, params: Sequence[Any]) -> list[JobRecord]:
        rows = await self._db.fetchall(f"SELECT * FROM jobs WHERE {where}", params)
        return [JobRecord.from_row(row) for row in rows]

    async def _job(self, where: str, params: Sequence[Any]) -> JobRecord | None:
        jobs = await self._jobs(where, params)
        return jobs[0] if jobs else None

    async def get_job(self, job_id: str) -> JobRecord | None:
        return await self._job("id = ?", (job_id,))

    async def get_job_by_callback_token(self, token: str) -> JobRecord | None:
        return await self._job("callback_token = ?", (token,))

    async def get_job_by_input_token(self, token: str) -> JobRecord | None:
        return await self._job("input_token = ?", (token,))

    async def jobs_in_states(self, states: Sequence[JobState], limit: int = 10_000) -> list[JobRecord]:
        return await self._jobs(
            f"status IN ({placeholders(len(states))}) ORDER BY created_at LIMIT ?",
            (*[s.value for s in states], limit),
        )

    async def jobs_created_before(
        self, states: Sequence[JobState], before: float, limit: int = 500
    ) -> list[JobRecord]:
        """Jobs in `states` created at or before `before`, oldest first (the timeout sweep)."""
        return await self._jobs(
            f"status IN ({placeholders(len(states))}) AND created_at <= ? ORDER BY created_at LIMIT ?",
            (*[s.value for s in states], before, limit),
        )

    async def jobs_due_for_poll(self, now: float, limit: int) -> list[JobRecord]:
        return await self._jobs(
            "status = ? AND next_poll_at IS NOT NULL AND next_poll_at <= ? ORDER BY next_poll_at LIMIT ?",
            (JobState.SUBMITTED.value, now, limit),
        )

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
            clauses.append(f"status IN ({placeholders(len(states))})")
            params.extend(s.value for s in states)
        # A search matches the job id or the prompt; the prompt lives in the JSON params, so it is
        # filtered here rather than with a database-specific JSON operator (portable SQL).
        needle = query.strip().lower() if query else ""
        params.append(limit if not needle else max(limit * 8, 200))
        jobs = await self._jobs(f"{' AND '.join(clauses)} ORDER BY created_at DESC LIMIT ?", params)
        if needle:
            jobs = [
                job
                for job in jobs
                if needle in job.id or needle in str(job.params.get("prompt") or "").lower()
            ][:limit]
        return jobs

    async def count_in_flight(self, guild_id: int | None, user_id: int) -> int:
        async with self._db.session() as session:
            return await count_live(session, guild_id, user_id)

    async def count_in_states(self, states: Sequence[JobState]) -> int:
        row = await self._db.fetchone(
            f"SELECT COUNT(*) AS n FROM jobs WHERE status IN ({placeholders(len(states))})",
            [s.value for s in states],
        )
        return int(row["n"]) if row else 0

    # ---- when the engine's background loops next have work ---------------------------------

    async def next_poll_due_at(self) -> float | None:
        """When the next submitted job is due for a poll (None: no job is waiting for one)."""
        row = await self._db.fetchone(
            "SELECT MIN(next_poll_at) AS due FROM jobs WHERE status = ? AND next_poll_at IS NOT NULL",
            (JobState.SUBMITTED.value,),
        )
        return None if row is None or row["due"] is None else float(row["due"])

    async def earliest_created_at(self, states: Sequence[JobState]) -> float | None:
        """When the oldest job in `states` was created (the timeout sweep's next deadline follows)."""
        row = await self._db.fetchone(
            f"SELECT MIN(created_at) AS oldest FROM jobs WHERE status IN ({placeholders(len(states))})",
            [s.value for s in states],
        )
        return None if row is None or row["oldest"] is None else float(row["oldest"])
