"""PostgreSQL LISTEN on a connection of its own (not the pool's: a pooled connection is handed to
others), connected on the first `listen` and connected again whenever it drops.

After a reconnection every channel's listeners get the LOOK_AGAIN payload: notifications sent while
the connection was down are lost, so listeners look at the store again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from bot.retry import RetryPolicy, retrying
from db.notify import LOOK_AGAIN, Channel, Listener, Listeners, Subscription

log = logging.getLogger(__name__)

# Waits between attempts to get the listening connection back; attempts go on while the store is open.
RECONNECT = RetryPolicy(attempts=8, first_delay=0.2, max_delay=10.0)


class PostgresNotifier:
    def __init__(self, dsn: str, *, reconnect: RetryPolicy = RECONNECT) -> None:
        self._dsn = dsn
        self._policy = reconnect
        self.listeners = Listeners()
        self._connection: Any = None
        self._lock = asyncio.Lock()
        self._reconnecting: asyncio.Task[None] | None = None
        self._closed = False

    def __repr__(self) -> str:  # the DSN may carry a password
        return f"PostgresNotifier(connected={self._connection is not None})"

    async def listen(self, channel: Channel, listener: Listener) -> Subscription:
        new_channel = channel not in self.listeners.channels
        subscription = self.listeners.add(channel, listener)
        async with self._lock:
            self._closed = False
            if self._connection is None and self._reconnecting is None:
                await self._connect()
            elif new_channel and self._connection is not None:
                await self._connection.add_listener(channel.value, self._received)
        return subscription

    async def close(self) -> None:
        self._closed = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            await asyncio.gather(self._reconnecting, return_exceptions=True)
            self._reconnecting = None
        async with self._lock:
            connection, self._connection = self._connection, None
            if connection is not None:
                with contextlib.suppress(Exception):
                    await connection.close(timeout=5)
        self.listeners.clear()

    async def _connect(self) -> None:
        connection = await asyncpg.connect(self._dsn)
        try:
            for channel in self.listeners.channels:
                await connection.add_listener(channel.value, self._received)
        except BaseException:
            connection.terminate()
            raise
        connection.add_termination_listener(self._lost)
        self._connection = connection

    def _received(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        self.listeners.deliver(Channel(channel), payload)

    def _lost(self, connection: Any) -> None:
        if self._closed or connection is not self._connection:
            return
        log.warning("the database connection that listens for notifications dropped; reconnecting")
        self._connection = None
        self._reconnecting = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        while not self._closed:
            try:
                async for attempt in retrying(self._policy, retry_on=_passing):
                    with attempt:
                        async with self._lock:
                            await self._connect()
            except Exception:
                log.exception("listening for notifications again failed; still trying")
                await asyncio.sleep(self._policy.max_delay)
                continue
            break
        self._reconnecting = None
        if self._closed:
            return
        log.info("listening for notifications again")
        for channel in self.listeners.channels:
            self.listeners.deliver(channel, LOOK_AGAIN)


def _passing(error: BaseException) -> bool:
    return isinstance(error, OSError | TimeoutError | asyncpg.PostgresError | asyncpg.InterfaceError)
