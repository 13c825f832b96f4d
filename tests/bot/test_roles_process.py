"""`python -m bot` as three processes on PostgreSQL, one per role (gateway, worker, listener), against the
fakes: /motion accepted by the gateway is submitted by the worker, the provider's callback is received by
the listener, and the worker posts the video at once, woken by PostgreSQL's NOTIFY (polling is an hour
away)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from db.postgres import PostgresStore
from db.records import JobState, Settlement
from tests.bot.jobs.helpers import video_posts
from tests.bot.jobs.test_recovery import REPO_ROOT, BotProcess
from tests.cogs.test_motion import accepted_id, motion
from tests.conftest import HarnessFactory
from tests.db import servers
from tests.harness import Harness, free_port

# Settings of the bot that must come from this test alone, never from the developer's environment.
OURS = ("DISCORD_", "KLING_", "KIE_", "PUBLIC_", "WEBHOOK_", "DATABASE_", "LOG_", "POLL_", "JOB_", "MEDIA_")
OURS_TOO = ("DEV_GUILD_ID", "BOT_ROLES", "SHARD_COUNT", "SHARD_IDS", "INSTANCE_ID", "OPS_PORT")


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A database of this test's own on the test PostgreSQL server (skipped, or failed in CI, without one)."""
    with servers.own_database() as url:
        yield url


def role_environment(h: Harness, database_url: str, workdir: Path, role: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(OURS) and k not in OURS_TOO}
    env.update(
        BOT_ROLES=role,
        INSTANCE_ID=f"test-{role}",
        DISCORD_TOKEN=h.fake.bot_token,
        DISCORD_API_BASE=h.fake.api_base,
        DISCORD_GATEWAY_URL=h.fake.gateway_url,
        DEV_GUILD_ID=str(h.guild.id),
        KLING_PROVIDER="acedata",
        KLING_API_BASE=h.provider.base_url,
        KLING_API_KEY=str(h.provider.api_key),  # type: ignore[attr-defined]
        # Every process builds the same public URLs; only the listener serves them.
        PUBLIC_BASE_URL=f"http://127.0.0.1:{h.webhook_port}",
        WEBHOOK_HOST="127.0.0.1",
        WEBHOOK_PORT=str(h.webhook_port),
        OPS_PORT="0",
        DATABASE_URL=database_url,
        MEDIA_DIR=str(workdir / "media"),  # shared: the gateway stores inputs the listener serves
        POLL_INTERVAL_SECONDS="3600",  # a poll would come far too late: only a notification is fast
        LOG_LEVEL="INFO",
        LOG_FORMAT="text",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p),
    )
    return env


@pytest.fixture
async def roles(
    make_harness: HarnessFactory, database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Harness, dict[str, BotProcess]]]:
    await servers.empty_schema(database_url)
    h = await make_harness("acedata", start=False, provider_options={"auto": False})
    h.webhook_port = free_port()
    processes: dict[str, BotProcess] = {}
    try:
        for role in ("listener", "worker", "gateway"):  # the gateway last: the others are waiting by then
            workdir = tmp_path / role
            workdir.mkdir()
            process = await BotProcess.start(role_environment(h, database_url, tmp_path, role), workdir)
            processes[role] = process
            await process.wait_line(f"instance test-{role} runs as {role}")
        await processes["gateway"].wait_line("has connected to Gateway")
        yield h, processes
    finally:
        for process in processes.values():
            if process.proc.returncode is None:
                await process.kill()


async def test_a_job_goes_from_gateway_to_worker_to_listener_and_back(
    roles: tuple[Harness, dict[str, BotProcess]], database_url: str
) -> None:
    h, processes = roles
    _, answer = await motion(h)
    job_id = accepted_id(answer)
    await h.provider.wait_for(lambda: len(h.provider.tasks) == 1, timeout=20)  # submitted by the worker
    [task] = h.provider.tasks.values()
    assert task.callback_url is not None and task.callback_url.startswith(
        f"http://127.0.0.1:{h.webhook_port}/"
    )

    await h.provider.succeed(task.task_id)  # the callback goes to the listener process
    answered = time.monotonic()
    assert h.provider.callback_responses == [200]
    await h.fake.wait_for(lambda: video_posts(h) or None, timeout=20)
    posted = time.monotonic() - answered
    print(f"callback -> post across processes: {posted * 1000:.0f} ms")
    # Well within what the notification allows (download, upload and a loaded machine included).
    assert posted < 10.0, f"posted {posted:.1f}s after the callback"
    await processes["worker"].wait_line(f"job {job_id}: callback reports succeeded")
    for process in processes.values():
        await process.stop()
        assert await asyncio.wait_for(process.proc.wait(), 10) == 0

    assert not any("callback reports" in line for line in processes["listener"].lines)
    assert not any("callback reports" in line for line in processes["gateway"].lines)
    store = PostgresStore(database_url)
    await store.open()
    try:
        job = await store.get_job(job_id)
        assert job is not None and job.status is JobState.DELIVERED
        assert job.settlement is Settlement.CHARGED and job.submit_attempts == 1
        assert job.delivered_message_id == video_posts(h)[0].id
        assert len(video_posts(h)) == 1
    finally:
        await store.close()
