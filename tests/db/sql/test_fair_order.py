"""Fairness as a property, on every backend: for random arrival orders of several members, with slots
freeing at random, no member's first job waits behind more than one job of any other member."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from db.records import LineRules, QuotaCheck
from db.sql.store import SqlStore
from tests.db.factories import NOW, new_job

QUOTA = QuotaCheck(limit=None, window_start=0, max_in_flight=100, max_queued=100)

# A step: ("arrive", member) or ("free", which running job finishes, as an index).
steps = st.lists(
    st.one_of(
        st.tuples(st.just("arrive"), st.integers(min_value=1, max_value=3)),
        st.tuples(st.just("free"), st.integers(min_value=0, max_value=10)),
    ),
    min_size=1,
    max_size=30,
)


async def reset(store: SqlStore) -> None:
    for table in ("credit_ledger", "jobs", "provider_slots"):
        await store.database.execute(f"DELETE FROM {table}")


class Run:
    """Drives the store: arrivals join the line, free slots are claimed at once, as the dispatcher does."""

    def __init__(self, store: SqlStore, rules: LineRules) -> None:
        self.store, self.rules = store, rules
        self.running: list[str] = []
        self.member_of: dict[str, int] = {}
        self.events: list[tuple[str, str]] = []  # ("arrive" | "claim", job id), in order

    async def arrive(self, member: int) -> None:
        job_id = f"m{member}j{len(self.member_of)}"
        self.member_of[job_id] = member
        assert (await self.store.create_job(new_job(job_id, user=member, queued=True), QUOTA)).accepted
        self.events.append(("arrive", job_id))
        await self.fill()

    async def free(self, index: int) -> None:
        if self.running:
            job_id = self.running.pop(index % len(self.running))
            await self.store.mark_failed(
                job_id, category="failed", message="m", provider_status=None, now=NOW
            )
            await self.fill()

    async def fill(self) -> None:
        while (job := await self.store.claim_next_job(self.rules, NOW)) is not None:
            self.running.append(job.id)
            self.events.append(("claim", job.id))

    async def drain(self) -> None:
        while self.running:
            await self.free(0)


def waited_behind(events: list[tuple[str, str]], member_of: dict[str, int]) -> dict[tuple[int, int], int]:
    """For each member's first job: how many jobs of each other member were claimed while it waited."""
    seen: set[int] = set()
    waiting: dict[int, str] = {}
    behind: dict[tuple[int, int], int] = defaultdict(int)
    for kind, job_id in events:
        member = member_of[job_id]
        if kind == "arrive" and member not in seen:
            seen.add(member)
            waiting[member] = job_id
        elif kind == "claim":
            if waiting.get(member) == job_id:
                del waiting[member]
            for other in waiting:
                if other != member:
                    behind[(other, member)] += 1
    assert not waiting, "every first job was claimed in the end"
    return behind


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# One member's backlog arrives before another's first job: a line in arrival order fails this one.
@example(plan=[("arrive", 1)] * 3 + [("arrive", 2), ("free", 0), ("free", 0)], slots=1, cap=1)
@given(
    plan=steps,
    slots=st.integers(min_value=1, max_value=3),
    cap=st.integers(min_value=1, max_value=2),
)
async def test_no_first_job_waits_behind_two_of_another_members(
    store: SqlStore, plan: list[tuple[str, int]], slots: int, cap: int
) -> None:
    await reset(store)
    run = Run(store, LineRules(max_concurrency=slots, max_running_per_member=cap))
    for kind, value in plan:
        await (run.arrive(value) if kind == "arrive" else run.free(value))
    await run.drain()
    behind = waited_behind(run.events, run.member_of)
    assert all(count <= 1 for count in behind.values()), dict(behind)
