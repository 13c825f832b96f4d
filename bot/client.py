"""The bot itself: a discord.py Bot that owns the store, the provider client, the job engine and the
webhook listener, starting them in `setup_hook` and stopping them in `close`.

BOT_ROLES decides which parts one process starts: the gateway role connects to Discord and answers
interactions; the worker role runs the engine's background loops (talking to Discord by REST only when
it has no gateway); the listener role serves provider callbacks, job inputs and hosted results. Every
process serves its own private ops port (/metrics, /healthz). A gateway with SHARD_COUNT runs
discord.py's AutoShardedBot over its SHARD_IDS.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import discord
from discord.ext import commands
from prometheus_client import Info

from bot.discord_endpoints import configure_discord_endpoints
from bot.discord_ui.publisher import DiscordPublisher
from bot.downloads import Downloader
from bot.jobs.engine import EngineConfig, JobEngine
from bot.jobs.inputs import InputStore
from bot.jobs.quota import CostTable
from bot.jobs.retention import DAY, RetentionConfig
from bot.jobs.services import Services
from bot.listener import WebhookListener
from bot.metrics import Metrics
from bot.ops import OpsServer
from bot.providers import build_provider
from bot.providers.base import ProviderClient
from bot.results import result_download_limits
from bot.settings import Role, Settings
from bot.tree import KlingCommandTree
from db import store_from_url
from db.records import JobState
from db.store import Store

log = logging.getLogger(__name__)

HEALTH_WRITE_TIMEOUT = 5.0  # seconds the /healthz write probe may take before the database counts as stuck
COGS = (
    "cogs.help",
    "cogs.motion",
    "cogs.video",
    "cogs.jobs",
    "cogs.queue",
    "cogs.buttons",
    "cogs.quota",
    "cogs.admin",
)


class KlingBot(commands.Bot):
    def __init__(
        self,
        settings: Settings,
        *,
        store: Store | None = None,
        provider: ProviderClient | None = None,
        clock: Callable[[], float] = time.time,
        guild_ready_timeout: float = 2.0,
        cogs: tuple[str, ...] = COGS,
        downloader: Downloader | None = None,
        **options: Any,
    ) -> None:
        configure_discord_endpoints(settings.discord_api_base, settings.discord_gateway_url)
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),
            tree_cls=KlingCommandTree,
            help_command=None,
            guild_ready_timeout=guild_ready_timeout,
            allowed_mentions=discord.AllowedMentions.none(),
            **options,
        )
        self.settings = settings
        self.roles = settings.bot_roles
        self.clock = clock
        self.metrics = Metrics()
        self.store: Store = store or store_from_url(settings.database_url)
        self._provider = provider
        self._cog_names = cogs
        self.inputs = InputStore(settings.media_path)
        # The one session for every URL the bot fetches (deadlines, URL policy); closed at shutdown.
        self.downloader = downloader or Downloader()
        self.publisher: DiscordPublisher | None = None
        self._engine: JobEngine | None = None
        self.services: Services | None = None  # what cogs call; set up with the engine
        self.listener: WebhookListener | None = None
        self.ops: OpsServer | None = None
        about = "This process: its INSTANCE_ID, roles and shards"
        Info("klingbot_instance", about, registry=self.metrics.registry).info(instance_labels(settings))

    @property
    def engine(self) -> JobEngine:
        if self._engine is None:
            raise RuntimeError("the job engine starts in setup_hook")
        return self._engine

    @property
    def provider(self) -> ProviderClient:
        if self._provider is None:
            raise RuntimeError("the provider client is built in setup_hook")
        return self._provider

    async def setup_hook(self) -> None:
        await self.store.open()
        await self.store.migrate()
        if self._provider is None:
            self._provider = build_provider(self.settings.provider_config())
        self.publisher = DiscordPublisher(
            self,
            self.store,
            self.metrics,
            self.settings.media_path,
            downloader=self.downloader,
            result_limits=result_download_limits(self.settings),
            public_base_url=self.settings.public_base_url,
            clock=self.clock,
            rest_only=Role.GATEWAY not in self.roles,
            inputs=self.inputs,
        )
        self._engine = JobEngine(
            store=self.store,
            provider=self._provider,
            publisher=self.publisher,
            metrics=self.metrics,
            inputs=self.inputs,
            config=self._engine_config(),
            costs=CostTable(
                unit=self.settings.credits_per_clip,
                pro_multiplier=self.settings.pro_cost_multiplier,
                fourk_multiplier=self.settings.fourk_cost_multiplier,
                audio_multiplier=self.settings.audio_cost_multiplier,
            ),
            clock=self.clock,
        )
        self.services = Services(self._engine)
        if Role.LISTENER in self.roles:
            await self._start_listener()
        await self._start_ops()  # every process: its own /metrics (a worker's deliveries, a shard's gateway)
        if Role.GATEWAY in self.roles:
            for name in self._cog_names:
                await self.load_extension(name)
            if self.settings.syncs_commands:
                await self.sync_commands()
        if Role.WORKER in self.roles:
            await self._engine.start()
        log.info("instance %s runs as %s", self.settings.instance_id, instance_labels(self.settings)["roles"])

    def _engine_config(self) -> EngineConfig:
        settings = self.settings
        return EngineConfig(
            public_base_url=settings.public_base_url,
            poll_interval=settings.poll_interval_seconds,
            job_timeout=settings.job_timeout_seconds,
            max_in_flight_per_user=settings.max_jobs_in_flight_per_user,
            max_queued_per_user=settings.max_queued_per_user,
            max_concurrency=settings.provider_max_concurrency,
            max_queue_wait=settings.max_queue_wait_seconds,
            slot_recovery=settings.provider_slot_recovery_seconds,
            background_work=Role.WORKER in self.roles,
            instance_id=settings.instance_id,
            lease_seconds=settings.lease_seconds,
            sole_process=settings.database_url.startswith("sqlite"),
            retention=self.retention_config(),
        )

    async def _start_listener(self) -> None:
        """Provider callbacks, job inputs and hosted results."""
        settings, engine = self.settings, self.engine
        self.listener = WebhookListener(
            engine, engine.hosting, self.metrics, host=settings.webhook_host, port=settings.webhook_port
        )
        await self.listener.start()

    async def _start_ops(self) -> None:
        settings = self.settings
        self.ops = OpsServer(
            self,
            self.metrics,
            host=settings.ops_host,
            port=settings.ops_port,
            data_dir=settings.media_path,
            min_free_bytes=settings.min_free_disk_bytes,
        )
        await self.ops.start()

    def retention_config(self) -> RetentionConfig:
        settings = self.settings
        return RetentionConfig(
            media_seconds=settings.media_retention_seconds,
            media_max_bytes=settings.media_max_bytes,
            audit_seconds=settings.audit_retention_days * DAY,
            callback_seconds=settings.callback_retention_days * DAY,
        )

    async def sync_commands(self) -> None:
        guild_id = self.settings.dev_guild_id
        if guild_id is not None:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
        else:
            synced = await self.tree.sync()
        log.info("synced %d commands%s", len(synced), f" to guild {guild_id}" if guild_id else "")

    async def close(self) -> None:
        """Stop taking work, let in-flight work finish for a moment, then close everything.

        The listener stops last: during the grace period providers may still be fetching a job's
        inputs from it, and callbacks that arrive are still written to the inbox.
        """
        if self._engine is not None:
            await self._engine.stop(grace=5.0)
        if self.listener is not None:
            await self.listener.stop()
        if self.ops is not None:
            await self.ops.stop()
        await super().close()
        await self.downloader.close()
        if self._provider is not None:
            await self._provider.close()
        await self.store.close()

    async def health(self) -> tuple[bool, dict[str, Any]]:
        """Whether the gateway is connected and the database answers and takes writes; with reasons."""
        discord_ok = self.gateway_up() if Role.GATEWAY in self.roles else True
        store_ok = await self.store.ping()
        writable = store_ok and await self._store_takes_writes()
        in_flight = (
            await self.store.count_in_states([JobState.PENDING, JobState.SUBMITTED, JobState.SUCCEEDED])
            if store_ok
            else None
        )
        reasons = [
            reason
            for failed, reason in (
                (not discord_ok, "the Discord gateway is disconnected"),
                (not store_ok, "the database does not answer"),
                (store_ok and not writable, "the database does not accept writes"),
            )
            if failed
        ]
        details = {
            "discord": ("connected" if discord_ok else "disconnected")
            if Role.GATEWAY in self.roles
            else "rest only",
            "store": "ok" if writable else "read-only" if store_ok else "unavailable",
            "jobs_in_flight": in_flight,
            "provider": self.settings.kling_provider.value,
            "reasons": reasons,
        }
        return not reasons, details

    async def _store_takes_writes(self) -> bool:
        try:
            return await asyncio.wait_for(self.store.probe_write(self.clock()), HEALTH_WRITE_TIMEOUT)
        except TimeoutError:
            return False

    def gateway_up(self) -> bool:
        # is_ready() stays true after the gateway drops; the socket itself says whether we are connected.
        return self.is_ready() and not self.is_closed() and self.ws is not None and self.ws.open


class ShardedKlingBot(KlingBot, commands.AutoShardedBot):
    """The bot over several gateway shards in one process (SHARD_COUNT, SHARD_IDS)."""

    def gateway_up(self) -> bool:
        shards = self.shards.values()
        return (
            self.is_ready()
            and not self.is_closed()
            and bool(shards)
            and not any(shard.is_closed() for shard in shards)
        )


def build_bot(settings: Settings, **options: Any) -> KlingBot:
    """The bot this process's settings ask for: sharded when SHARD_COUNT is set on a gateway."""
    if settings.sharded and Role.GATEWAY in settings.bot_roles:
        shard_ids = list(settings.shard_ids) if settings.shard_ids is not None else None
        return ShardedKlingBot(settings, shard_count=settings.shard_count, shard_ids=shard_ids, **options)
    return KlingBot(settings, **options)


def instance_labels(settings: Settings) -> dict[str, str]:
    """How this process names itself in metrics and logs."""
    roles = ",".join(role.value for role in Role if role in settings.bot_roles)
    if settings.shard_count is None or Role.GATEWAY not in settings.bot_roles:
        shards = ""
    else:
        ids = settings.shard_ids if settings.shard_ids is not None else range(settings.shard_count)
        shards = f"{','.join(map(str, ids))}/{settings.shard_count}"
    return {"instance": settings.instance_id, "roles": roles, "shards": shards}
