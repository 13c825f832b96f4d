"""`python -m bot` and `python -m bot check` as an operator runs them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from tests.fakes.discord import FakeDiscord
from tests.fakes.providers.acedata import AceDataFake
from tests.fakes.providers.kie import FakeKie
from tests.fakes.providers.kling import KlingFake

ROOT = Path(__file__).resolve().parents[2]


def run_bot(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "KLING_", "KIE_"))}
    clean.update(env)
    clean["PYTHONPATH"] = str(ROOT)
    return subprocess.run(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_run_without_a_token_stops_at_once_naming_the_variable(tmp_path: Path) -> None:
    result = run_bot([], tmp_path, KLING_API_KEY="k")
    assert result.returncode == 2
    assert "DISCORD_TOKEN is not set" in result.stderr and ".env" in result.stderr


def test_check_lists_everything_missing(tmp_path: Path) -> None:
    result = run_bot(["check"], tmp_path, KLING_PROVIDER="kling")
    assert result.returncode == 2
    assert "DISCORD_TOKEN" in result.stderr and "KLING_ACCESS_KEY and KLING_SECRET_KEY" in result.stderr


def test_check_explains_bad_values(tmp_path: Path) -> None:
    result = run_bot(["check"], tmp_path, KLING_PROVIDER="runway", WEBHOOK_PORT="http")
    assert result.returncode == 2
    assert "KLING_PROVIDER:" in result.stderr and "WEBHOOK_PORT:" in result.stderr


def test_check_passes_and_reads_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DISCORD_TOKEN=abc.def.ghi\nKLING_API_KEY=key-from-dotenv\n")
    result = run_bot(["check"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Configuration OK" in result.stdout and "polling only" in result.stdout
    assert "key-from-dotenv" not in result.stdout + result.stderr


async def test_check_online_asks_discord_about_the_token_and_probes_the_provider(tmp_path: Path) -> None:
    fake = await FakeDiscord().start()
    provider = await AceDataFake().start()
    try:
        env = {
            "DISCORD_API_BASE": fake.api_base,
            "KLING_API_KEY": provider.api_key,
            "KLING_API_BASE": provider.base_url,
        }
        good = await asyncio.to_thread(
            run_bot, ["check", "--online"], tmp_path, DISCORD_TOKEN=fake.bot_token, **env
        )
        bad = await asyncio.to_thread(
            run_bot, ["check", "--online"], tmp_path, DISCORD_TOKEN="wrong-token", **env
        )
        gone = await asyncio.to_thread(
            run_bot,
            ["check", "--online"],
            tmp_path,
            DISCORD_TOKEN=fake.bot_token,
            **{**env, "KLING_API_BASE": "http://127.0.0.1:9"},
        )
    finally:
        await provider.stop()
        await fake.stop()
    assert good.returncode == 0, good.stderr
    assert "Provider balance: this provider has no balance endpoint." in good.stdout
    assert fake.calls_matching("GET", r"^/users/@me$")
    assert bad.returncode == 2 and "DISCORD_TOKEN was refused by Discord" in bad.stderr
    assert "wrong-token" not in bad.stdout + bad.stderr
    assert gone.returncode == 2 and "is not reachable" in gone.stderr


async def test_check_online_reports_the_kie_credits_and_warns_when_low(tmp_path: Path) -> None:
    fake = await FakeDiscord().start()
    provider = await FakeKie(api_key="kie-check-key-0123").start()
    env = {
        "DISCORD_API_BASE": fake.api_base,
        "DISCORD_TOKEN": fake.bot_token,
        "KLING_PROVIDER": "kie",
        "KLING_API_KEY": provider.api_key,
        "KLING_API_BASE": provider.base_url,
    }
    try:
        provider.credits = 2510330
        plenty = await asyncio.to_thread(run_bot, ["check", "--online"], tmp_path, **env)
        provider.credits = 40
        low = await asyncio.to_thread(run_bot, ["check", "--online"], tmp_path, **env)
        set_lower = await asyncio.to_thread(
            run_bot, ["check", "--online"], tmp_path, **env, LOW_BALANCE_THRESHOLD="25"
        )
        refused = await asyncio.to_thread(
            run_bot, ["check", "--online"], tmp_path, **{**env, "KLING_API_KEY": "kie-wrong-key-0123"}
        )
    finally:
        await provider.stop()
        await fake.stop()
    assert plenty.returncode == 0, plenty.stderr
    assert "Provider balance: 2,510,330 credits left." in plenty.stdout and "Warning" not in plenty.stderr
    assert low.returncode == 0, low.stderr
    assert "Provider balance: 40 credits left." in low.stdout
    assert "Warning: the provider balance is low (40 credits, below 1,000 from the default" in low.stderr
    assert set_lower.returncode == 0 and "Warning" not in set_lower.stderr
    assert refused.returncode == 2 and "refused the credentials" in refused.stderr
    assert len(provider.requests_to("/api/v1/chat/credit", "GET")) == 4
    for result in (plenty, low, set_lower, refused):
        assert "kie-check-key-0123" not in result.stdout + result.stderr
        assert "kie-wrong-key-0123" not in result.stdout + result.stderr


async def test_check_online_reports_the_kling_resource_packs(tmp_path: Path) -> None:
    fake = await FakeDiscord().start()
    provider = await KlingFake(access_key="AK_CHECK", secret_key="SK_CHECK_0123456789").start()
    env = {
        "DISCORD_API_BASE": fake.api_base,
        "DISCORD_TOKEN": fake.bot_token,
        "KLING_PROVIDER": "kling",
        "KLING_ACCESS_KEY": provider.access_key,
        "KLING_SECRET_KEY": provider.secret_key,
        "KLING_API_BASE": provider.base_url,
    }
    try:
        enough = await asyncio.to_thread(run_bot, ["check", "--online"], tmp_path, **env)
        low = await asyncio.to_thread(
            run_bot, ["check", "--online"], tmp_path, **env, LOW_BALANCE_THRESHOLD="1000"
        )
    finally:
        await provider.stop()
        await fake.stop()
    assert enough.returncode == 0, enough.stderr
    assert "Provider balance: 742.5 units left." in enough.stdout and "Warning" not in enough.stderr
    assert low.returncode == 0, low.stderr
    assert "below 1,000 from LOW_BALANCE_THRESHOLD" in low.stderr
    assert provider.auth_failures == []
    assert all("SK_CHECK_0123456789" not in r.stdout + r.stderr for r in (enough, low))
