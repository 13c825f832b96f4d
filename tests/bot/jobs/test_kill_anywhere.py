"""PRODUCT.md §7, "Nothing lost": kill -9 at any point, restart, and every accepted job still finishes and is
delivered once, with credits settled correctly.

A real `python -m bot` process is killed with SIGKILL again and again. Each life takes one new job and
is killed once the member has been told it was accepted and a few more things (from one to nine)
have happened between the bot, Discord and the provider: requests, callbacks, downloads, posts. So
the kills land in every phase of a job's life, often with earlier jobs still in flight. Where exactly
each lands varies from run to run; what is asserted holds for every one.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from db.records import JobRecord, JobState, Settlement
from db.sqlite import SqliteStore
from tests.bot.jobs.helpers import sha256, video_posts
from tests.bot.jobs.proxy import HoldingProxy
from tests.bot.jobs.test_recovery import BotProcess, bot_environment
from tests.conftest import HarnessFactory
from tests.harness import Harness, free_port

# How many more events each process lives for after its job was accepted (then one last run to the end).
KILL_AFTER = (1, 5, 2, 9, 3, 7, 4)


def events(h: Harness) -> int:
    """Everything the bot has done that the fakes can see."""
    provider = h.provider
    return (
        len(h.fake.calls)
        + len(provider.requests)
        + len(provider.callback_responses)
        + provider.result_downloads
    )


async def wait_until(
    h: Harness, process: BotProcess, predicate: Callable[[], bool], timeout: float = 30.0
) -> None:
    """Wait until `predicate` holds, re-checked on any activity at either fake or in the bot's log (which
    follows its store commits); no sleeping."""

    async def in_log() -> None:
        async with process._changed:
            while not predicate():
                if process.proc.returncode is not None:
                    raise RuntimeError("the bot exited:\n" + "\n".join(process.lines[-30:]))
                await process._changed.wait()

    waiters = [
        asyncio.create_task(h.fake.wait_for(lambda: predicate() or None, timeout)),
        asyncio.create_task(h.provider.wait_for(predicate, timeout)),
        asyncio.create_task(asyncio.wait_for(in_log(), timeout)),
    ]
    done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for waiter in pending:
        waiter.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for waiter in done:
        waiter.result()


def job_counts(db_path: Path) -> tuple[int, int]:
    """(stored jobs, of which not yet delivered or failed), read without disturbing the running bot."""
    if not db_path.exists():
        return 0, 0
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as db:
        try:
            total, open_ = db.execute(
                "SELECT COUNT(*),"
                " COALESCE(SUM(CASE WHEN status IN ('delivered', 'failed') THEN 0 ELSE 1 END), 0) FROM jobs"
            ).fetchone()
        except sqlite3.OperationalError:
            return 0, 0  # not migrated yet
    return int(total), int(open_)


def all_finished(db_path: Path) -> bool:
    total, open_ = job_counts(db_path)
    return total > 0 and open_ == 0


def killable(h: Harness, db_path: Path, deadline: int) -> bool:
    return events(h) >= deadline or all_finished(db_path)


async def test_sigkill_at_many_points_loses_nothing_and_posts_each_video_once(
    make_harness: HarnessFactory, tmp_path: Path
) -> None:
    h = await make_harness("acedata", start=False)  # the fake provider finishes tasks by itself
    # A member per job, so the per-member cap on jobs in flight never refuses one.
    members = [h.fake.add_member(h.guild.id, username=f"member{i}").user_id for i in range(len(KILL_AFTER))]
    proxy = await HoldingProxy(h.fake.base_url).start()
    workdir = tmp_path / "kill-anywhere"
    workdir.mkdir()
    db_path = workdir / "klingbot.db"
    env = bot_environment(h, proxy, workdir, free_port())
    processes: list[BotProcess] = []
    try:
        for round_number, lifetime in enumerate(KILL_AFTER):
            process = await BotProcess.start(env, workdir)
            processes.append(process)
            await process.wait_line("has connected to Gateway")
            handle = await h.slash(
                "video",
                {"prompt": f"a paper boat, take {round_number}"},
                subcommand="text",
                user_id=members[round_number],
            )
            assert "accepted" in (await h.reply(handle, timeout=20)).content
            deadline = events(h) + lifetime
            # Killed after `lifetime` more events, or at once when there is nothing left to do.
            await wait_until(h, process, partial(killable, h, db_path, deadline))
            assert await process.kill() == -signal.SIGKILL

        final = await BotProcess.start(env, workdir)
        processes.append(final)
        await final.wait_line("has connected to Gateway")
        await wait_until(h, final, partial(all_finished, db_path), timeout=60)
        await final.stop()
    finally:
        for process in processes:
            if process.proc.returncode is None:
                await process.kill()
        await proxy.stop()

    store = SqliteStore(db_path)
    await store.open()
    try:
        jobs = await store.list_jobs(guild_id=h.guild.id, user_id=None, limit=100)
        rows = await store.usage(h.guild.id, 0.0)
        inbox = await store.pending_callbacks()
    finally:
        await store.close()

    assert len(jobs) == len(KILL_AFTER)  # every job a member was told was accepted
    assert_delivered_once_and_charged(h, jobs)
    assert sum(r.credits_charged for r in rows) == sum(j.credits for j in jobs)
    assert sum(r.credits_reserved + r.credits_refunded for r in rows) == 0
    assert inbox == []


def assert_delivered_once_and_charged(h: Harness, jobs: list[JobRecord]) -> None:
    posts = video_posts(h)
    for job in jobs:
        assert job.status is JobState.DELIVERED, (job.id, job.status, job.error_message)
        assert job.settlement is Settlement.CHARGED
        mine = [
            p for p in posts if any(f"Job {job.id}" in e.get("footer", {}).get("text", "") for e in p.embeds)
        ]
        assert len(mine) == 1, f"job {job.id} was posted {len(mine)} times"
        assert mine[0].attachments[0].sha256 == sha256(h.provider.result_video)
        assert mine[0].mentions == [job.user_id]
    assert len(posts) == len(jobs)


# Kills while a line 30 deep drains: after this many more events each time (then one run to the end).
KILL_IN_LINE = (4, 17, 9, 30, 13)
LINE_DEPTH = 30


@pytest.mark.timeout(120)  # six bot processes start one after another
async def test_sigkill_while_a_line_30_deep_drains_submits_and_delivers_each_job_once(
    make_harness: HarnessFactory, tmp_path: Path
) -> None:
    # Kling can look a task up by the bot's job id, so a submit cut short is found, never sent twice;
    # the fake refuses a second task for the same job id, and refuses past five at once as Kling does.
    h = await make_harness("kling", start=False, provider_options={"max_running": 5, "work_seconds": 0.2})
    members = [h.fake.add_member(h.guild.id, username=f"line{i}").user_id for i in range(10)]
    proxy = await HoldingProxy(h.fake.base_url).start()
    workdir = tmp_path / "kill-in-line"
    workdir.mkdir()
    db_path = workdir / "klingbot.db"
    env = bot_environment(h, proxy, workdir, free_port())
    env.update(PROVIDER_MAX_CONCURRENCY="5", MAX_QUEUED_PER_USER="3")
    processes: list[BotProcess] = []
    try:
        process = await BotProcess.start(env, workdir)
        processes.append(process)
        await process.wait_line("has connected to Gateway")
        handles = await asyncio.gather(
            *(
                h.slash("video", {"prompt": f"boat {n}"}, subcommand="text", user_id=members[n % 10])
                for n in range(LINE_DEPTH)
            )
        )
        replies = await asyncio.gather(*(h.reply(handle, timeout=30) for handle in handles))
        assert all("accepted" in reply.content for reply in replies), [r.content for r in replies]
        for lifetime in KILL_IN_LINE:
            deadline = events(h) + lifetime
            await wait_until(h, process, partial(killable, h, db_path, deadline))
            assert await process.kill() == -signal.SIGKILL
            process = await BotProcess.start(env, workdir)
            processes.append(process)
            await process.wait_line("has connected to Gateway")
        await wait_until(h, process, partial(all_finished, db_path), timeout=90)
        await process.stop()
    finally:
        for running in processes:
            if running.proc.returncode is None:
                await running.kill()
        await proxy.stop()

    store = SqliteStore(db_path)
    await store.open()
    try:
        jobs = await store.list_jobs(guild_id=h.guild.id, user_id=None, limit=100)
        rows = await store.usage(h.guild.id, 0.0)
    finally:
        await store.close()
    assert len(jobs) == LINE_DEPTH
    assert_delivered_once_and_charged(h, jobs)
    # Submitted once each: one task per job at the provider, no second create for a job id.
    assert sorted(t.external_id or "" for t in h.provider.tasks.values()) == sorted(j.id for j in jobs)
    creates = h.provider.requests_to("/v1/videos/text2video", "POST")
    assert not [r for r in creates if r.status == 400], "a job was sent twice"
    assert h.provider.peak_running <= 5
    assert sum(r.credits_charged for r in rows) == sum(j.credits for j in jobs)
    assert sum(r.credits_reserved + r.credits_refunded for r in rows) == 0
