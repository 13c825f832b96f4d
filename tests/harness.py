"""The real bot, wired to loopback fakes: a fake Discord, a fake provider, a temp SQLite store.

`Harness` starts `KlingBot` exactly as `python -m bot` would (settings → setup_hook → gateway), only
pointed at the fakes. Tests drive it by sending interactions through the fake Discord and wait on
events; a controllable clock lets them jump forward in time without sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.client import COGS, KlingBot
from bot.settings import Settings
from db.records import JobRecord, JobState
from tests.fakes.discord import MANAGE_GUILD, FakeDiscord, FakeMessage, InteractionHandle
from tests.fakes.providers.common import FakeProvider

PROVIDER_KEY = "test-provider-key"


class OffsetClock:
    """Real time plus an offset the test can move forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Guild:
    id: int
    channel_id: int
    other_channel_id: int
    log_channel_id: int
    owner_id: int
    member_id: int
    other_member_id: int
    moderator_role_id: int
    vip_role_id: int


@dataclass
class Harness:
    fake: FakeDiscord
    provider: FakeProvider
    provider_name: str
    tmp: Path
    guild: Guild
    callbacks: bool = True
    clock: OffsetClock = field(default_factory=OffsetClock)
    webhook_port: int = field(default_factory=free_port)
    overrides: dict[str, Any] = field(default_factory=dict)
    cogs: tuple[str, ...] = COGS
    bot_options: dict[str, Any] = field(default_factory=dict)  # KlingBot keywords, e.g. a downloader
    bot: KlingBot | None = None
    _run: asyncio.Task[None] | None = None

    # ---- the bot ----------------------------------------------------------------------------

    def settings(self) -> Settings:
        values: dict[str, Any] = {
            "discord_token": self.fake.bot_token,
            "discord_api_base": self.fake.api_base,
            "discord_gateway_url": self.fake.gateway_url,
            "dev_guild_id": self.guild.id,
            "kling_provider": self.provider_name,
            "kling_api_base": self.provider.base_url,
            "kling_api_key": getattr(self.provider, "api_key", PROVIDER_KEY),
            "kling_access_key": getattr(self.provider, "access_key", "AK_TEST"),
            "kling_secret_key": getattr(self.provider, "secret_key", "SK_TEST"),
            "kie_upload_base": self.provider.base_url,
            "public_base_url": f"http://127.0.0.1:{self.webhook_port}" if self.callbacks else None,
            "webhook_host": "127.0.0.1",
            "webhook_port": self.webhook_port,
            "ops_port": 0,  # the bound port is bot.ops.port
            "database_url": f"sqlite:///{self.tmp / 'klingbot.db'}",
            "media_dir": self.tmp / "media",
            "poll_interval_seconds": 0.2,
            "job_timeout_seconds": 3600,
        }
        values.update(self.overrides)
        return Settings(_env_file=None, **values)

    async def start(self) -> KlingBot:
        bot = KlingBot(
            self.settings(), clock=self.clock, guild_ready_timeout=0.05, cogs=self.cogs, **self.bot_options
        )
        self.bot = bot
        self._run = asyncio.create_task(bot.start(self.fake.bot_token))
        ready = asyncio.create_task(bot.wait_until_ready())
        done, _ = await asyncio.wait({ready, self._run}, timeout=15, return_when=asyncio.FIRST_COMPLETED)
        if self._run in done:
            ready.cancel()
            self._run.result()  # raises what stopped the bot
            raise RuntimeError("the bot stopped during start-up")
        if ready not in done:
            raise TimeoutError("the bot did not become ready")
        await bot.engine.recovered.wait()
        return bot

    async def stop(self) -> None:
        if self.bot is not None:
            await self.bot.close()
        if self._run is not None:
            with contextlib.suppress(Exception):
                await self._run
        self.bot, self._run = None, None

    async def crash(self) -> None:
        """Stop the bot abruptly: no grace for in-flight work (the store's transactions are whole)."""
        assert self.bot is not None and self._run is not None
        engine = self.bot.engine
        for task in list(engine._tasks) + list(engine._workers):
            task.cancel()
        await self.stop()

    async def restart(self) -> KlingBot:
        await self.stop()
        return await self.start()

    @property
    def running(self) -> KlingBot:
        assert self.bot is not None, "start the bot first"
        return self.bot

    # ---- driving it -------------------------------------------------------------------------

    async def slash(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        user_id: int | None = None,
        channel_id: int | None = None,
        **kwargs: Any,
    ) -> InteractionHandle:
        return await self.fake.send_slash_command(
            name,
            options,
            user_id=user_id or self.guild.member_id,
            guild_id=self.guild.id,
            channel_id=channel_id or self.guild.channel_id,
            **kwargs,
        )

    async def reply(self, handle: InteractionHandle, timeout: float = 10.0) -> FakeMessage:
        """The interaction's answer once it is no longer "thinking" (the deferred reply edited)."""

        def answered() -> FakeMessage | None:
            original = handle.original()
            if original is not None and not original.loading:
                return original
            return None

        return await self.fake.wait_for(answered, timeout)

    async def wait_job(
        self, predicate: Callable[[JobRecord], bool], job_id: str | None = None, timeout: float = 10.0
    ) -> JobRecord:
        """Wait until a job (the only one, or `job_id`) satisfies `predicate`, re-checking on every change."""
        bot = self.running
        store, changed = bot.store, bot.engine.changed
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            async with changed:  # held while checking, so no transition slips between check and wait
                jobs = (
                    [await store.get_job(job_id)]
                    if job_id
                    else await store.list_jobs(guild_id=self.guild.id, user_id=None, limit=100)
                )
                for job in jobs:
                    if job is not None and predicate(job):
                        return job
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    states = [(j.id, j.status.value) for j in jobs if j is not None]
                    raise TimeoutError(f"no job reached the expected state; jobs: {states}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), remaining)

    async def wait_delivered(self, job_id: str | None = None, timeout: float = 10.0) -> JobRecord:
        return await self.wait_job(lambda j: j.status is JobState.DELIVERED, job_id, timeout)

    def posts_in(self, channel_id: int) -> list[FakeMessage]:
        """Messages with an uploaded video (or a result link) in a channel, oldest first."""
        return [
            m
            for m in self.fake.messages_in(channel_id)
            if m.attachments or "your video is ready" in m.content
        ]


def build_world(fake: FakeDiscord, *, guild_id: int | None = None) -> Guild:
    owner = fake.add_user("owner")
    guild = fake.add_guild("Test Server", owner_id=owner.id, guild_id=guild_id)
    channel = fake.add_channel(guild.id, "videos")
    other = fake.add_channel(guild.id, "chat")
    log_channel = fake.add_channel(guild.id, "mod-log")
    moderator_role = fake.add_role(guild.id, "Moderators", MANAGE_GUILD)
    vip_role = fake.add_role(guild.id, "VIP")
    member = fake.add_member(guild.id, username="member")
    other_member = fake.add_member(guild.id, username="someone")
    return Guild(
        id=guild.id,
        channel_id=channel.id,
        other_channel_id=other.id,
        log_channel_id=log_channel.id,
        owner_id=owner.id,
        member_id=member.user_id,
        other_member_id=other_member.user_id,
        moderator_role_id=moderator_role.id,
        vip_role_id=vip_role.id,
    )
