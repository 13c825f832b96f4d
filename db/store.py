"""The store's interface: everything the bot asks of its database, and nothing else, split by concern.

Each part of the bot depends on the smallest protocol it needs; `Store` is all of them together.
`db.sqlite.SqliteStore` implements it (and, with the same SQL, every other backend in `db`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from db.notify import Channel, Notifier
from db.records import (
    AuditEntry,
    GuildSettings,
    InboxItem,
    JobRecord,
    JobState,
    NewJob,
    QuotaCheck,
    QuotaLimit,
    Reservation,
    UsageRow,
)


class StoreLifecycle(Protocol):
    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def migrate(self) -> list[int]: ...
    async def schema_version(self) -> int: ...
    async def ping(self) -> bool: ...


class JobStore(Protocol):
    """Jobs from acceptance to delivery: the reservation, the queries and the one-way transitions."""

    async def create_job(self, job: NewJob, quota: QuotaCheck | None) -> Reservation: ...
    async def get_job(self, job_id: str) -> JobRecord | None: ...
    async def get_job_by_callback_token(self, token: str) -> JobRecord | None: ...
    async def get_job_by_input_token(self, token: str) -> JobRecord | None: ...
    async def jobs_in_states(self, states: Sequence[JobState], limit: int = 10_000) -> list[JobRecord]: ...
    async def jobs_created_before(
        self, states: Sequence[JobState], before: float, limit: int = 500
    ) -> list[JobRecord]: ...
    async def jobs_due_for_poll(self, now: float, limit: int) -> list[JobRecord]: ...
    async def list_jobs(
        self,
        *,
        guild_id: int | None,
        user_id: int | None,
        states: Sequence[JobState] | None = None,
        limit: int = 10,
        query: str | None = None,
    ) -> list[JobRecord]: ...
    async def count_in_flight(self, guild_id: int | None, user_id: int) -> int: ...
    async def count_in_states(self, states: Sequence[JobState]) -> int: ...

    async def note_submit_attempt(self, job_id: str, now: float) -> None: ...
    async def mark_submitted(self, job_id: str, task_id: str, now: float, next_poll_at: float) -> bool: ...
    async def record_progress(
        self, job_id: str, provider_status: str, stage: str | None, now: float
    ) -> bool: ...
    async def set_progress_message(self, job_id: str, message_id: int) -> None: ...
    async def schedule_poll(self, job_id: str, next_poll_at: float, attempts: int) -> None: ...
    async def mark_succeeded(
        self,
        job_id: str,
        *,
        video_url: str,
        video_id: str | None,
        duration: float | None,
        provider_status: str,
        now: float,
    ) -> bool: ...
    async def mark_failed(
        self, job_id: str, *, category: str, message: str, provider_status: str | None, now: float
    ) -> bool: ...
    async def mark_undeliverable(self, job_id: str, *, category: str, message: str, now: float) -> bool: ...
    async def begin_delivery(self, job_id: str, nonce: str, now: float) -> JobRecord | None: ...
    async def mark_delivered(
        self,
        job_id: str,
        *,
        message_id: int | None,
        channel_id: int | None,
        via: str,
        note: str | None,
        now: float,
    ) -> bool: ...


class CallbackInbox(Protocol):
    """Provider callbacks, written before the listener answers and processed off the request path."""

    async def add_callbacks(self, items: Sequence[tuple[str, str]], now: float) -> None: ...
    async def pending_callbacks(self, limit: int = 100) -> list[InboxItem]: ...
    async def mark_callback_processed(self, item_id: int, now: float) -> None: ...


class GuildSettingsStore(Protocol):
    """Per-server policy: allowed channels, blocklist, pause, log channel and moderator role."""

    async def get_guild_settings(self, guild_id: int) -> GuildSettings: ...
    async def set_paused(self, guild_id: int, paused: bool, reason: str | None, now: float) -> None: ...
    async def set_log_channel(self, guild_id: int, channel_id: int | None, now: float) -> None: ...
    async def set_mod_role(self, guild_id: int, role_id: int | None, now: float) -> None: ...
    async def allow_channel(self, guild_id: int, channel_id: int) -> bool: ...
    async def deny_channel(self, guild_id: int, channel_id: int) -> bool: ...
    async def add_blocked_term(self, guild_id: int, term: str) -> bool: ...
    async def remove_blocked_term(self, guild_id: int, term: str) -> bool: ...


class CreditLedger(Protocol):
    """Quota limits and the credit ledger: what members may spend, what they spent, and resets."""

    async def set_quota_limit(self, limit: QuotaLimit, now: float) -> None: ...
    async def quota_limits(self, guild_id: int) -> list[QuotaLimit]: ...
    async def clear_quota_limit(self, guild_id: int, scope: str, target_id: int) -> bool: ...
    async def spent_credits(self, guild_id: int | None, user_id: int, since: float) -> int: ...
    async def reset_quota(self, guild_id: int, user_id: int, actor_id: int, now: float) -> int: ...
    async def usage(self, guild_id: int, since: float, user_id: int | None = None) -> list[UsageRow]: ...


class AuditLog(Protocol):
    """Admin changes and job events, kept and posted to the server's log channel once."""

    async def add_audit(
        self,
        guild_id: int | None,
        actor_id: int | None,
        action: str,
        detail: str,
        job_id: str | None,
        now: float,
    ) -> int: ...
    async def unposted_audit(self, limit: int = 50) -> list[AuditEntry]: ...
    async def mark_audit_posted(self, entry_id: int, now: float) -> None: ...


class DueTimes(Protocol):
    """When the engine's background loops next have work, so they sleep until then."""

    async def next_poll_due_at(self) -> float | None: ...
    async def earliest_created_at(self, states: Sequence[JobState]) -> float | None: ...


class Notifications(Protocol):
    """Wake-ups between processes sharing the database (db.notify)."""

    @property
    def notifier(self) -> Notifier: ...
    async def notify(self, channel: Channel, payload: str = "") -> None: ...


class Store(
    StoreLifecycle,
    JobStore,
    CallbackInbox,
    GuildSettingsStore,
    CreditLedger,
    AuditLog,
    DueTimes,
    Notifications,
    Protocol,
):
    """Everything together: what the bot's client builds and hands to the engine and the cogs."""
