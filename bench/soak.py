"""The soak: thousands of jobs through the real bot process with a short retention, and what the process
and its folder hold at the start, the middle and the end. Memory and disk must level off, not grow with
the number of jobs."""

from __future__ import annotations

import asyncio
import re
import time
from functools import partial
from pathlib import Path
from typing import Any

from bench.world import World, close_world, make_world, open_files, proc_status
from bot.jobs.inputs import folder_bytes
from tests.fakes.discord import FakeDiscord, InteractionHandle
from tests.fakes.providers.acedata import AceDataFake
from tests.harness import free_port
from tests.support.media import make_image, make_video

RESULT_POST = re.compile(r"^/(channels/\d+/messages|webhooks/\d+/[^/]+)$")
OUTSTANDING = 40  # jobs sent and not yet posted, at most
RETENTION_SECONDS = 2.0
MOTION_EVERY = 4  # every fourth job is /motion, whose inputs the media folder keeps
MIB = 1024 * 1024
CHECKPOINTS = (("quarter", 0.25), ("middle", 0.5), ("three_quarters", 0.75))


class PostedVideos:
    """How many videos the bot has posted, counted from the fake's new calls only (never rescanned)."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.seen = 0
        self.posted = 0

    def __call__(self) -> int:
        calls = self.fake.calls
        for call in calls[self.seen :]:
            if call.method == "POST" and call.files and RESULT_POST.search(call.path):
                self.posted += 1
        self.seen = len(calls)
        return self.posted


def room_for(posted: PostedVideos, index: int) -> bool:
    return posted() >= index - OUTSTANDING


def reached(posted: PostedVideos, count: int) -> bool:
    return posted() >= count


def figures(world: World, pid: int, jobs_posted: int) -> dict[str, Any]:
    db, wal = world.tmp / "bot.db", world.tmp / "bot.db-wal"
    return {
        "jobs_posted": jobs_posted,
        "rss_mb": proc_status(pid, "VmRSS") / MIB,
        "peak_rss_mb": proc_status(pid, "VmHWM") / MIB,
        "media_bytes": folder_bytes(world.tmp / "media"),
        "db_bytes": db.stat().st_size if db.exists() else 0,
        "wal_bytes": wal.stat().st_size if wal.exists() else 0,  # SQLite's log, folded back every ~4 MB
        "open_fds": open_files(pid),
    }


async def send_job(world: World, index: int, image: bytes, video: bytes) -> None:
    fake, guild = world.fake, world.guild
    if index % MOTION_EVERY == 0:
        handle = await fake.send_slash_command(
            "motion",
            {"prompt": f"dance {index}"},
            attachments={"image": ("me.png", image, "image/png"), "video": ("move.mp4", video, "video/mp4")},
            user_id=guild.member_id,
            guild_id=guild.id,
            channel_id=guild.channel_id,
        )
    else:
        handle = await fake.send_slash_command(
            "video",
            {"prompt": f"a fox, take {index}"},
            subcommand="text",
            user_id=guild.member_id,
            guild_id=guild.id,
            channel_id=guild.channel_id,
        )
    content = await answer(fake, handle)
    if "accepted" not in content:
        raise RuntimeError(f"job {index} was not accepted: {content!r}")


async def answer(fake: FakeDiscord, handle: InteractionHandle) -> str:
    """The interaction's answer once the deferred reply has been edited."""

    def done() -> bool:
        original = handle.original()
        return original is not None and not original.loading

    await fake.wait_for(done, timeout=300)
    original = handle.original()
    return original.content if original is not None else ""


async def soak(tmp: Path, jobs: int, concurrency: int = 8) -> dict[str, Any]:
    provider = AceDataFake(result_video=make_video(1.0, 64, 64))  # finishes each job by itself
    world = await make_world(tmp / f"soak-{jobs}", provider)
    world.tmp.mkdir(parents=True, exist_ok=True)
    env = world.env(
        webhook_port=free_port(),
        callbacks=True,
        provider="acedata",
        MEDIA_RETENTION_SECONDS=str(RETENTION_SECONDS),
        CALLBACK_RETENTION_DAYS=str(RETENTION_SECONDS / 86400),
        AUDIT_RETENTION_DAYS=str(RETENTION_SECONDS / 86400),
        MAX_JOBS_IN_FLIGHT_PER_USER="100",
        LOG_LEVEL="WARNING",
    )
    process = await world.spawn("bot", env, f"soak-{jobs}")
    image, video = make_image(512, 512), make_video(4.0, 360, 640)
    posted = PostedVideos(world.fake)
    points: dict[str, Any] = {"start": figures(world, process.pid, 0)}
    started = time.perf_counter()
    try:
        next_index = 0

        async def worker() -> None:
            nonlocal next_index
            while next_index < jobs:
                index, next_index = next_index, next_index + 1
                await world.fake.wait_for(partial(room_for, posted, index), timeout=300)
                await send_job(world, index, image, video)

        async def checkpoint(name: str, share: float) -> None:
            await world.fake.wait_for(partial(reached, posted, int(jobs * share)), timeout=1800)
            points[name] = figures(world, process.pid, posted())

        marks = [checkpoint(name, share) for name, share in CHECKPOINTS]
        await asyncio.gather(*marks, *(worker() for _ in range(concurrency)))
        await world.fake.wait_for(lambda: posted() >= jobs, timeout=600)
        elapsed = time.perf_counter() - started
        points["all_posted"] = figures(world, process.pid, posted())
        await asyncio.sleep(RETENTION_SECONDS + 1.5)  # one retention period later: what stays
        points["end"] = figures(world, process.pid, posted())
    finally:
        await process.stop()
        await close_world(world)
    return {"jobs": jobs, "seconds": elapsed, "jobs_per_second": jobs / elapsed, **points}


async def soak_series(tmp: Path, small: int, large: int) -> dict[str, Any]:
    return {
        "small": await soak(tmp, small),
        "large": await soak(tmp, large),
        "retention_seconds": RETENTION_SECONDS,
    }


def soak_rows(series: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for size in ("small", "large"):
        run = series[size]
        for point in ("start", *(name for name, _ in CHECKPOINTS), "all_posted", "end"):
            f = run[point]
            rows.append(
                (
                    f"soak {run['jobs']} jobs, {point} ({f['jobs_posted']} posted)",
                    f"RSS {f['rss_mb']:.0f} MB (peak {f['peak_rss_mb']:.0f})",
                    f"media {f['media_bytes'] / MIB:.1f} MiB, db {f['db_bytes'] / MIB:.1f}"
                    f" + wal {f['wal_bytes'] / MIB:.1f} MiB",
                    f"{f['open_fds']} fds",
                    "-",
                )
            )
    return rows
