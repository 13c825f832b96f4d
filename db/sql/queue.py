"""The line and the provider's slots: who goes next, decided in the store so any number of bot processes
can share one line.

Fair order: when a slot is free, the next job is the oldest waiting job of the member with the fewest
running jobs; between members running as many, the one who has waited longest since they last got a
slot (or since their first waiting job arrived) goes first. Arrivals and claims take tickets from one
counter, so "waited longest" compares tickets, never clocks.

Every claim holds the queue lock for its transaction (an advisory lock on PostgreSQL; SQLite's write
lock already serialises), so slots are counted and taken by one claim at a time, and its conditional
UPDATE … WHERE status = 'queued' could not hand one job out twice even without the lock.
"""

from __future__ import annotations

from typing import Any

from db.records import JobRecord, JobState, Lease, LineEntry, LineRules, LineSnapshot, MemberTurn, SlotState
from db.sql.session import Database, Row, Session

RUNNING = (JobState.PENDING.value, JobState.SUBMITTED.value)
QUEUED = JobState.QUEUED.value
ENDED_WELL = (JobState.SUCCEEDED.value, JobState.DELIVERED.value)

_NEXT_TICKET = (
    "INSERT INTO provider_slots (id, last_ticket) VALUES (1, 1)"
    " ON CONFLICT (id) DO UPDATE SET last_ticket = provider_slots.last_ticket + 1 RETURNING last_ticket"
)
_SAME_MEMBER = "{a}.user_id = {b}.user_id AND {a}.guild_id IS NOT DISTINCT FROM {b}.guild_id"
_LAST_CLAIM = "(SELECT MAX(c.claim_ticket) FROM jobs c WHERE " + _SAME_MEMBER.format(a="c", b="w") + ")"
# Members with jobs the line may hand out (not on a paused server), with their turn facts.
_TURNS = (
    "WITH running AS (SELECT guild_id, user_id, COUNT(*) AS n FROM jobs WHERE status IN (?, ?)"
    " GROUP BY guild_id, user_id),"
    " waiting AS (SELECT j.guild_id, j.user_id, MIN(j.line_ticket) AS first_ticket FROM jobs j"
    " WHERE j.status = ? AND NOT EXISTS (SELECT 1 FROM guild_settings g"
    " WHERE g.guild_id = j.guild_id AND g.paused = 1) GROUP BY j.guild_id, j.user_id),"
    " turns AS (SELECT w.guild_id, w.user_id, w.first_ticket, COALESCE(r.n, 0) AS running,"
    f" COALESCE({_LAST_CLAIM}, 0) AS last_claim"
    " FROM waiting w LEFT JOIN running r ON " + _SAME_MEMBER.format(a="r", b="w") + ")"
)
_NEXT_MEMBER = (
    _TURNS + " SELECT guild_id, user_id FROM turns WHERE running < ?"
    " ORDER BY running, CASE WHEN last_claim > first_ticket THEN last_claim ELSE first_ticket END,"
    " first_ticket LIMIT 1"
)


async def next_ticket(session: Session) -> int:
    """The line's next number (the row is made again if a test emptied the table)."""
    return int(await session.scalar(_NEXT_TICKET))


async def count_waiting(session: Session, guild_id: int | None, user_id: int) -> int:
    count = await session.scalar(
        "SELECT COUNT(*) FROM jobs WHERE guild_id IS NOT DISTINCT FROM ? AND user_id = ? AND status = ?",
        (guild_id, user_id, QUEUED),
    )
    return int(count or 0)


async def _count_running(session: Session) -> int:
    return int(await session.scalar("SELECT COUNT(*) FROM jobs WHERE status IN (?, ?)", RUNNING) or 0)


async def _slots_row(session: Session) -> Row:
    row = await session.fetchone(
        "SELECT working_limit, changed_at, held_until FROM provider_slots WHERE id = 1"
    )
    return row or {"working_limit": None, "changed_at": None, "held_until": None}


def _working_limit(row: Row, rules: LineRules) -> int:
    stored = row["working_limit"]
    return rules.max_concurrency if stored is None else max(1, min(int(stored), rules.max_concurrency))


class QueueSql:
    _db: Database

    async def count_waiting(self, guild_id: int | None, user_id: int) -> int:
        """How many of the member's jobs wait in the line (running ones do not count)."""
        async with self._db.session() as session:
            return await count_waiting(session, guild_id, user_id)

    async def claim_next_job(
        self, rules: LineRules, now: float, lease: Lease | None = None
    ) -> JobRecord | None:
        """Take the fairest waiting job out of the line (it becomes pending, leased to `lease.owner` for
        its submission when given), or None when no slot is free, the line is held, or nobody waiting
        may run another job."""
        async with self._db.transaction() as session:
            await session.lock_queue()
            slots = await _slots_row(session)
            if slots["held_until"] is not None and float(slots["held_until"]) > now:
                return None
            if await _count_running(session) >= _working_limit(slots, rules):
                return None
            member = await session.fetchone(_NEXT_MEMBER, (*RUNNING, QUEUED, rules.max_running_per_member))
            if member is None:
                return None
            job_id = await session.scalar(
                "SELECT id FROM jobs WHERE status = ? AND user_id = ? AND guild_id IS NOT DISTINCT FROM ?"
                " ORDER BY line_ticket, id LIMIT 1",
                (QUEUED, member["user_id"], member["guild_id"]),
            )
            ticket = await next_ticket(session)
            row = await session.fetchone(
                "UPDATE jobs SET status = ?, claim_ticket = ?, claimed_at = ?, updated_at = ?,"
                " lease_owner = ?, lease_until = ? WHERE id = ? AND status = ? RETURNING *",
                (
                    JobState.PENDING.value,
                    ticket,
                    now,
                    now,
                    lease.owner if lease else None,
                    lease.until if lease else None,
                    job_id,
                    QUEUED,
                ),
            )
        return JobRecord.from_row(row) if row else None

    async def return_to_line(self, job_id: str, rules: LineRules, now: float, hold_for: float) -> bool:
        """The provider was full: the claimed job goes back to the front of the line (its ticket and its
        member's turn as before the claim), and the working limit drops to the jobs still running (at
        least 1). With nothing running, claims wait `hold_for` seconds. False if it was not pending."""
        async with self._db.transaction() as session:
            await session.lock_queue()
            changed = await session.execute(
                "UPDATE jobs SET status = ?, claim_ticket = NULL, claimed_at = NULL, updated_at = ?,"
                " lease_owner = NULL, lease_until = NULL WHERE id = ? AND status = ?",
                (QUEUED, now, job_id, JobState.PENDING.value),
            )
            if changed != 1:
                return False
            running = await _count_running(session)
            lowered = min(max(1, running), _working_limit(await _slots_row(session), rules))
            held = now + hold_for if running == 0 else None
            await session.execute(
                "INSERT INTO provider_slots (id, working_limit, changed_at, held_until) VALUES (1, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET working_limit = excluded.working_limit,"
                " changed_at = excluded.changed_at, held_until = excluded.held_until",
                (lowered, now, held),
            )
        return True

    async def raise_working_limit(self, rules: LineRules, now: float, quiet: float) -> bool:
        """One more slot when the provider has not been full for `quiet` seconds (up to the maximum).
        Conditional, so processes sharing the store raise it once."""
        changed = await self._db.execute(
            "UPDATE provider_slots SET working_limit = CASE WHEN working_limit + 1 >= ? THEN NULL"
            " ELSE working_limit + 1 END, changed_at = ?, held_until = NULL"
            " WHERE id = 1 AND working_limit IS NOT NULL AND changed_at <= ?",
            (rules.max_concurrency, now, now - quiet),
        )
        return changed == 1

    async def slot_state(self, rules: LineRules) -> SlotState:
        async with self._db.session() as session:
            slots = await _slots_row(session)
            running = await _count_running(session)
            waiting = await session.fetchone(
                "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM jobs WHERE status = ?", (QUEUED,)
            )
        limit = _working_limit(slots, rules)
        return SlotState(
            running=running,
            waiting=int(waiting["n"]) if waiting else 0,
            working_limit=limit,
            lowered=limit < rules.max_concurrency,
            changed_at=_float(slots["changed_at"]),
            held_until=_float(slots["held_until"]),
            oldest_waiting_since=_float(waiting["oldest"]) if waiting else None,
        )

    async def line_snapshot(self) -> LineSnapshot:
        """Every waiting job in arrival order, and each waiting member's running jobs and latest claim."""
        async with self._db.session() as session:
            entries = await session.fetchall(
                "SELECT j.id AS job_id, j.guild_id, j.user_id, j.line_ticket, j.created_at,"
                " COALESCE(g.paused, 0) AS paused FROM jobs j"
                " LEFT JOIN guild_settings g ON g.guild_id = j.guild_id"
                " WHERE j.status = ? ORDER BY j.line_ticket, j.id",
                (QUEUED,),
            )
            members = await session.fetchall(
                "SELECT w.guild_id, w.user_id, (SELECT COUNT(*) FROM jobs r WHERE "
                + _SAME_MEMBER.format(a="r", b="w")
                + f" AND r.status IN (?, ?)) AS running, {_LAST_CLAIM} AS last_claim"
                " FROM (SELECT DISTINCT guild_id, user_id FROM jobs WHERE status = ?) w",
                (*RUNNING, QUEUED),
            )
        return LineSnapshot(
            entries=[_entry(row) for row in entries],
            members=[
                MemberTurn(
                    guild_id=row["guild_id"],
                    user_id=int(row["user_id"]),
                    running=int(row["running"]),
                    last_claim=None if row["last_claim"] is None else int(row["last_claim"]),
                )
                for row in members
            ],
        )

    async def recent_generation_seconds(self, limit: int) -> list[float]:
        """How long the latest finished videos took at the provider, newest first (for estimates)."""
        rows = await self._db.fetchall(
            "SELECT finished_at - submitted_at AS seconds FROM jobs WHERE finished_at IS NOT NULL"
            " AND submitted_at IS NOT NULL AND status IN (?, ?) ORDER BY finished_at DESC LIMIT ?",
            (*ENDED_WELL, limit),
        )
        return [max(0.0, float(row["seconds"])) for row in rows]

    async def running_started_before(self, before: float, limit: int = 500) -> list[JobRecord]:
        """Running jobs that left the line (or reached the provider) at or before `before`."""
        rows = await self._db.fetchall(
            f"SELECT * FROM jobs WHERE status IN (?, ?) AND {_STARTED} <= ? ORDER BY {_STARTED} LIMIT ?",
            (*RUNNING, before, limit),
        )
        return [JobRecord.from_row(row) for row in rows]

    async def earliest_running_start(self) -> float | None:
        row = await self._db.fetchone(
            f"SELECT MIN({_STARTED}) AS started FROM jobs WHERE status IN (?, ?)", RUNNING
        )
        return _float(row["started"]) if row else None


# When a running job started: submitted, else claimed (rows older than the line: accepted).
_STARTED = "COALESCE(submitted_at, claimed_at, created_at)"


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _entry(row: Row) -> LineEntry:
    return LineEntry(
        job_id=str(row["job_id"]),
        guild_id=row["guild_id"],
        user_id=int(row["user_id"]),
        line_ticket=int(row["line_ticket"] or 0),
        created_at=float(row["created_at"]),
        paused=bool(row["paused"]),
    )
