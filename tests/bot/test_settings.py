"""Configuration: every variable validated, errors that name the variable, secrets that never print."""

from __future__ import annotations

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
