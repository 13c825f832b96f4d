"""Scale-out on PostgreSQL, with real processes: two gateway shards, two workers and two listeners (behind
a round-robin balancer) share one database. 100 jobs across four servers, and four times a random process
is killed with SIGKILL while jobs are in flight and started again (under a new INSTANCE_ID, so its work is
taken over when its leases lapse). Every job is submitted once, posted once and charged once, and the
provider never runs more jobs than its slots."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from db.postgres import PostgresStore
from db.records import JobState, Settlement
from tests.bot.jobs.test_recovery import REPO_ROOT, BotProcess
from tests.cogs import make_video
from tests.db import servers
from tests.fakes.discord import FakeDiscord, FakeMessage
from tests.fakes.providers.kling import KlingFake
from tests.harness import Harness, build_world, free_port
from tests.support.balancer import Balancer

SHARDS = 2
GUILDS_PER_SHARD = 2
MEMBERS = 5  # per server
JOBS_PER_MEMBER = 5  # 2 x 2 x 5 x 5 = 100 jobs
SLOTS = 4
KILLS_AFTER = (10, 25, 40, 55)  # posted videos before each kill
OURS = ("DISCORD_", "KLING_", "KIE_", "PUBLIC_", "WEBHOOK_", "DATABASE_", "LOG_", "POLL_", "JOB_", "MEDIA_")
OURS_TOO = (
    "DEV_GUILD_ID",
    "BOT_ROLES",
    "SHARD_COUNT",
    "SHARD_IDS",
    "INSTANCE_ID",
    "OPS_PORT",
    "LEASE_SECONDS",
)


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    with servers.own_database() as url:
        yield url


@dataclass
class Role:
    name: str  # gateway-0, worker-1, listener-2, …
    env: dict[str, str]
    workdir: Path
    process: BotProcess | None = None
    lives: int = 0

    async def start(self) -> None:
        self.lives += 1
        env = dict(self.env, INSTANCE_ID=f"{self.name}-life{self.lives}")
        self.process = await BotProcess.start(env, self.workdir)
        await self.process.wait_line(f"runs as {self.env['BOT_ROLES']}")
        if self.name.startswith("gateway"):
            await self.process.wait_line("has connected to Gateway")


@dataclass
class Cluster:
    fake: FakeDiscord
    provider: KlingFake
    balancer: Balancer
    servers: list[Harness]
    roles: dict[str, Role] = field(default_factory=dict)


def environment(c: Cluster, database_url: str, workdir: Path, role: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(OURS) and k not in OURS_TOO}
    env.update(
        BOT_ROLES=role,
        DISCORD_TOKEN=c.fake.bot_token,
        DISCORD_API_BASE=c.fake.api_base,
        DISCORD_GATEWAY_URL=c.fake.gateway_url,
        KLING_PROVIDER="kling",
        KLING_API_BASE=c.provider.base_url,
        KLING_ACCESS_KEY=c.provider.access_key,
        KLING_SECRET_KEY=c.provider.secret_key,
        PUBLIC_BASE_URL=c.balancer.base_url,  # callbacks reach whichever listener the balancer picks
        WEBHOOK_HOST="127.0.0.1",
        WEBHOOK_PORT=str(free_port()),
        OPS_PORT="0",
        DATABASE_URL=database_url,
        MEDIA_DIR=str(workdir / "media"),  # shared by every process
        PROVIDER_MAX_CONCURRENCY=str(SLOTS),
        MAX_QUEUED_PER_USER=str(JOBS_PER_MEMBER),
        LEASE_SECONDS="2",  # a killed process's work is taken over two seconds after its last renewal
        POLL_INTERVAL_SECONDS="2",  # a callback lost with a killed listener is asked about instead
        LOG_LEVEL="INFO",
        LOG_FORMAT="text",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p),
    )
    return env


@pytest.fixture
async def cluster(database_url: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    await servers.empty_schema(database_url)
    fake = await FakeDiscord().start()
    provider = await KlingFake(auto=True, work_seconds=0.5).start()
    listener_ports = [free_port(), free_port()]
    balancer = await Balancer([f"http://127.0.0.1:{port}" for port in listener_ports]).start(free_port())
    guilds = [
        build_world(fake, guild_id=fake.guild_id_on_shard(shard, SHARDS))
        for shard in range(SHARDS)
        for index in range(GUILDS_PER_SHARD)
    ]
    harnesses = [Harness(fake, provider, "kling", tmp_path, guild) for guild in guilds]
    c = Cluster(fake, provider, balancer, harnesses)
    names = ["listener-1", "listener-2", "worker-1", "worker-2", "gateway-0", "gateway-1"]
    for name in names:
        kind, number = name.split("-")
        env = environment(c, database_url, tmp_path, kind)
        if kind == "listener":
            env["WEBHOOK_PORT"] = str(listener_ports[int(number) - 1])
        if kind == "gateway":
            env.update(SHARD_COUNT=str(SHARDS), SHARD_IDS=number)
        workdir = tmp_path / name
        workdir.mkdir()
        c.roles[name] = Role(name, env, workdir)
    try:
        await asyncio.gather(*(role.start() for role in c.roles.values()))
        await c.roles["gateway-0"].process.wait_line("synced")  # type: ignore[union-attr]
        yield c
    finally:
        for role in c.roles.values():
            if role.process is not None and role.process.proc.returncode is None:
                await role.process.kill()
        await balancer.stop()
        await provider.stop()
        await fake.stop()


def posted(c: Cluster) -> list[FakeMessage]:
    return [
        message
        for h in c.servers
        for message in c.fake.messages_in(h.guild.channel_id)
        if any(a.filename.endswith(".mp4") for a in message.attachments)
    ]


async def send_jobs(h: Harness) -> list[str]:
    members = [h.fake.add_member(h.guild.id, username=f"member{i}").user_id for i in range(MEMBERS)]
    accepted = []
    for round_ in range(JOBS_PER_MEMBER):
        for member in members:
            job_id, text = await make_video(h, f"scene {round_} of {member}", user_id=member)
            assert job_id is not None, text
            accepted.append(job_id)
    return accepted


async def test_a_hundred_jobs_survive_four_kills_exactly_once(cluster: Cluster, database_url: str) -> None:
    c = cluster
    began = time.monotonic()
    job_ids = [
        job_id for batch in await asyncio.gather(*(send_jobs(h) for h in c.servers)) for job_id in batch
    ]
    assert len(job_ids) == 100
    victims = random.Random(14).choices(sorted(c.roles), k=len(KILLS_AFTER))
    in_flight_at_kills = []
    for after, victim in zip(KILLS_AFTER, victims, strict=True):
        await c.fake.wait_for(lambda n=after: len(posted(c)) >= n or None, timeout=40)
        in_flight_at_kills.append(len(job_ids) - len(posted(c)))
        role = c.roles[victim]
        assert role.process is not None
        await role.process.kill()  # SIGKILL: no grace, its leases simply stop being renewed
        await role.start()
    await c.fake.wait_for(lambda: len(posted(c)) >= len(job_ids) or None, timeout=40)
    print(f"100 jobs, 4 kills: {time.monotonic() - began:.1f}s; {victims}, unposted {in_flight_at_kills}")

    for role in c.roles.values():  # SIGTERM: the last deliveries are stored before each stops
        assert role.process is not None
        await role.process.stop()
    store = PostgresStore(database_url)
    await store.open()
    try:
        jobs = [await store.get_job(job_id) for job_id in job_ids]
        charged = await store.database.fetchall(
            "SELECT state, COUNT(*) AS n, SUM(credits) AS credits FROM credit_ledger GROUP BY state"
        )
    finally:
        await store.close()
    submissions = Counter(task.external_id for task in c.provider.tasks.values())
    assert submissions == Counter(job_ids), {k: n for k, n in submissions.items() if n != 1}
    posts = Counter(message.embeds[0]["footer"]["text"].split()[1] for message in posted(c))
    assert posts == Counter(job_ids), {k: n for k, n in posts.items() if n != 1}
    assert [job.status for job in jobs if job] == [JobState.DELIVERED] * len(job_ids)
    assert all(job is not None and job.settlement is Settlement.CHARGED for job in jobs)
    assert {row["state"]: int(row["n"]) for row in charged} == {Settlement.CHARGED.value: 100}
    assert sum(int(row["credits"]) for row in charged) == sum(job.credits for job in jobs if job)
    assert c.provider.peak_running <= SLOTS
