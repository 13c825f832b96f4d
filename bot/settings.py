"""Configuration from the environment (and a `.env` file), validated once at start-up.

Every variable of PRODUCT.md §6 lives here. Secrets are SecretStr so they never print; errors name
the variable and say where to set it.
"""

from __future__ import annotations

import os
import re
import socket
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.providers.config import DEFAULT_KIE_UPLOAD_BASE, ProviderConfig


class ProviderName(StrEnum):
    ACEDATA = "acedata"
    KLING = "kling"
    KIE = "kie"
    GATEWAY = "gateway"


DEFAULT_API_BASES: dict[ProviderName, str] = {
    ProviderName.ACEDATA: "https://api.acedata.cloud",
    ProviderName.KLING: "https://api-singapore.klingai.com",
    ProviderName.KIE: "https://api.kie.ai",
    ProviderName.GATEWAY: "https://www.ezmodel.cloud",
}


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class Role(StrEnum):
    """What one bot process does (BOT_ROLES); one process with all three is the default."""

    GATEWAY = "gateway"  # the Discord gateway: answers interactions, accepts jobs into the store
    WORKER = "worker"  # submission, polling, timeouts, delivery, audit posting
    LISTENER = "listener"  # the provider callbacks, job inputs and hosted results; the ops port


ALL_ROLES = frozenset(Role)
_INSTANCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def default_instance_id() -> str:
    """The host name and the process id: unique among processes sharing one database."""
    host = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname()) or "host"
    return f"{host[:50]}-{os.getpid()}"


def parse_roles(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    names = [part.strip().lower() for part in value.split(",") if part.strip()]
    if not value.strip():
        return ALL_ROLES  # `BOT_ROLES=` means not set: everything in one process
    if not names or any(name not in {role.value for role in Role} for name in names):
        raise ValueError(
            "BOT_ROLES must list one or more of gateway, worker, listener, separated by commas"
            " (for example gateway,worker)"
        )
    return frozenset(Role(name) for name in names)


def parse_shard_ids(value: Any) -> Any:
    """`0,1` or `0-3` (or both: `0-1,4`) into sorted shard numbers."""
    if not isinstance(value, str):
        return value
    ids: set[int] = set()
    for part in (p.strip() for p in value.split(",")):
        match = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part)
        if match is None or (match[2] is not None and int(match[2]) < int(match[1])):
            raise ValueError("SHARD_IDS must be shard numbers or ranges, for example 0,1 or 0-3")
        ids.update(range(int(match[1]), int(match[2] or match[1]) + 1))
    return tuple(sorted(ids))


def _http_url(value: str, name: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"{name} must be an http(s) URL, for example https://example.org")
    return value.rstrip("/")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    discord_token: SecretStr | None = None
    discord_api_base: str = "https://discord.com/api/v10"
    discord_gateway_url: str | None = None
    dev_guild_id: int | None = None

    kling_provider: ProviderName = ProviderName.ACEDATA
    kling_api_base: str | None = None
    kling_api_key: SecretStr | None = None
    kling_access_key: SecretStr | None = None
    kling_secret_key: SecretStr | None = None
    kie_upload_base: str = DEFAULT_KIE_UPLOAD_BASE
    kie_webhook_hmac_key: SecretStr | None = None
    # `check --online` warns when the account balance is below this (in the provider's own unit);
    # unset, each family's default applies.
    low_balance_threshold: Annotated[float, Field(ge=0)] | None = None

    public_base_url: str | None = None
    webhook_host: str = "0.0.0.0"
    webhook_port: Annotated[int, Field(ge=0, le=65535)] = 8080
    # The private ops port: /metrics and /healthz, for Prometheus and health checks, never the internet.
    ops_host: str = "127.0.0.1"
    ops_port: Annotated[int, Field(ge=0, le=65535)] = 9100
    sentry_dsn: SecretStr | None = None  # set: unexpected exceptions are reported there, scrubbed

    database_url: str = "sqlite:///data/klingbot.db"
    poll_interval_seconds: Annotated[float, Field(gt=0, le=3600)] = 15.0
    job_timeout_seconds: Annotated[float, Field(gt=0)] = 3600.0

    log_level: str = "INFO"
    log_format: LogFormat = LogFormat.TEXT

    # Scale-out: what this process does, which gateway shards it runs, and its name in logs and metrics.
    # SHARD_COUNT/SHARD_IDS apply to a process with the gateway role; other roles ignore them.
    bot_roles: Annotated[frozenset[Role], NoDecode] = ALL_ROLES
    shard_count: Annotated[int, Field(ge=1, le=100_000)] | None = None
    shard_ids: Annotated[tuple[int, ...] | None, NoDecode] = None  # default: every shard of SHARD_COUNT
    instance_id: str = Field(default_factory=default_instance_id)
    # How long a process's claim on a piece of background work lasts unless renewed: after a crash,
    # another worker takes the work over this long after the last renewal.
    lease_seconds: Annotated[float, Field(gt=0, le=3600)] = 60.0

    # Not in the public table, but useful to operators and tests.
    media_dir: Path | None = None  # where job inputs and downloads live; default beside the database
    max_jobs_in_flight_per_user: Annotated[int, Field(ge=1, le=100)] = 2  # running at once, per member
    # The line (bot.jobs.queue): jobs at the provider at once, waiting jobs per member, how long one may
    # wait, and how long the provider must stay quiet after saying it was full before a slot comes back.
    provider_max_concurrency: Annotated[int, Field(ge=1, le=100)] = 5
    max_queued_per_user: Annotated[int, Field(ge=1, le=100)] = 5
    max_queue_wait_seconds: Annotated[float, Field(gt=0)] = 6 * 3600.0
    provider_slot_recovery_seconds: Annotated[float, Field(gt=0, le=86400)] = 300.0
    # The cost table: credits for a standard 5-second clip, and how much more pro costs.
    credits_per_clip: Annotated[int, Field(ge=0, le=1000)] = 1
    pro_cost_multiplier: Annotated[int, Field(ge=1, le=100)] = 2
    # Mode 4k costs this many standard clips of the same length; sound multiplies the price by
    # AUDIO_COST_MULTIPLIER, rounded up to whole credits.
    fourk_cost_multiplier: Annotated[int, Field(ge=1, le=100)] = 4
    audio_cost_multiplier: Annotated[float, Field(ge=1, le=100)] = 1.5

    # Retention (bot.jobs.retention): a finished job's input files are removed this long after it
    # finished, and sooner past MEDIA_MAX_BYTES (the jobs that finished longest ago first); audit lines and
    # processed callbacks are kept this many days. /healthz is unhealthy below MIN_FREE_DISK_BYTES free.
    media_retention_seconds: Annotated[float, Field(gt=0)] = 7 * 24 * 3600.0
    media_max_bytes: Annotated[int, Field(ge=0)] = 5 * 1024**3
    audit_retention_days: Annotated[float, Field(gt=0)] = 90.0
    callback_retention_days: Annotated[float, Field(gt=0)] = 7.0
    min_free_disk_bytes: Annotated[int, Field(ge=0)] = 1024**3

    # Download deadlines (bot.downloads): the whole download of an attached picture, an attached video and
    # a finished result, and the longest wait for the next bytes of any of them. The defaults keep a
    # member's answer under ~20 s for a picture and ~45 s for a video.
    download_stall_seconds: Annotated[float, Field(gt=0, le=3600)] = 10.0
    image_download_seconds: Annotated[float, Field(gt=0, le=3600)] = 15.0
    video_download_seconds: Annotated[float, Field(gt=0, le=3600)] = 40.0
    result_download_seconds: Annotated[float, Field(gt=0, le=3600)] = 300.0

    @field_validator(
        "discord_token",
        "kling_api_key",
        "kling_access_key",
        "kling_secret_key",
        "kie_webhook_hmac_key",
        "dev_guild_id",
        "discord_gateway_url",
        "kling_api_base",
        "public_base_url",
        "low_balance_threshold",
        "sentry_dsn",
        "shard_count",
        "shard_ids",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # `FOO=` in a .env file means "not set", not "set to the empty string".
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("bot_roles", mode="before")
    @classmethod
    def _parse_roles(cls, value: Any) -> Any:
        return parse_roles(value)

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _parse_shard_ids(cls, value: Any) -> Any:
        return parse_shard_ids(value)

    @field_validator("shard_ids")
    @classmethod
    def _check_shard_ids(cls, value: tuple[int, ...] | None, info: ValidationInfo) -> tuple[int, ...] | None:
        if value is None:
            return None
        count = info.data.get("shard_count")
        if count is None:
            raise ValueError("SHARD_IDS needs SHARD_COUNT: set how many shards there are in all")
        if max(value) >= count:
            raise ValueError(f"SHARD_IDS must be below SHARD_COUNT ({count}): shards are numbered from 0")
        return value

    @field_validator("instance_id", mode="before")
    @classmethod
    def _blank_instance_id(cls, value: Any) -> Any:
        return default_instance_id() if isinstance(value, str) and not value.strip() else value

    @field_validator("instance_id")
    @classmethod
    def _check_instance_id(cls, value: str) -> str:
        if not _INSTANCE_ID.fullmatch(value):
            raise ValueError(
                "INSTANCE_ID must be 1 to 64 letters, digits, dots, dashes or underscores, starting"
                " with a letter or digit"
            )
        return value

    @field_validator("discord_api_base", "kie_upload_base")
    @classmethod
    def _check_http(cls, value: str, info: Any) -> str:
        return _http_url(value, info.field_name.upper())

    @field_validator("kling_api_base", "public_base_url")
    @classmethod
    def _check_optional_http(cls, value: str | None, info: Any) -> str | None:
        return None if value is None else _http_url(value, info.field_name.upper())

    @field_validator("discord_gateway_url")
    @classmethod
    def _check_ws(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parsed = urlparse(value)
        if parsed.scheme not in ("ws", "wss") or not parsed.netloc:
            raise ValueError("DISCORD_GATEWAY_URL must be a ws:// or wss:// URL")
        return value

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        level = value.upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("database_url")
    @classmethod
    def _check_database(cls, value: str) -> str:
        if value.startswith("sqlite:///") or value == "sqlite://:memory:":
            return value
        if value.startswith(("postgresql://", "postgres://")):
            parts = urlparse(value)
            if parts.hostname and parts.path.strip("/"):
                return value
            raise ValueError(
                "DATABASE_URL must name a host and a database: postgresql://user:pw@host:5432/db"
            )
        raise ValueError("DATABASE_URL must look like sqlite:///data/klingbot.db or postgresql://…")

    # ---- derived values --------------------------------------------------------------------

    @property
    def provider_api_base(self) -> str:
        return self.kling_api_base or DEFAULT_API_BASES[self.kling_provider]

    def provider_config(self) -> ProviderConfig:
        """What the provider client is built from (providers never read these settings)."""
        return ProviderConfig(
            family=self.kling_provider.value,
            base_url=self.provider_api_base,
            api_key=self.kling_api_key,
            access_key=self.kling_access_key,
            secret_key=self.kling_secret_key,
            upload_base_url=self.kie_upload_base,
            webhook_hmac_key=self.kie_webhook_hmac_key,
        )

    @property
    def sqlite_path(self) -> Path | None:
        """The database file, or None for an in-memory database."""
        rest = self.database_url.removeprefix("sqlite://")
        if rest == ":memory:" or rest == self.database_url:  # in memory, or not SQLite at all
            return None
        return Path(rest.removeprefix("/")) if not rest.startswith("//") else Path(rest[1:])

    @property
    def sharded(self) -> bool:
        return self.shard_count is not None

    @property
    def syncs_commands(self) -> bool:
        """Exactly one process syncs the slash commands: the gateway with shard 0, or the unsharded one."""
        if Role.GATEWAY not in self.bot_roles:
            return False
        return self.shard_ids is None or 0 in self.shard_ids

    @property
    def media_path(self) -> Path:
        if self.media_dir is not None:
            return self.media_dir
        db = self.sqlite_path
        return (db.parent if db is not None else Path("data")) / "media"

    def missing_for_run(self) -> list[str]:
        """Everything the bot needs to run that is not set, each as a sentence naming the variable."""
        problems: list[str] = []
        if self.discord_token is None:
            problems.append(
                "DISCORD_TOKEN is not set: put your bot token in the environment or in a .env file "
                "(DISCORD_TOKEN=...); see README.md, 'Create the Discord application'."
            )
        problems.extend(self.missing_provider_credentials())
        return problems

    def missing_provider_credentials(self) -> list[str]:
        provider = self.kling_provider
        if provider is ProviderName.KLING:
            missing = [
                name
                for name, value in (
                    ("KLING_ACCESS_KEY", self.kling_access_key),
                    ("KLING_SECRET_KEY", self.kling_secret_key),
                )
                if value is None
            ]
            if missing:
                return [
                    f"{' and '.join(missing)} not set: KLING_PROVIDER=kling needs the access key and "
                    "secret key from the Kling developer console."
                ]
            return []
        if self.kling_api_key is None:
            return [
                f"KLING_API_KEY is not set: KLING_PROVIDER={provider.value} needs that provider's API key."
            ]
        return []


def describe_validation_error(error: ValidationError) -> list[str]:
    """Turn pydantic's report into one plain sentence per bad variable."""
    lines = []
    for item in error.errors():
        name = str(item["loc"][0]).upper() if item["loc"] else "configuration"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "enum":
            message = f"must be one of: {item.get('ctx', {}).get('expected', '')}"
        # Echo what was given, to help spot typos, except for secrets.
        shown = "" if name in _SECRET_NAMES else f" (got {item.get('input')!r})"
        lines.append(f"{name}: {message}{shown}")
    return lines


_SECRET_NAMES = {
    "DISCORD_TOKEN",
    "KLING_API_KEY",
    "KLING_ACCESS_KEY",
    "KLING_SECRET_KEY",
    "KIE_WEBHOOK_HMAC_KEY",
    "SENTRY_DSN",
}
