"""Fixtures that run the real bot against the loopback fakes (see tests/harness.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.discord import FakeDiscord
from tests.fakes.providers.acedata import AceDataFake
from tests.fakes.providers.common import FakeProvider
from tests.fakes.providers.gateway import GatewayFake
from tests.fakes.providers.kie import FakeKie
from tests.fakes.providers.kling import KlingFake
from tests.harness import Harness, build_world

PROVIDER_FAKES: dict[str, Callable[..., FakeProvider]] = {
    "acedata": AceDataFake,
    "kling": KlingFake,
    "kie": FakeKie,
    "gateway": GatewayFake,
}

HarnessFactory = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def make_harness(tmp_path: Path) -> AsyncIterator[HarnessFactory]:
    """Build a harness: fake Discord with one server, a fake provider, the bot (started by default)."""
    made: list[Harness] = []

    async def factory(
        provider: str = "acedata",
        *,
        callbacks: bool = True,
        start: bool = True,
        provider_options: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> Harness:
        fake = await FakeDiscord().start()
        guild = build_world(fake)
        provider_fake = await PROVIDER_FAKES[provider](**(provider_options or {})).start()
        harness = Harness(
            fake=fake,
            provider=provider_fake,
            provider_name=provider,
            tmp=tmp_path / f"h{len(made)}",
            guild=guild,
            callbacks=callbacks,
            overrides=overrides,
        )
        made.append(harness)
        if start:
            await harness.start()
        return harness

    yield factory
    for harness in reversed(made):
        await harness.stop()
        await harness.provider.stop()
        await harness.fake.stop()


@pytest.fixture
async def harness(make_harness: HarnessFactory) -> Harness:
    """The bot with the default provider (AceData) and callbacks, started and ready."""
    return await make_harness()
