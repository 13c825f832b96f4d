"""Where a waiting job stands in the line, and roughly how long it will wait: for what members see.

The store decides who goes next (db.sql.queue); this projects that rule over the whole line so each
waiting job can be told its place. Each member's k-th waiting job falls in round `running + k` (their
running jobs count as rounds already taken); within a round, members go in the order they have waited
(since their last slot, or since their first waiting job arrived). Jobs of a paused server keep their
place but are not counted ahead of anyone, since they do not move.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from db.records import LineEntry, LineSnapshot


@dataclass(frozen=True, slots=True)
class Standing:
    """One waiting job's place: how many go before it, and an estimate of the wait for a slot."""

    job_id: str
    ahead: int
    paused: bool  # its server is paused: it keeps its place and does not move
    wait_seconds: float | None  # None: no finished jobs yet to estimate from

    @property
    def place(self) -> int:
        """1 for the front of the line."""
        return self.ahead + 1

    @property
    def wait_minutes(self) -> int | None:
        return None if self.wait_seconds is None else max(1, math.ceil(self.wait_seconds / 60))


def fair_order(snapshot: LineSnapshot) -> list[LineEntry]:
    """The jobs that can move, in the order the line would hand them out if nothing else arrived."""
    turns = {(m.guild_id, m.user_id): m for m in snapshot.members}
    seen: dict[tuple[int | None, int], int] = {}
    since: dict[tuple[int | None, int], int] = {}
    keyed = []
    for entry in snapshot.entries:  # in arrival order, so a member's first seen job is their oldest
        if entry.paused:
            continue
        member = (entry.guild_id, entry.user_id)
        index = seen.get(member, 0)
        seen[member] = index + 1
        turn = turns.get(member)
        if member not in since:
            last_claim = (turn.last_claim if turn is not None else None) or 0
            since[member] = max(last_claim, entry.line_ticket)
        running = turn.running if turn is not None else 0
        keyed.append(((running + index, since[member], entry.line_ticket), entry))
    keyed.sort(key=lambda pair: pair[0])
    return [entry for _, entry in keyed]


def standings(snapshot: LineSnapshot, *, slots: int, generation: float | None) -> dict[str, Standing]:
    """Every waiting job's standing. `generation` is a typical generation time (None: unknown)."""
    result: dict[str, Standing] = {}
    for ahead, entry in enumerate(fair_order(snapshot)):
        wait = None if generation is None else (ahead // max(1, slots) + 1) * generation
        result[entry.job_id] = Standing(entry.job_id, ahead, paused=False, wait_seconds=wait)
    for entry in snapshot.entries:
        if entry.paused:
            result[entry.job_id] = Standing(entry.job_id, 0, paused=True, wait_seconds=None)
    return result


def typical_generation(seconds: list[float]) -> float | None:
    """The median generation time of recent jobs (None when there are none yet)."""
    return statistics.median(seconds) if seconds else None
