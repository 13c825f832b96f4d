"""The benchmarks' world: the fake Discord and a fake provider on loopback, and the bot as a real
`python -m bot` process pointed at them, with what /proc says about that process."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakes.discord import FakeDiscord
from tests.fakes.providers.common import FakeProvider
from tests.harness import Guild, build_world

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def proc_status(pid: int, field_name: str) -> int:
    """A /proc/<pid>/status field in bytes (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field_name)


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def reset_peak_rss(pid: int) -> None:
    # Writing 5 to clear_refs resets VmHWM (Linux ≥ 4.0), so the next peak is this phase's own.
    Path(f"/proc/{pid}/clear_refs").write_text("5")


@dataclass
class Process:
    proc: asyncio.subprocess.Process
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 20)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    def log(self) -> list[dict[str, Any]]:
        entries = []
        for line in self.log_path.read_text().splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue
        return entries


@dataclass
class World:
    fake: FakeDiscord
    guild: Guild
    provider: FakeProvider
    tmp: Path
    members: list[int] = field(default_factory=list)

    def env(self, *, webhook_port: int, callbacks: bool, provider: str, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "KLING_", "KIE_"))}
        env.update(
            PYTHONPATH=str(ROOT),
            DISCORD_TOKEN=self.fake.bot_token,
            DISCORD_API_BASE=self.fake.api_base,
            DISCORD_GATEWAY_URL=self.fake.gateway_url,
            DEV_GUILD_ID=str(self.guild.id),
            KLING_PROVIDER=provider,
            KLING_API_KEY=getattr(self.provider, "api_key", "key"),
            KLING_ACCESS_KEY=getattr(self.provider, "access_key", "AK"),
            KLING_SECRET_KEY=getattr(self.provider, "secret_key", "SK"),
            KLING_API_BASE=self.provider.base_url,
            DATABASE_URL=f"sqlite:///{self.tmp / 'bot.db'}",
            WEBHOOK_HOST="127.0.0.1",
            WEBHOOK_PORT=str(webhook_port),
            OPS_PORT="0",
            LOG_FORMAT="json",
            LOG_LEVEL="INFO",
            POLL_INTERVAL_SECONDS="15",
        )
        if callbacks:
            env["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{webhook_port}"
        env.update(extra)
        return env

    async def spawn(self, module: str, env: dict[str, str], name: str) -> Process:
        log_path = self.tmp / f"{name}.log"
        out = log_path.open("wb")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", module, cwd=self.tmp, env=env, stdout=out, stderr=out
        )
        self.fake.guild_commands.pop(self.guild.id, None)
        identified = self.fake.identify_count
        await self.fake.wait_for(lambda: self.fake.guild_commands.get(self.guild.id), timeout=60)
        await self.fake.wait_for_identify(count=identified + 1, timeout=60)
        return Process(proc, log_path)


async def make_world(
    tmp: Path, provider: FakeProvider, *, tier: int = 0, members: int = 0, fake: FakeDiscord | None = None
) -> World:
    fake = await (fake or FakeDiscord()).start()
    guild = build_world(fake)
    fake.set_premium_tier(guild.id, tier)
    await provider.start()
    world = World(fake, guild, provider, tmp)
    for index in range(members):
        world.members.append(fake.add_member(guild.id, username=f"m{index}").user_id)
    return world


async def close_world(world: World) -> None:
    await world.provider.stop()
    await world.fake.stop()
