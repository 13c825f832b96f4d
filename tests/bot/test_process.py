"""The real `python -m bot` process: logs in to the fake Discord, syncs, answers, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.fakes.discord import FakeDiscord
from tests.fakes.providers.acedata import AceDataFake
from tests.harness import build_world, free_port

ROOT = Path(__file__).resolve().parents[2]


async def test_python_m_bot_serves_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    fake = await FakeDiscord().start()
    provider = await AceDataFake().start()
    guild = build_world(fake)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "KLING_", "KIE_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        DISCORD_TOKEN=fake.bot_token,
        DISCORD_API_BASE=fake.api_base,
        DISCORD_GATEWAY_URL=fake.gateway_url,
        DEV_GUILD_ID=str(guild.id),
        KLING_API_KEY=provider.api_key,
        KLING_API_BASE=provider.base_url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
        WEBHOOK_HOST="127.0.0.1",
        WEBHOOK_PORT=str(port),
        LOG_FORMAT="json",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await fake.wait_for(lambda: fake.guild_commands.get(guild.id), timeout=30)
        await fake.wait_for_identify(timeout=30)
        handle = await fake.send_slash_command(
            "help", user_id=guild.member_id, guild_id=guild.id, channel_id=guild.channel_id
        )
        response = await handle.response(timeout=10)
        assert "/motion" in response["data"]["content"]
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await provider.stop()
        await fake.stop()
    log = stderr.decode()
    assert process.returncode == 0, log
    assert '"message": "SIGTERM received; shutting down"' in log
    assert '"message": "stopped"' in log
    assert fake.bot_token not in log and provider.api_key not in log
    assert (tmp_path / "bot.db").exists()
