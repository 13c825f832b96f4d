"""`python -m bench`: the figures of issue 7, each beside a baseline measured in the same run.

The bot runs as a real `python -m bot` process; the fake Discord and the fake provider run here, on
loopback. Results go to bench/results/latest.json and are printed as a table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp

from bench.burst import burst, burst_rows
from bench.soak import soak_rows, soak_series
from bench.world import World, close_world, make_world, percentile, proc_status, reset_peak_rss
from db.records import NewJob
from db.sqlite import SqliteStore
from tests.fakes.discord import FakeDiscord
from tests.fakes.providers.acedata import AceDataFake
from tests.fakes.providers.common import FakeProvider
from tests.fakes.providers.kling import KlingFake
from tests.harness import free_port
from tests.support.media import make_image, make_video

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


async def wait_http(url: str, limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url) as resp:
                    if resp.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(url)
            await asyncio.sleep(0.05)


# ---- 1. defer latency ------------------------------------------------------------------------


async def burst_of_motion_commands(world: World, count: int) -> list[float]:
    image = make_image(512, 512)
    video = make_video(4.0)
    fake = world.fake

    async def one(member: int) -> float:
        handle = await fake.send_slash_command(
            "motion",
            {"prompt": "dance"},
            attachments={
                "image": ("char.png", image, "image/png"),
                "video": ("dance.mp4", video, "video/mp4"),
            },
            user_id=member,
            guild_id=world.guild.id,
            channel_id=world.guild.channel_id,
        )
        await handle.response(timeout=30)
        answered = time.time()
        sent = next(
            f.at for f in fake.frames_of("INTERACTION_CREATE") if str(f.d.get("id")) == str(handle.id)
        )
        return (answered - sent) * 1000

    return list(await asyncio.gather(*(one(m) for m in world.members[:count])))


async def defer_latency(tmp: Path, count: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, module in (("baseline", "bench.bare_bot"), ("klingbot", "bot")):
        world = await make_world(tmp / f"defer-{name}", AceDataFake(auto=False), members=count)
        world.tmp.mkdir(parents=True, exist_ok=True)
        process = await world.spawn(
            module, world.env(webhook_port=free_port(), callbacks=True, provider="acedata"), name
        )
        try:
            await burst_of_motion_commands(world, min(5, count))  # warm-up: first-command imports
            samples = await burst_of_motion_commands(world, count)
        finally:
            await process.stop()
            await close_world(world)
        results[name] = {
            "p50_ms": percentile(samples, 50),
            "p99_ms": percentile(samples, 99),
            "n": len(samples),
        }
    results["ratio_p99"] = results["klingbot"]["p99_ms"] / results["baseline"]["p99_ms"]
    results["target"] = "p99 <= 1.5 x baseline"
    results["met"] = results["ratio_p99"] <= 1.5
    return results


# ---- 2. callback ingestion -------------------------------------------------------------------


def seed_jobs(db_path: Path, count: int, provider: str, *, state: str = "submitted") -> list[str]:
    """Jobs in flight written straight into the store, as a previous process would have left them."""

    async def seed() -> list[str]:
        store = SqliteStore(db_path)
        await store.open()
        await store.migrate()
        tokens = []
        now = time.time()
        for index in range(count):
            job_id = f"bench{index:05d}"
            token = f"cb-{index:05d}-{os.urandom(8).hex()}"
            await store.create_job(
                NewJob(
                    id=job_id,
                    guild_id=None,
                    channel_id=1,
                    user_id=1,
                    kind="text2video",
                    params={"prompt": "bench"},
                    provider=provider,
                    callback_token=token,
                    input_token=None,
                    credits=1,
                    interaction_token=None,
                    interaction_expires_at=None,
                    application_id=None,
                    created_at=now,
                ),
                None,
            )
            await store.mark_submitted(job_id, f"task-{index:05d}", now, now + 3600)
            tokens.append(token)
        await store.close()
        return tokens

    return _run_sync(seed)


def _run_sync(factory: Callable[[], Awaitable[list[str]]]) -> list[str]:
    # Seeding runs inside the benchmark's event loop; a worker thread gives it its own loop.
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()  # type: ignore[arg-type]


async def fire_callbacks(urls: list[str], bodies: list[bytes], concurrency: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(len(urls)):
        queue.put_nowait(index)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while not queue.empty():
                index = queue.get_nowait()
                started = time.perf_counter()
                async with session.post(
                    urls[index], data=bodies[index], headers={"Content-Type": "application/json"}
                ) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"callback answered {resp.status}")
                latencies.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return len(urls) / elapsed, latencies


def processing_callbacks(jobs: int, callbacks: int) -> list[bytes]:
    """Official-Kling-style "processing" callbacks, one per status change, for jobs task-00000, …"""
    return [
        json.dumps(
            {
                "task_id": f"task-{i % jobs:05d}",
                "task_status": "processing",
                "task_status_msg": "",
                "created_at": 1,
                "updated_at": 2,
            }
        ).encode()
        for i in range(callbacks)
    ]


async def callback_ingestion(tmp: Path, jobs: int, callbacks: int, concurrency: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    # Baseline: the bare handler.
    port = free_port()
    bare = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.bare_http",
        str(port),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    body = json.dumps({"task_id": "t", "task_status": "processing", "task_status_msg": ""}).encode()
    try:
        await wait_http(f"http://127.0.0.1:{port}/healthz")
        urls = [f"http://127.0.0.1:{port}/callbacks/x{i % jobs}" for i in range(callbacks)]
        rate, lat = await fire_callbacks(urls, [body] * callbacks, concurrency)
        results["baseline"] = {"per_second": rate, "p99_ms": percentile(lat, 99)}
    finally:
        bare.terminate()
        await bare.wait()
    # klingbot: official-Kling-style "processing" callbacks (one per status change) for known jobs.
    world = await make_world(tmp / "ingest", KlingFake(auto=False))
    world.tmp.mkdir(parents=True, exist_ok=True)
    tokens = seed_jobs(world.tmp / "bot.db", jobs, "kling")
    port = free_port()
    process = await world.spawn(
        "bot", world.env(webhook_port=port, callbacks=True, provider="kling"), "ingest"
    )
    try:
        urls = [f"http://127.0.0.1:{port}/callbacks/{tokens[i % jobs]}" for i in range(callbacks)]
        bodies = processing_callbacks(jobs, callbacks)
        await fire_callbacks(urls[:100], bodies[:100], concurrency)  # warm-up
        rate, lat = await fire_callbacks(urls, bodies, concurrency)
        results["klingbot"] = {"per_second": rate, "p99_ms": percentile(lat, 99)}
    finally:
        await process.stop()
        await close_world(world)
    results["ratio_rate"] = results["klingbot"]["per_second"] / results["baseline"]["per_second"]
    results["target"] = ">= 0.5 x baseline rate"
    results["met"] = results["ratio_rate"] >= 0.5
    results["concurrency"] = concurrency
    return results


# ---- 3. callback → posted --------------------------------------------------------------------


def video_posts(fake: FakeDiscord, channel_id: int) -> int:
    return len([m for m in fake.messages_in(channel_id) if m.attachments])


def more_tasks(provider: FakeProvider, before: int) -> bool:
    return len(provider.tasks) > before


def more_posts(fake: FakeDiscord, channel_id: int, before: int) -> bool:
    return video_posts(fake, channel_id) > before


async def callbacks_to_posts(world: World, provider: FakeProvider, rounds: int) -> list[float]:
    """/video text from each of `rounds` members; the milliseconds from each callback to its post."""
    samples = []
    fake = world.fake
    for member in world.members[:rounds]:
        before = len(provider.tasks)
        await fake.send_slash_command(
            "video",
            {"prompt": "a lighthouse at dusk"},
            subcommand="text",
            user_id=member,
            guild_id=world.guild.id,
            channel_id=world.guild.channel_id,
        )
        await provider.wait_for(partial(more_tasks, provider, before), timeout=30)
        task = list(provider.tasks.values())[-1]
        posted = video_posts(fake, world.guild.channel_id)
        started = time.perf_counter()
        await provider.succeed(task.task_id)  # sends the callback
        await fake.wait_for(partial(more_posts, fake, world.guild.channel_id, posted), timeout=30)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def callback_to_post(tmp: Path, rounds: int) -> dict[str, Any]:
    provider = AceDataFake(auto=False, result_video=make_video(2.0, 320, 240))
    world = await make_world(tmp / "c2p", provider, members=rounds)
    world.tmp.mkdir(parents=True, exist_ok=True)
    process = await world.spawn(
        "bot", world.env(webhook_port=free_port(), callbacks=True, provider="acedata"), "c2p"
    )
    try:
        samples = await callbacks_to_posts(world, provider, rounds)
    finally:
        await process.stop()
        await close_world(world)
    return {
        "p50_ms": percentile(samples, 50),
        "p99_ms": percentile(samples, 99),
        "n": len(samples),
        "target": "p50 <= 50 ms",
        "met": percentile(samples, 50) <= 50,
    }


# ---- 4 and 6. memory -------------------------------------------------------------------------


async def memory(tmp: Path, megabytes: int) -> dict[str, Any]:
    big = make_video(4.0, 64, 64)
    big = big + os.urandom(megabytes * 1024 * 1024 - len(big))  # a ~95 MB file: only its size matters here
    provider = AceDataFake(auto=False, result_video=big)
    world = await make_world(tmp / "mem", provider, tier=3)
    world.tmp.mkdir(parents=True, exist_ok=True)
    process = await world.spawn(
        "bot", world.env(webhook_port=free_port(), callbacks=True, provider="acedata"), "mem"
    )
    fake = world.fake
    try:
        await asyncio.sleep(2.0)  # settle: the figure is the idle footprint after start-up
        idle = proc_status(process.pid, "VmRSS")
        await fake.send_slash_command(
            "video",
            {"prompt": "big"},
            subcommand="text",
            user_id=world.guild.member_id,
            guild_id=world.guild.id,
            channel_id=world.guild.channel_id,
        )
        await provider.wait_for(lambda: len(provider.tasks) == 1, timeout=30)
        task = next(iter(provider.tasks.values()))
        reset_peak_rss(process.pid)
        baseline_hwm = proc_status(process.pid, "VmHWM")
        await provider.succeed(task.task_id)
        await fake.wait_for(
            lambda: any(m.attachments for m in fake.messages_in(world.guild.channel_id)), timeout=120
        )
        peak = proc_status(process.pid, "VmHWM")
        uploaded = (
            next(m for m in fake.messages_in(world.guild.channel_id) if m.attachments).attachments[0].size
        )
    finally:
        await process.stop()
        await close_world(world)
    growth = peak - max(idle, baseline_hwm)
    return {
        "idle_rss_mb": idle / 1048576,
        "idle_target": "<= 120 MB",
        "idle_met": idle / 1048576 <= 120,
        "delivery_peak_growth_mb": growth / 1048576,
        "uploaded_mb": uploaded / 1048576,
        "growth_target": "<= 32 MB",
        "growth_met": growth / 1048576 <= 32,
    }


# ---- 5. restart with many jobs in flight -------------------------------------------------------


async def restart_recovery(tmp: Path, jobs: int, window: float) -> dict[str, Any]:
    provider = KlingFake(auto=False)
    world = await make_world(tmp / "restart", provider)
    world.tmp.mkdir(parents=True, exist_ok=True)
    seed_jobs(world.tmp / "bot.db", jobs, "kling")
    for index in range(jobs):  # the provider knows every task, still running
        from tests.fakes.providers.common import FakeTask

        provider.tasks[f"task-{index:05d}"] = FakeTask(
            f"task-{index:05d}", "text2video", {}, None, state="processing"
        )
    max_rate = 5.0
    env = world.env(webhook_port=free_port(), callbacks=False, provider="kling", POLL_INTERVAL_SECONDS="1")
    launched = time.time()
    process = await world.spawn("bot", env, "restart")
    try:
        log: list[dict[str, Any]] = []
        while not any("recovered" in e.get("message", "") for e in log):
            await asyncio.sleep(0.05)
            log = process.log()
        recovered_line = next(e for e in log if "recovered" in e.get("message", ""))
        started_line = next(e for e in log if "webhook listener" in e.get("message", ""))
        # Polling rate over a window once recovery is done.
        before = len(provider.requests_to("/v1/videos", "GET"))
        await asyncio.sleep(window)
        after = len(provider.requests_to("/v1/videos", "GET"))
    finally:
        await process.stop()
        await close_world(world)
    from datetime import datetime

    def stamp(entry: dict[str, Any]) -> float:
        return datetime.fromisoformat(entry["time"]).timestamp()

    tracked = stamp(recovered_line) - stamp(started_line)
    rate = (after - before) / window
    return {
        "jobs": jobs,
        "time_to_track_all_s": tracked,
        "process_start_to_tracked_s": stamp(recovered_line) - launched,
        "poll_requests_per_second": rate,
        "configured_bound_per_second": max_rate,
        "target": "<= 2 s; rate within bound",
        "met": tracked <= 2.0 and rate <= max_rate * 1.05,
    }


# ---- the table -------------------------------------------------------------------------------


def table(results: dict[str, Any]) -> str:
    d, c, p, m, r = (
        results.get(k, {})
        for k in ("defer_latency", "callback_ingestion", "callback_to_post", "memory", "restart_recovery")
    )
    rows = [("figure", "klingbot", "baseline", "ratio / target", "met")]
    if d:
        rows.append(
            (
                "defer p50 / p99 (100 concurrent /motion)",
                f"{d['klingbot']['p50_ms']:.1f} / {d['klingbot']['p99_ms']:.1f} ms",
                f"{d['baseline']['p50_ms']:.1f} / {d['baseline']['p99_ms']:.1f} ms",
                f"{d['ratio_p99']:.2f}x (<= 1.5x)",
                str(d["met"]),
            )
        )
    if c:
        rows.append(
            (
                f"callbacks acknowledged/s, p99 (concurrency {c['concurrency']})",
                f"{c['klingbot']['per_second']:.0f}/s, {c['klingbot']['p99_ms']:.1f} ms",
                f"{c['baseline']['per_second']:.0f}/s, {c['baseline']['p99_ms']:.1f} ms",
                f"{c['ratio_rate']:.2f}x (>= 0.5x)",
                str(c["met"]),
            )
        )
    if p:
        rows.append(
            (
                "callback -> video posted p50 / p99 (small video)",
                f"{p['p50_ms']:.1f} / {p['p99_ms']:.1f} ms",
                "-",
                "p50 <= 50 ms",
                str(p["met"]),
            )
        )
    if m:
        rows.append(
            (
                f"peak RSS growth delivering {m['uploaded_mb']:.0f} MB (tier 3)",
                f"{m['delivery_peak_growth_mb']:.1f} MB",
                f"idle {m['idle_rss_mb']:.1f} MB",
                "<= 32 MB",
                str(m["growth_met"]),
            )
        )
        rows.append(
            ("idle RSS after start-up", f"{m['idle_rss_mb']:.1f} MB", "-", "<= 120 MB", str(m["idle_met"]))
        )
    if r:
        rows.append(
            (
                f"restart with {r['jobs']} jobs: time to track all",
                f"{r['time_to_track_all_s']:.2f} s",
                "-",
                "<= 2 s",
                str(r["time_to_track_all_s"] <= 2),
            )
        )
        rows.append(
            (
                "  then provider polls per second",
                f"{r['poll_requests_per_second']:.2f}/s",
                "-",
                f"<= {r['configured_bound_per_second']:.0f}/s",
                str(r["met"]),
            )
        )
    if "soak" in results:
        rows.extend(soak_rows(results["soak"]))
    if "burst" in results:
        rows.extend(burst_rows(results["burst"]))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = [" | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="klingbot-bench-"))
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "sqlite": sqlite3.sqlite_version,
        },
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    steps: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = {
        "defer_latency": lambda: defer_latency(tmp, args.burst),
        "callback_ingestion": lambda: callback_ingestion(tmp, 200, args.callbacks, 32),
        "callback_to_post": lambda: callback_to_post(tmp, args.rounds),
        "memory": lambda: memory(tmp, args.big_mb),
        "restart_recovery": lambda: restart_recovery(tmp, args.jobs, args.window),
        "soak": lambda: soak_series(tmp, args.soak_small, args.soak_jobs),
        "burst": lambda: burst(tmp, args.burst_count, args.burst_mb * 1_000_000),
    }
    for name, step in steps.items():
        if args.only and name not in args.only:
            continue
        print(f"running {name} …", file=sys.stderr, flush=True)
        results[name] = await step()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", nargs="*", help="run only these figures")
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument("--callbacks", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--big-mb", type=int, default=95)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--window", type=float, default=5.0)
    parser.add_argument("--soak-jobs", type=int, default=2000)
    parser.add_argument("--soak-small", type=int, default=200, help="the soak's comparison run")
    parser.add_argument("--burst-count", type=int, default=100)
    parser.add_argument("--burst-mb", type=int, default=20, help="each burst command's reference video")
    args = parser.parse_args()
    results = asyncio.run(run(args))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2))
    print(table(results))


if __name__ == "__main__":
    main()
