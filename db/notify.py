"""Wake-ups between processes: a writer says "there is new work" on a channel, listeners react at once.

A store sends a notification inside the transaction that wrote the work, so it is delivered only when
that transaction commits (PostgreSQL's NOTIFY works that way; the SQLite store holds its notifications
until COMMIT and drops them on ROLLBACK). Listeners must be quick and must not block: they wake a loop or
start a task. A notification carries a short payload (a job id, or nothing); an empty payload also means
"notifications may have been missed, look again" (sent after the listening connection came back).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)


class Channel(StrEnum):
    """The kinds of new work; the values are PostgreSQL channel names."""

    CALLBACK_ARRIVED = "klingbot_callback_arrived"  # a provider callback is in the inbox
    JOB_ACCEPTED = "klingbot_job_accepted"  # a new job waits to be submitted (payload: its id)
    SLOT_FREED = "klingbot_slot_freed"  # a provider slot came free: the next queued job may go
    AUDIT_ADDED = "klingbot_audit_added"  # an audit line waits to be posted


Listener = Callable[[str], None]
LOOK_AGAIN = ""  # the payload that says: something may have been missed


class Subscription:
    """One listener on one channel, until `cancel()`."""

    def __init__(self, listeners: list[Listener], listener: Listener) -> None:
        self._listeners = listeners
        self._listener = listener

    def cancel(self) -> None:
        if self._listener in self._listeners:
            self._listeners.remove(self._listener)


class Notifier(Protocol):
    async def listen(self, channel: Channel, listener: Listener) -> Subscription:
        """Call `listener(payload)` for every notification on `channel` from now on (committed ones,
        from this process or any other sharing the database)."""
        ...

    async def close(self) -> None: ...


class Listeners:
    """The listeners of one notifier, by channel, each called safely."""

    def __init__(self) -> None:
        self._by_channel: dict[Channel, list[Listener]] = {}

    def add(self, channel: Channel, listener: Listener) -> Subscription:
        listeners = self._by_channel.setdefault(channel, [])
        listeners.append(listener)
        return Subscription(listeners, listener)

    @property
    def channels(self) -> list[Channel]:
        return list(self._by_channel)

    def deliver(self, channel: Channel, payload: str) -> None:
        for listener in list(self._by_channel.get(channel, ())):
            try:
                listener(payload)
            except Exception:  # one listener's bug must not silence the others
                log.exception("a listener on %s failed", channel.value)

    def clear(self) -> None:
        self._by_channel.clear()


class LocalHub:
    """Every notifier of one database in this process (SQLite: one file is one process's database)."""

    def __init__(self) -> None:
        self.notifiers: weakref.WeakSet[LocalNotifier] = weakref.WeakSet()

    def publish(self, channel: Channel, payload: str) -> None:
        for notifier in list(self.notifiers):
            notifier.listeners.deliver(channel, payload)


_HUBS: weakref.WeakValueDictionary[str, LocalHub] = weakref.WeakValueDictionary()


def hub_for(path: Path | None) -> LocalHub:
    """The hub shared by every store on this database file (an in-memory database has its own)."""
    if path is None:
        return LocalHub()
    key = str(path.resolve())
    hub = _HUBS.get(key)
    if hub is None:
        hub = _HUBS[key] = LocalHub()
    return hub


class LocalNotifier:
    """In-process notifications: what a SQLite store sends reaches every store on the same file."""

    def __init__(self, hub: LocalHub) -> None:
        self.hub = hub
        self.listeners = Listeners()
        hub.notifiers.add(self)

    async def listen(self, channel: Channel, listener: Listener) -> Subscription:
        return self.listeners.add(channel, listener)

    def publish(self, channel: Channel, payload: str) -> None:
        self.hub.publish(channel, payload)

    async def close(self) -> None:
        self.listeners.clear()
