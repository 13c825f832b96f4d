"""Several bot processes in one test: two gateway shards (BOT_ROLES=gateway) and a worker with the
listener, sharing one SQLite file and one media folder. Each shard hears only its own servers, only
shard 0 syncs the commands, and /motion accepted by either shard is made and posted by the worker,
woken through the store's notifications."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import discord
import pytest

from bot.client import KlingBot, ShardedKlingBot, build_bot
from tests.cogs.test_motion import accepted_id, motion
from tests.fakes.discord import FakeDiscord
from tests.fakes.providers.acedata import AceDataFake
from tests.harness import Harness, build_world, free_port

SHARDS = 2


class Processes:
    """The bots of one test, closed in reverse order at the end."""

    def __init__(self) -> None:
        self.bots: list[KlingBot] = []
        self.runs: list[asyncio.Task[None]] = []
        self.heard: dict[int, list[int | None]] = {}  # shard -> guild ids of interactions received

    async def gateway(self, h: Harness, shard: int) -> KlingBot:
        bot = build_bot(h.settings(), clock=h.clock, guild_ready_timeout=0.05)
        assert isinstance(bot, ShardedKlingBot)
        heard = self.heard.setdefault(shard, [])

        async def on_interaction(interaction: discord.Interaction) -> None:
            heard.append(interaction.guild_id)

        bot.add_listener(on_interaction, "on_interaction")
        self.bots.append(bot)
        run = asyncio.create_task(bot.start(h.fake.bot_token))
        self.runs.append(run)
        ready = asyncio.create_task(bot.wait_until_ready())
        await asyncio.wait({ready, run}, timeout=15, return_when=asyncio.FIRST_COMPLETED)
        if run.done():
            run.result()
        assert ready.done(), "the shard did not become ready"
        return bot

    async def worker(self, h: Harness) -> KlingBot:
        """BOT_ROLES=worker,listener: logs in for REST and never connects to the gateway."""
        bot = build_bot(h.settings(), clock=h.clock)
        self.bots.append(bot)
        await bot.login(h.fake.bot_token)
        await bot.engine.recovered.wait()
        return bot

    async def close(self) -> None:
        for bot in reversed(self.bots):
            await bot.close()
        for run in self.runs:
            with contextlib.suppress(Exception):
                await run


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[FakeDiscord, list[Harness], Processes]]:
    fake = await FakeDiscord().start()
    provider = await AceDataFake().start()
    port = free_port()
    harnesses = []
    for shard in range(SHARDS):
        guild = build_world(fake, guild_id=fake.guild_id_on_shard(shard, SHARDS))
        roles = {"bot_roles": "gateway", "shard_count": SHARDS, "shard_ids": str(shard), "dev_guild_id": None}
        harnesses.append(
            Harness(fake, provider, "acedata", tmp_path, guild, webhook_port=port, overrides=roles)
        )
    processes = Processes()
    yield fake, harnesses, processes
    await processes.close()
    await provider.stop()
    await fake.stop()


async def test_each_shard_answers_its_own_servers_and_the_worker_posts(
    world: tuple[FakeDiscord, list[Harness], Processes],
) -> None:
    fake, (h0, h1), processes = world
    shard1 = await processes.gateway(h1, 1)
    assert fake.calls_matching("PUT", r"/commands$") == []  # shard 1 never syncs
    shard0 = await processes.gateway(h0, 0)
    [sync] = fake.calls_matching("PUT", r"/commands$")
    assert sync.status == 200
    assert [g.id for g in shard0.guilds] == [h0.guild.id] and [g.id for g in shard1.guilds] == [h1.guild.id]

    worker = Harness(
        fake,
        h0.provider,
        "acedata",
        h0.tmp,
        h0.guild,
        webhook_port=h0.webhook_port,
        overrides={"bot_roles": "worker,listener", "dev_guild_id": None},
    )
    worker.bot = await processes.worker(worker)
    assert len(fake.gateway.sessions) == SHARDS  # the worker talks REST only

    answers = [await motion(h) for h in (h0, h1)]
    assert processes.heard == {0: [h0.guild.id], 1: [h1.guild.id]}
    for h, (_, answer) in zip((h0, h1), answers, strict=True):
        job_id = accepted_id(answer)
        job = await worker.wait_delivered(job_id, timeout=20)
        [post] = h.posts_in(h.guild.channel_id)
        assert (job.delivered_message_id, job.guild_id) == (post.id, h.guild.id)
