"""`python -m bench.scale`: scale-out on PostgreSQL (issue 14), beside the single process on SQLite, in
one run. Needs a PostgreSQL server (KLINGBOT_TEST_POSTGRES_URL, default postgres@127.0.0.1:5432).

1. Callback ingestion: callbacks acknowledged per second by one `python -m bot` on SQLite (all roles),
   and by 1, 2 and 4 listener processes (BOT_ROLES=listener) on PostgreSQL, the load spread evenly.
2. Callback → video posted, across processes: a gateway, a worker and a listener on PostgreSQL (the
   worker is woken by NOTIFY), beside one process on SQLite.
3. Takeover: a worker is killed (SIGKILL) while it submits five jobs (its provider never answers); the
   time until a second worker has submitted all five, with LEASE_SECONDS=5.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from bench.__main__ import RESULTS, callbacks_to_posts, fire_callbacks, processing_callbacks, wait_http
from bench.__main__ import callback_ingestion as sqlite_ingestion
from bench.__main__ import callback_to_post as sqlite_callback_to_post
from bench.world import Process, World, close_world, make_world, percentile
from db.postgres import PostgresStore
from db.records import NewJob
from tests.db import servers
from tests.fakes.providers.acedata import AceDataFake
from tests.fakes.providers.kling import KlingFake
from tests.harness import free_port
from tests.support.media import make_video

LEASE_SECONDS = 5.0


async def spawn(world: World, env: dict[str, str], name: str, ready: str) -> Process:
    """`python -m bot` with `env`; returns once its log says `ready`."""
    log_path = world.tmp / f"{name}.log"
    out = log_path.open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=world.tmp, env=env, stdout=out, stderr=out
    )
    deadline = time.monotonic() + 60
    while ready not in log_path.read_text(errors="replace"):
        if proc.returncode is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start: see {log_path}")
        await asyncio.sleep(0.05)
    return Process(proc, log_path)


def role_env(world: World, database_url: str, role: str, name: str, **extra: str) -> dict[str, str]:
    webhook_port = int(extra.pop("WEBHOOK_PORT", free_port()))
    env = world.env(webhook_port=webhook_port, callbacks=True, provider=extra.pop("PROVIDER", "kling"))
    env.update(
        BOT_ROLES=role, INSTANCE_ID=name, DATABASE_URL=database_url, MEDIA_DIR=str(world.tmp / "media")
    )
    env.update(extra)
    return env


async def seed(
    database_url: str, jobs: int, *, queued: bool, guild: int | None, channel: int, user: int
) -> list[str]:
    """Jobs written straight into the store: submitted ones (callback tokens returned) or queued ones."""
    store = PostgresStore(database_url)
    await store.open()
    await store.migrate()
    tokens = []
    now = time.time()
    try:
        for index in range(jobs):
            job_id = f"bench{index:05d}"
            token = f"cb-{index:05d}-{os.urandom(8).hex()}"
            job = NewJob(
                id=job_id,
                guild_id=guild,
                channel_id=channel,
                user_id=user + index,  # one member each: the per-member cap does not hold anything back
                kind="text2video",
                params={"prompt": "bench", "model": "kling-v2-6", "mode": "std", "duration": 5},
                provider="kling",
                callback_token=token,
                input_token=None,
                credits=1,
                interaction_token=None,
                interaction_expires_at=None,
                application_id=None,
                created_at=now,
                queued=queued,
            )
            await store.create_job(job, None)
            if not queued:
                await store.mark_submitted(job_id, f"task-{index:05d}", now, now + 3600)
            tokens.append(token)
    finally:
        await store.close()
    return tokens


async def fresh_database() -> str:
    url = servers.server_url()
    database = await servers.create_database(url)
    return database


# ---- 1. ingestion ----------------------------------------------------------------------------


async def postgres_ingestion(
    tmp: Path, listeners: int, jobs: int, callbacks: int, concurrency: int
) -> dict[str, Any]:
    database_url = await fresh_database()
    world = await make_world(tmp / f"ingest-pg-{listeners}", KlingFake(auto=False))
    world.tmp.mkdir(parents=True, exist_ok=True)
    processes: list[Process] = []
    try:
        tokens = await seed(database_url, jobs, queued=False, guild=None, channel=1, user=1)
        ports = [free_port() for _ in range(listeners)]
        for index, port in enumerate(ports):
            env = role_env(world, database_url, "listener", f"listener-{index}", WEBHOOK_PORT=str(port))
            processes.append(await spawn(world, env, f"listener-{index}", "runs as listener"))
            await wait_http(f"http://127.0.0.1:{port}/callbacks/unknown")
        urls = [
            f"http://127.0.0.1:{ports[i % listeners]}/callbacks/{tokens[i % jobs]}" for i in range(callbacks)
        ]
        bodies = processing_callbacks(jobs, callbacks)
        await fire_callbacks(urls[:100], bodies[:100], concurrency)  # warm-up
        rate, latencies = await fire_callbacks(urls, bodies, concurrency)
    finally:
        for process in processes:
            await process.stop()
        await close_world(world)
        await servers.drop_database(servers.server_url(), database_url)
    return {"listeners": listeners, "per_second": round(rate), "p99_ms": round(percentile(latencies, 99), 1)}


# ---- 2. callback → post across processes -----------------------------------------------------


async def postgres_callback_to_post(tmp: Path, rounds: int) -> dict[str, Any]:
    database_url = await fresh_database()
    provider = AceDataFake(auto=False, result_video=make_video(2.0, 320, 240))
    world = await make_world(tmp / "c2p-pg", provider, members=rounds)
    world.tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    common = {"PROVIDER": "acedata", "WEBHOOK_PORT": str(port)}
    processes = [
        await spawn(world, role_env(world, database_url, "listener", "l", **common), "l", "runs as listener"),
        await spawn(world, role_env(world, database_url, "worker", "w", **common), "w", "runs as worker"),
    ]
    processes.append(await world.spawn("bot", role_env(world, database_url, "gateway", "g", **common), "g"))
    try:
        samples = await callbacks_to_posts(world, provider, rounds)
    finally:
        for process in reversed(processes):
            await process.stop()
        await close_world(world)
        await servers.drop_database(servers.server_url(), database_url)
    return {
        "p50_ms": round(percentile(samples, 50), 1),
        "p99_ms": round(percentile(samples, 99), 1),
        "n": len(samples),
    }


# ---- 3. takeover -----------------------------------------------------------------------------


async def silent_provider() -> tuple[web.AppRunner, str]:
    """A provider that takes every request and never answers: the worker sending to it holds its jobs."""

    async def hang(request: web.Request) -> web.Response:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", hang)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


async def takeover(tmp: Path, jobs: int = 5) -> dict[str, Any]:
    database_url = await fresh_database()
    provider = KlingFake(auto=False)
    world = await make_world(tmp / "takeover", provider)
    world.tmp.mkdir(parents=True, exist_ok=True)
    silent, silent_url = await silent_provider()
    extra = {"LEASE_SECONDS": str(LEASE_SECONDS), "PROVIDER_MAX_CONCURRENCY": str(jobs)}
    first = second = None
    try:
        await seed(database_url, 0, queued=True, guild=world.guild.id, channel=world.guild.channel_id, user=1)
        env = role_env(world, database_url, "worker", "w1", KLING_API_BASE=silent_url, **extra)
        first = await spawn(world, env, "w1", "runs as worker")
        await seed(
            database_url, jobs, queued=True, guild=world.guild.id, channel=world.guild.channel_id, user=100
        )
        await wait_for_attempts(database_url, jobs)  # w1 holds every job, waiting on its provider
        second = await spawn(
            world, role_env(world, database_url, "worker", "w2", **extra), "w2", "runs as worker"
        )
        first.proc.kill()
        killed = time.perf_counter()
        await first.proc.wait()
        firsts: list[float] = []

        def submitted() -> bool:
            if provider.tasks and not firsts:
                firsts.append(time.perf_counter() - killed)
            return len(provider.tasks) >= jobs

        await provider.wait_for(submitted, timeout=60)
        taken_over = time.perf_counter() - killed
    finally:
        for process in (first, second):
            if process is not None:
                await process.stop()
        await silent.cleanup()
        await close_world(world)
        await servers.drop_database(servers.server_url(), database_url)
    return {
        "lease_seconds": LEASE_SECONDS,
        "jobs": jobs,
        "first_job_s": round(firsts[0], 2),
        "all_jobs_s": round(taken_over, 2),
        "bound_s": LEASE_SECONDS,  # the lease lapses at most this long after the kill
    }


async def wait_for_attempts(database_url: str, jobs: int) -> None:
    store = PostgresStore(database_url)
    await store.open()
    try:
        deadline = time.monotonic() + 60
        while True:
            rows = await store.database.fetchall("SELECT submit_attempts FROM jobs WHERE submit_attempts > 0")
            if len(rows) >= jobs:
                return
            if time.monotonic() > deadline:
                raise TimeoutError("the first worker did not take the jobs")
            await asyncio.sleep(0.05)
    finally:
        await store.close()


# ---- the run ---------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="klingbot-bench-scale-"))
    single = await sqlite_ingestion(tmp / "sqlite", 200, args.callbacks, 32)
    results: dict[str, Any] = {
        "callback_ingestion": {
            "sqlite_one_process": {
                "per_second": round(single["klingbot"]["per_second"]),
                "p99_ms": round(single["klingbot"]["p99_ms"], 1),
            },
            "postgres_listeners": [
                await postgres_ingestion(tmp, count, 200, args.callbacks, 32) for count in (1, 2, 4)
            ],
            "cores": os.cpu_count(),
        },
    }
    sqlite_c2p = await sqlite_callback_to_post(tmp / "sqlite", args.rounds)
    results["callback_to_post"] = {
        "sqlite_one_process": {k: round(sqlite_c2p[k], 1) for k in ("p50_ms", "p99_ms", "n")},
        "postgres_three_processes": await postgres_callback_to_post(tmp, args.rounds),
    }
    results["takeover"] = await takeover(tmp)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale")
    parser.add_argument("--callbacks", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    results = asyncio.run(run(args))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
