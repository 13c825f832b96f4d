"""pytest fixtures: `fake_discord` (a started FakeDiscord with the default world) and
`fake_discord_patched` (the same, with discord.py pointed at it for the test)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from .patch import pointed_at
from .seed import seed_default_world
from .server import FakeDiscord

FAKE_BOT_TOKEN = "fake-bot-token.Kx9.abcdefghijklmnopqrstuvwxyz"


@pytest_asyncio.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord(bot_token=FAKE_BOT_TOKEN)
    seed_default_world(fake)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()
    # A bug in the fake answers 400 "fake discord internal error"; fail the test that hit it.
    assert not fake.internal_errors, "fake Discord failed internally:\n" + "\n".join(fake.internal_errors)


@pytest_asyncio.fixture
async def fake_discord_patched(fake_discord: FakeDiscord) -> AsyncIterator[FakeDiscord]:
    with pointed_at(fake_discord.api_base, fake_discord.gateway_url):
        yield fake_discord
