"""Wake-ups between store instances (processes, on PostgreSQL): delivered on commit, never on rollback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from db.notify import Channel
from db.sql.store import SqlStore
from tests.db.factories import NOW, new_job
from tests.db.servers import make_store

WAIT = 5.0


class Heard:
    """What one channel's listener was told, waited on without polling."""

    def __init__(self) -> None:
        self.payloads: list[str] = []
        self._changed = asyncio.Condition()

    def __call__(self, payload: str) -> None:
        self.payloads.append(payload)
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def until(self, predicate: Callable[[list[str]], bool]) -> list[str]:
        async def wait() -> list[str]:
            async with self._changed:
                await self._changed.wait_for(lambda: predicate(self.payloads))
            return self.payloads

        return await asyncio.wait_for(wait(), WAIT)


@pytest.fixture
async def other(store: SqlStore, store_url: str) -> AsyncIterator[SqlStore]:
    """A second store on the same database: another process, on PostgreSQL."""
    second = make_store(store_url)
    await second.open()
    yield second
    await second.close()


async def listening(store: SqlStore, channel: Channel) -> Heard:
    heard = Heard()
    await store.notifier.listen(channel, heard)
    return heard


async def test_a_committed_notification_reaches_another_store(store: SqlStore, other: SqlStore) -> None:
    heard = await listening(other, Channel.SLOT_FREED)
    async with store.database.transaction() as session:
        await session.notify(Channel.SLOT_FREED, "job-1")
    assert await heard.until(lambda p: len(p) >= 1) == ["job-1"]


async def test_a_rolled_back_transaction_notifies_nobody(store: SqlStore, other: SqlStore) -> None:
    heard = await listening(other, Channel.SLOT_FREED)
    with pytest.raises(RuntimeError):
        async with store.database.transaction() as session:
            await session.notify(Channel.SLOT_FREED, "rolled back")
            raise RuntimeError("abandon the transaction")
    await store.notify(Channel.SLOT_FREED, "after")
    # Notifications arrive in commit order, so once "after" is here the rolled-back one never will be.
    assert await heard.until(lambda p: "after" in p) == ["after"]


async def test_writes_that_make_work_notify(store: SqlStore, other: SqlStore) -> None:
    accepted = await listening(other, Channel.JOB_ACCEPTED)
    callbacks = await listening(other, Channel.CALLBACK_ARRIVED)
    audit = await listening(other, Channel.AUDIT_ADDED)
    await store.create_job(new_job("a"), None)
    assert await accepted.until(lambda p: len(p) >= 1) == ["a"]
    await store.add_callbacks([("a", "{}")], NOW)
    assert await callbacks.until(lambda p: len(p) >= 1) == [""]
    await store.add_audit(1, 7, "paused", "{}", None, NOW)
    assert await audit.until(lambda p: len(p) >= 1) == [""]


async def test_channels_are_kept_apart_and_a_cancelled_listener_hears_nothing(
    store: SqlStore, other: SqlStore
) -> None:
    slots, audit = Heard(), Heard()
    cancelled = await other.notifier.listen(Channel.SLOT_FREED, slots)
    await other.notifier.listen(Channel.AUDIT_ADDED, audit)
    cancelled.cancel()
    await store.notify(Channel.SLOT_FREED, "x")
    await store.notify(Channel.AUDIT_ADDED, "y")
    assert await audit.until(lambda p: len(p) >= 1) == ["y"]
    assert slots.payloads == []


async def test_the_writing_store_hears_its_own_notifications(store: SqlStore) -> None:
    heard = await listening(store, Channel.JOB_ACCEPTED)
    await store.create_job(new_job("mine"), None)
    assert await heard.until(lambda p: len(p) >= 1) == ["mine"]
