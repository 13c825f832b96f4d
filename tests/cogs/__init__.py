"""End-to-end tests of the cogs: the real bot against the fake Discord and a fake provider.

The helpers below drive the commands the quota and admin tests share.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from tests.fakes.discord import EPHEMERAL, FakeMessage
from tests.harness import Harness

ADMIN = "kling-admin"
POLICY_COGS = ("cogs.quota", "cogs.admin")
ACCEPTED = re.compile(r"Job `(\w+)` accepted")

HarnessFactory = Callable[..., Awaitable[Harness]]


async def start_bot(make_harness: HarnessFactory, **options: Any) -> Harness:
    """A started harness whose bot loads the quota and admin cogs whatever the default list holds."""
    harness = await make_harness(start=False, **options)
    harness.cogs = tuple(dict.fromkeys((*harness.cogs, *POLICY_COGS)))
    await harness.start()
    return harness


async def answer(
    harness: Harness, name: str, options: dict[str, Any] | None = None, **kwargs: Any
) -> FakeMessage:
    """Send a slash command and return the bot's (ephemeral) answer."""
    handle = await harness.slash(name, options, **kwargs)
    message = await harness.reply(handle)
    assert message.flags & EPHEMERAL, f"/{name} answered in public: {message.content!r}"
    return message


async def admin(
    harness: Harness, subcommand: str, options: dict[str, Any] | None = None, *, user_id: int | None = None
) -> str:
    """Run `/kling-admin <subcommand>` (as the server owner unless told otherwise); the answer's text."""
    message = await answer(
        harness, ADMIN, options, subcommand=subcommand, user_id=user_id or harness.guild.owner_id
    )
    return message.content


async def make_video(
    harness: Harness, prompt: str = "a lighthouse at dawn", *, user_id: int | None = None, **options: Any
) -> tuple[str | None, str]:
    """`/video text`; returns (job id or None when refused, the answer's text)."""
    message = await answer(
        harness, "video", {"prompt": prompt, **options}, subcommand="text", user_id=user_id
    )
    found = ACCEPTED.search(message.content)
    return (found.group(1) if found else None), message.content


def ledger(harness: Harness, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Read the store's database directly, independently of the code under test."""
    with sqlite3.connect(harness.tmp / "klingbot.db") as db:
        return db.execute(sql, params).fetchall()
