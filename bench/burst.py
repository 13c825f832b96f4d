"""The burst: 100 /motion at once, each with a 20 MB reference video, first from one member whose credits
are used up (refused before any download), then from members with credits (downloaded, probed, kept).
What the bot downloaded, and how late its gateway heartbeats were while it happened."""

from __future__ import annotations

import asyncio
import itertools
import struct
import time
from pathlib import Path
from typing import Any

from bench.soak import answer
from bench.world import World, close_world, make_world, percentile
from db.records import QuotaLimit
from db.sqlite import SqliteStore
from tests.fakes.discord import FakeDiscord, Opt
from tests.fakes.discord.interactions import ATTACHMENT
from tests.fakes.providers.acedata import AceDataFake
from tests.harness import free_port
from tests.support.media import make_image, make_video

HEARTBEAT_MS = 100  # the fake gateway asks for a heartbeat this often, so a burst sees many
HEARTBEAT_OP = 1
MIN_WINDOW = 3.0  # seconds of heartbeats looked at, however quickly the burst is answered
CDN_PATH = "/ephemeral-attachments/"


def padded_video(size: int) -> bytes:
    """A valid 4-second MP4 grown to `size` bytes with a top-level `free` box (players skip it)."""
    video = make_video(4.0, 360, 640)
    pad = size - len(video) - 8
    return video + struct.pack(">I", pad + 8) + b"free" + bytes(pad)


async def use_up_credits(db_path: Path, guild_id: int, user_id: int) -> None:
    store = SqliteStore(db_path)
    await store.open()
    try:
        await store.migrate()
        await store.set_quota_limit(QuotaLimit(guild_id, "user", user_id, 0, "day"), time.time())
    finally:
        await store.close()


def heartbeat_delays(fake: FakeDiscord, start: float, end: float) -> list[float]:
    """How much later than asked each heartbeat arrived (ms): the gap between heartbeats beyond the
    interval is the time the bot's event loop took to get to sending it."""
    arrivals = [f.at for f in fake.frames if f.direction == "received" and f.op == HEARTBEAT_OP]
    window = [at for at in arrivals if start <= at <= end]
    return [max(0.0, (b - a) * 1000 - HEARTBEAT_MS) for a, b in itertools.pairwise(window)]


def downloaded(fake: FakeDiscord, after: int) -> tuple[int, int]:
    """(requests, bytes) the CDN served since call `after`."""
    hits = [
        c for c in fake.calls[after:] if c.method == "GET" and c.path.startswith(CDN_PATH) and c.status == 200
    ]
    sizes = [fake.attachments[int(c.path.split("/")[3])].size for c in hits]
    return len(hits), sum(sizes)


async def one_burst(tmp: Path, name: str, count: int, size: int, *, with_credits: bool) -> dict[str, Any]:
    fake = FakeDiscord(heartbeat_interval_ms=HEARTBEAT_MS)
    world: World = await make_world(tmp / f"burst-{name}", AceDataFake(auto=False), members=count, fake=fake)
    world.tmp.mkdir(parents=True, exist_ok=True)
    senders = world.members if with_credits else [world.guild.member_id] * count
    if not with_credits:
        await asyncio.to_thread(
            asyncio.run, use_up_credits(world.tmp / "bot.db", world.guild.id, world.guild.member_id)
        )
    # The same two attachments for every command: what matters is how many bytes the bot fetches.
    image = int(fake.add_attachment("me.png", make_image(512, 512), "image/png")["id"])
    video = int(fake.add_attachment("move.mp4", padded_video(size), "video/mp4")["id"])
    env = world.env(webhook_port=free_port(), callbacks=True, provider="acedata", LOG_LEVEL="WARNING")
    process = await world.spawn("bot", env, f"burst-{name}")
    try:
        await asyncio.sleep(1.0)  # settle after start-up
        mark = len(fake.calls)
        start = time.time()
        handles = await asyncio.gather(
            *(
                fake.send_slash_command(
                    "motion",
                    {"image": Opt(ATTACHMENT, image), "video": Opt(ATTACHMENT, video)},
                    user_id=member,
                    guild_id=world.guild.id,
                    channel_id=world.guild.channel_id,
                )
                for member in senders
            )
        )
        answers = await asyncio.gather(*(answer(fake, handle) for handle in handles))
        answered = time.time()
        await asyncio.sleep(max(0.0, start + MIN_WINDOW - time.time()))
        delays = heartbeat_delays(fake, start, max(answered, start + MIN_WINDOW))
        requests, bytes_read = downloaded(fake, mark)
    finally:
        await process.stop()
        await close_world(world)
    return {
        "commands": count,
        "reference_mb": size / 1_000_000,
        "accepted": sum("accepted" in a for a in answers),
        "refused_for_credits": sum("costs at least" in a for a in answers),
        "seconds_to_answer_all": answered - start,
        "cdn_requests": requests,
        "attachment_bytes_downloaded": bytes_read,
        "heartbeats": len(delays) + 1,
        "heartbeat_delay_ms": {
            "p50": percentile(delays, 50),
            "p99": percentile(delays, 99),
            "max": max(delays, default=float("nan")),
        },
    }


async def burst(tmp: Path, count: int, size: int) -> dict[str, Any]:
    return {
        "no_credits": await one_burst(tmp, "no-credits", count, size, with_credits=False),
        "with_credits": await one_burst(tmp, "with-credits", count, size, with_credits=True),
        "heartbeat_interval_ms": HEARTBEAT_MS,
    }


def burst_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    none, some = results["no_credits"], results["with_credits"]
    mb = none["reference_mb"]
    return [
        (
            f"burst: {none['commands']} /motion, {mb:.0f} MB each: bytes downloaded",
            f"{none['attachment_bytes_downloaded']:,} (no credits)",
            f"{some['attachment_bytes_downloaded']:,} (with credits)",
            "none when out of credits",
            str(none["attachment_bytes_downloaded"] == 0),
        ),
        (
            "  heartbeat delay p50 / p99 / max",
            "{p50:.1f} / {p99:.1f} / {max:.1f} ms".format(**none["heartbeat_delay_ms"]),
            "{p50:.1f} / {p99:.1f} / {max:.1f} ms".format(**some["heartbeat_delay_ms"]),
            f"answered all in {none['seconds_to_answer_all']:.1f} s vs {some['seconds_to_answer_all']:.1f} s",
            "-",
        ),
    ]
