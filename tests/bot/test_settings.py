"""Configuration: every variable validated, errors that name the variable, secrets that never print."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import ProviderName, Settings, describe_validation_error


def make(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "DISCORD_TOKEN",
        "KLING_PROVIDER",
        "KLING_API_KEY",
        "KLING_ACCESS_KEY",
        "KLING_SECRET_KEY",
        "PUBLIC_BASE_URL",
        "DATABASE_URL",
        "LOG_LEVEL",
        "DEV_GUILD_ID",
        "WEBHOOK_PORT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults_match_the_product_table() -> None:
    settings = make()
    assert settings.kling_provider is ProviderName.ACEDATA
    assert settings.discord_api_base == "https://discord.com/api/v10"
    assert settings.provider_api_base == "https://api.acedata.cloud"
    assert (settings.webhook_host, settings.webhook_port) == ("0.0.0.0", 8080)
    assert settings.database_url == "sqlite:///data/klingbot.db"
    assert settings.sqlite_path == Path("data/klingbot.db")
    assert settings.poll_interval_seconds == 15 and settings.job_timeout_seconds == 3600
    assert settings.public_base_url is None
    assert (settings.fourk_cost_multiplier, settings.audio_cost_multiplier) == (4, 1.5)


def test_missing_token_names_the_variable_and_where_to_put_it() -> None:
    problems = make(kling_api_key="k").missing_for_run()
    assert len(problems) == 1
    assert "DISCORD_TOKEN" in problems[0] and ".env" in problems[0]


@pytest.mark.parametrize(
    ("provider", "values", "needle"),
    [
        ("acedata", {}, "KLING_API_KEY"),
        ("kie", {}, "KLING_API_KEY"),
        ("gateway", {}, "KLING_API_KEY"),
        ("kling", {}, "KLING_ACCESS_KEY and KLING_SECRET_KEY"),
        ("kling", {"kling_access_key": "a"}, "KLING_SECRET_KEY"),
    ],
)
def test_provider_credentials_are_required_per_family(
    provider: str, values: dict[str, str], needle: str
) -> None:
    problems = make(discord_token="t", kling_provider=provider, **values).missing_for_run()
    assert len(problems) == 1 and needle in problems[0]


def test_blank_values_in_a_dotenv_mean_unset(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DISCORD_TOKEN=\nPUBLIC_BASE_URL=\nDEV_GUILD_ID=\nKLING_API_KEY=abc\n")
    settings = Settings(_env_file=tmp_path / ".env")  # type: ignore[call-arg]
    assert (
        settings.discord_token is None and settings.public_base_url is None and settings.dev_guild_id is None
    )
    assert settings.kling_api_key is not None


@pytest.mark.parametrize(
    ("values", "name"),
    [
        ({"kling_provider": "midjourney"}, "KLING_PROVIDER"),
        ({"public_base_url": "klingbot.example.org"}, "PUBLIC_BASE_URL"),
        ({"discord_gateway_url": "http://gateway"}, "DISCORD_GATEWAY_URL"),
        ({"webhook_port": 70000}, "WEBHOOK_PORT"),
        ({"poll_interval_seconds": 0}, "POLL_INTERVAL_SECONDS"),
        ({"database_url": "mysql://x"}, "DATABASE_URL"),
        ({"database_url": "postgresql://db"}, "DATABASE_URL"),
        ({"log_level": "LOUD"}, "LOG_LEVEL"),
        ({"log_format": "xml"}, "LOG_FORMAT"),
        ({"fourk_cost_multiplier": 0}, "FOURK_COST_MULTIPLIER"),
        ({"audio_cost_multiplier": 0.5}, "AUDIO_COST_MULTIPLIER"),
    ],
)
def test_bad_values_are_explained_by_name(values: dict[str, object], name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        make(**values)
    lines = describe_validation_error(caught.value)
    assert any(line.startswith(name + ":") for line in lines), lines


def test_cost_multipliers_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOURK_COST_MULTIPLIER", "6")
    monkeypatch.setenv("AUDIO_COST_MULTIPLIER", "1.25")
    settings = make()
    assert (settings.fourk_cost_multiplier, settings.audio_cost_multiplier) == (6, 1.25)


def test_secrets_never_print() -> None:
    settings = make(discord_token="super-secret-token", kling_api_key="provider-key-123")
    assert "super-secret-token" not in repr(settings) and "provider-key-123" not in str(settings)


def test_a_bad_secret_is_not_echoed_back() -> None:
    with pytest.raises(ValidationError) as caught:
        make(discord_token=["not", "a", "string"], kling_api_key="k")
    assert all("not" not in line.split(":", 1)[1] for line in describe_validation_error(caught.value))


def test_absolute_sqlite_paths() -> None:
    assert make(database_url="sqlite:////var/lib/kb.db").sqlite_path == Path("/var/lib/kb.db")
    assert make(database_url="sqlite://:memory:").sqlite_path is None
    assert make(database_url="postgresql://kb:pw@db:5432/klingbot").sqlite_path is None


# ---- roles, shards and the instance id --------------------------------------------------------


@pytest.fixture
def scale_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("BOT_ROLES", "SHARD_COUNT", "SHARD_IDS", "INSTANCE_ID"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_one_process_does_everything_by_default(scale_env: pytest.MonkeyPatch) -> None:
    from bot.settings import Role

    settings = make()
    assert settings.bot_roles == frozenset({Role.GATEWAY, Role.WORKER, Role.LISTENER})
    assert settings.shard_count is None and settings.shard_ids is None and not settings.sharded
    assert settings.syncs_commands
    assert settings.instance_id.endswith(f"-{os.getpid()}")


@pytest.mark.parametrize(
    ("env", "roles", "shards", "syncs"),
    [
        ({"BOT_ROLES": "gateway"}, {"gateway"}, None, True),
        ({"BOT_ROLES": " Worker , listener "}, {"worker", "listener"}, None, False),
        ({"BOT_ROLES": ""}, {"gateway", "worker", "listener"}, None, True),
        ({"BOT_ROLES": "gateway", "SHARD_COUNT": "4", "SHARD_IDS": "0-1,3"}, {"gateway"}, (0, 1, 3), True),
        ({"BOT_ROLES": "gateway", "SHARD_COUNT": "2", "SHARD_IDS": "1"}, {"gateway"}, (1,), False),
        ({"SHARD_COUNT": "2"}, {"gateway", "worker", "listener"}, None, True),
    ],
)
def test_roles_and_shards_from_the_environment(
    scale_env: pytest.MonkeyPatch,
    env: dict[str, str],
    roles: set[str],
    shards: tuple[int, ...] | None,
    syncs: bool,
) -> None:
    for name, value in env.items():
        scale_env.setenv(name, value)
    settings = make()
    assert {role.value for role in settings.bot_roles} == roles
    assert settings.shard_ids == shards
    assert settings.syncs_commands is syncs


@pytest.mark.parametrize(
    ("env", "sentence"),
    [
        ({"BOT_ROLES": "gateway,janitor"}, "BOT_ROLES: BOT_ROLES must list one or more of gateway, worker"),
        ({"SHARD_IDS": "0,1"}, "SHARD_IDS: SHARD_IDS needs SHARD_COUNT"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "2"}, "SHARD_IDS: SHARD_IDS must be below SHARD_COUNT (2)"),
        ({"SHARD_COUNT": "4", "SHARD_IDS": "3-1"}, "SHARD_IDS: SHARD_IDS must be shard numbers or ranges"),
        ({"SHARD_COUNT": "0"}, "SHARD_COUNT:"),
        ({"INSTANCE_ID": "worker 1"}, "INSTANCE_ID: INSTANCE_ID must be 1 to 64 letters"),
    ],
)
def test_scale_settings_are_explained_in_one_sentence(
    scale_env: pytest.MonkeyPatch, env: dict[str, str], sentence: str
) -> None:
    for name, value in env.items():
        scale_env.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        make()
    [line] = describe_validation_error(caught.value)
    assert line.startswith(sentence)


def test_an_instance_id_is_kept_as_given(scale_env: pytest.MonkeyPatch) -> None:
    scale_env.setenv("INSTANCE_ID", "worker-2.eu")
    assert make().instance_id == "worker-2.eu"
