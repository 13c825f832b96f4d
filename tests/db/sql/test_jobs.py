"""Creating and finding jobs: atomic reservations, the in-flight cap, search."""

from __future__ import annotations

import asyncio

from db.records import JobState, NewJob, QuotaCheck
from db.sql.store import SqlStore
from tests.db.factories import NOW, new_job


async def test_concurrent_reservations_never_exceed_the_limit(store: SqlStore) -> None:
    quota = QuotaCheck(limit=3, window_start=NOW - 60, max_in_flight=100)
    results = await asyncio.gather(*(store.create_job(new_job(f"j{i}"), quota) for i in range(10)))
    assert sum(r.accepted for r in results) == 3
    assert {r.reason for r in results if not r.accepted} == {"quota"}
    assert await store.spent_credits(1, 7, NOW - 60) == 3


async def test_in_flight_cap(store: SqlStore) -> None:
    quota = QuotaCheck(limit=None, window_start=0, max_in_flight=2)
    assert (await store.create_job(new_job("a"), quota)).accepted
    assert (await store.create_job(new_job("b"), quota)).accepted
    refused = await store.create_job(new_job("c"), quota)
    assert (refused.accepted, refused.reason, refused.in_flight) == (False, "in_flight", 2)
    assert await store.get_job("c") is None


async def test_job_search_matches_the_id_or_the_prompt_only(store: SqlStore) -> None:
    for job_id, prompt in (("dragon01", "A red DRAGON flies"), ("sunset02", "a quiet sunset")):
        job = new_job(job_id)
        params = {"prompt": prompt, "orientation": "image", "mode": "std"}
        await store.create_job(
            NewJob(
                id=job.id,
                guild_id=1,
                channel_id=2,
                user_id=7,
                kind="motion",
                params=params,
                provider="acedata",
                callback_token=job.callback_token,
                input_token=job.input_token,
                credits=1,
                interaction_token=None,
                interaction_expires_at=None,
                application_id=None,
                created_at=NOW,
            ),
            None,
        )

    async def ids(query: str) -> list[str]:
        return [j.id for j in await store.list_jobs(guild_id=1, user_id=7, query=query)]

    assert await ids("dragon") == ["dragon01"]
    assert await ids("sunset02") == ["sunset02"]
    assert await ids("image") == []  # an option value, not the prompt


async def test_jobs_are_found_by_id_and_tokens(store: SqlStore) -> None:
    await store.create_job(new_job("a"), None)
    for found in (
        await store.get_job("a"),
        await store.get_job_by_callback_token("cb-a"),
        await store.get_job_by_input_token("in-a"),
    ):
        assert found is not None and found.id == "a" and found.params == {"prompt": "p"}
        assert (found.status, found.guild_id, found.interaction_expires_at) == (
            JobState.PENDING,
            1,
            NOW + 900,
        )
    assert await store.get_job("b") is None


async def test_queries_by_state_age_and_poll_time(store: SqlStore) -> None:
    for job_id, at in (("old", NOW - 100), ("mid", NOW - 50), ("new", NOW)):
        await store.create_job(new_job(job_id, at=at), None)
    await store.mark_submitted("mid", "t", NOW, NOW + 10)
    await store.mark_submitted("new", "t2", NOW, NOW + 5)
    pending, submitted = [JobState.PENDING], [JobState.SUBMITTED]
    assert [j.id for j in await store.jobs_in_states([*pending, *submitted])] == ["old", "mid", "new"]
    assert [j.id for j in await store.jobs_in_states(submitted, limit=1)] == ["mid"]
    assert [j.id for j in await store.jobs_created_before([*pending, *submitted], NOW - 50)] == ["old", "mid"]
    assert [j.id for j in await store.jobs_due_for_poll(NOW + 10, limit=10)] == ["new", "mid"]
    assert await store.jobs_due_for_poll(NOW, limit=10) == []
    assert await store.count_in_flight(1, 7) == 3 and await store.count_in_flight(None, 7) == 0
    assert await store.count_in_states(submitted) == 2
    listed = await store.list_jobs(guild_id=1, user_id=None, states=submitted, limit=1)
    assert [j.id for j in listed] == ["new"]
