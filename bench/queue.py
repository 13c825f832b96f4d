"""`python -m bench.queue`: a busy server against a provider with few slots (issue 12).

200 jobs from 20 members arrive within 10 seconds; the fake Kling runs 5 at a time (past that it
answers 1303, "parallel task over resource pack limit") and takes 2 s per video. Reported: jobs failed
(goal 0), the most jobs the provider ever saw running (goal 5), the total time beside the ideal
200 / 5 x 2 s, and the longest any member's first job waited in line.

Each member sends 10 jobs, so the bot runs with MAX_QUEUED_PER_USER=10 (the default of 5 would refuse
some at the door, which is the rule working, not what this measures).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.__main__ import RESULTS, video_posts
from bench.world import World, close_world, make_world
from tests.fakes.discord import FakeMessage
from tests.fakes.providers.kling import KlingFake
from tests.harness import free_port
from tests.support.media import make_video


async def send_burst(world: World, jobs: int, spread: float) -> list[str]:
    """`jobs` /video text commands, member after member, evenly over `spread` seconds; the answers."""
    fake, members = world.fake, world.members
    started = time.monotonic()

    async def one(index: int) -> str:
        await asyncio.sleep(max(0.0, started + index * spread / jobs - time.monotonic()))
        handle = await fake.send_slash_command(
            "video",
            {"prompt": f"a harbour at dusk, take {index}"},
            subcommand="text",
            user_id=members[index % len(members)],
            guild_id=world.guild.id,
            channel_id=world.guild.channel_id,
        )

        def answered() -> FakeMessage | None:
            original = handle.original()
            return original if original is not None and not original.loading else None

        return str((await fake.wait_for(answered, 60)).content)

    return list(await asyncio.gather(*(one(i) for i in range(jobs))))


def first_job_waits(db_path: Path) -> list[float]:
    """Per member: how long their first job waited between acceptance and leaving the line."""
    with sqlite3.connect(db_path) as db:
        rows = db.execute(
            "SELECT user_id, created_at, claimed_at FROM jobs WHERE claimed_at IS NOT NULL"
            " ORDER BY user_id, line_ticket"
        ).fetchall()
    first: dict[int, float] = {}
    for user_id, created_at, claimed_at in rows:
        first.setdefault(user_id, claimed_at - created_at)
    return list(first.values())


def outcomes(db_path: Path) -> dict[str, int]:
    with sqlite3.connect(db_path) as db:
        return dict(db.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status").fetchall())


async def busy_server(tmp: Path, jobs: int = 200, members: int = 20, spread: float = 10.0) -> dict[str, Any]:
    slots, seconds = 5, 2.0
    provider = KlingFake(max_running=slots, work_seconds=seconds, result_video=make_video(1.0, 64, 64))
    world = await make_world(tmp / "queue", provider, members=members)
    world.tmp.mkdir(parents=True, exist_ok=True)
    env = world.env(
        webhook_port=free_port(),
        callbacks=True,
        provider="kling",
        PROVIDER_MAX_CONCURRENCY=str(slots),
        MAX_QUEUED_PER_USER=str(jobs // members),
        LOG_LEVEL="WARNING",
    )
    process = await world.spawn("bot", env, "queue")
    channel = world.guild.channel_id
    try:
        began = time.monotonic()
        answers = await send_burst(world, jobs, spread)
        accepted = sum("accepted" in text for text in answers)
        db_path = world.tmp / "bot.db"

        def finished() -> bool:
            counts = outcomes(db_path)
            return counts.get("delivered", 0) + counts.get("failed", 0) >= accepted

        await world.fake.wait_for(
            lambda: video_posts(world.fake, channel) >= accepted or finished() or None, 600
        )
        total = time.monotonic() - began
    finally:
        await process.stop()
        await close_world(world)
    counts = outcomes(db_path)
    waits = first_job_waits(db_path)
    ideal = jobs / slots * seconds
    return {
        "jobs": jobs,
        "members": members,
        "accepted": accepted,
        "failed": counts.get("failed", 0),
        "delivered": counts.get("delivered", 0),
        "provider_peak_running": provider.peak_running,
        "provider_refused_full": provider.refused_full,
        "total_s": round(total, 1),
        "ideal_s": ideal,
        "total_over_ideal": round(total / ideal, 2),
        "longest_first_job_wait_s": round(max(waits), 1) if waits else None,
        "met": counts.get("failed", 0) == 0 and provider.peak_running <= slots and accepted == jobs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.queue")
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--spread", type=float, default=10.0, help="seconds over which the jobs arrive")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="klingbot-bench-queue-"))
    result = asyncio.run(busy_server(tmp, args.jobs, args.members, args.spread))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "queue.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
