"""What the engine needs from the outside world to tell members about their jobs.

The engine knows nothing of Discord; `bot.delivery.DiscordPublisher` implements this for Discord,
and tests may implement it however they like.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from db.records import AuditEntry, JobRecord


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    message_id: int | None
    channel_id: int | None
    via: str  # interaction | channel | dm | none
    note: str | None = None  # e.g. "posted as a link: too large to upload"


class DeliveryRetry(Exception):
    """Delivery hit a passing problem (Discord 5xx, a download hiccup): try again later."""


class ResultRefused(Exception):
    """The result link breaks the bot's URL policy (a link-local address, another scheme, a name that
    resolves inside the server's network): nothing was fetched, and retrying cannot help, so the job
    fails and is refunded. `reason` is the policy's typed reason (a metric label, never the URL)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"result link refused ({reason})")
        self.reason = reason


class JobPublisher(Protocol):
    async def progress(self, job: JobRecord) -> None:
        """Show the job's current stage in its progress message (throttled by the implementation)."""

    async def deliver(self, job: JobRecord) -> DeliveryResult:
        """Post the finished video. Raises DeliveryRetry on passing failures, ResultRefused when the
        result link may never be fetched."""

    async def failed(self, job: JobRecord) -> None:
        """Tell the member the job failed, why, and that the credits came back."""

    async def audit(self, entry: AuditEntry) -> bool:
        """Post an audit line to the server's log channel; True when done (or nothing to do)."""
