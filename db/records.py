"""Plain records the store hands out. They know nothing of Discord or of providers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class JobState(StrEnum):
    """A job's life in the store. Only these transitions exist:

    queued → pending → submitted → succeeded → delivered;
    pending → queued (the provider was full: back to the front of the line);
    queued → cancelled (by the member, a moderator, or the wait limit);
    queued/pending/submitted/succeeded → failed.
    """

    QUEUED = "queued"  # accepted, credits reserved, waiting in the line for a provider slot
    PENDING = "pending"  # claimed from the line: holds a slot; being handed to the provider
    SUBMITTED = "submitted"  # the provider has it (task id known)
    SUCCEEDED = "succeeded"  # the video exists; credits charged; not yet posted
    DELIVERED = "delivered"  # posted (or, when nowhere to post, kept for /job)
    FAILED = "failed"  # terminal; credits refunded
    CANCELLED = "cancelled"  # terminal; left the line before reaching the provider; credits refunded

    @property
    def in_flight(self) -> bool:
        """Running: holds one of the provider's slots (and counts against the member's running cap)."""
        return self in (JobState.PENDING, JobState.SUBMITTED)

    @property
    def ended(self) -> bool:
        """Nothing more will happen to the job: posted (or kept for /job), failed, or cancelled."""
        return self in (JobState.DELIVERED, JobState.FAILED, JobState.CANCELLED)


class Settlement(StrEnum):
    RESERVED = "reserved"
    CHARGED = "charged"
    REFUNDED = "refunded"


@dataclass(frozen=True, slots=True)
class NewJob:
    id: str
    guild_id: int | None
    channel_id: int
    user_id: int
    kind: str
    params: dict[str, Any]
    provider: str
    callback_token: str
    input_token: str | None
    credits: int
    interaction_token: str | None
    interaction_expires_at: float | None
    application_id: int | None
    created_at: float
    parent_job_id: str | None = None
    queued: bool = False  # join the line (the engine's jobs); False: claimed at once (seeding, tools)


@dataclass(frozen=True, slots=True)
class JobRecord:
    id: str
    guild_id: int | None
    channel_id: int
    user_id: int
    kind: str
    params: dict[str, Any]
    parent_job_id: str | None
    provider: str
    provider_task_id: str | None
    callback_token: str
    input_token: str | None
    status: JobState
    provider_status: str | None
    progress_stage: str
    result_url: str | None
    result_video_id: str | None
    result_duration: float | None
    error_category: str | None
    error_message: str | None
    credits: int
    settlement: Settlement
    interaction_token: str | None
    interaction_expires_at: float | None
    application_id: int | None
    progress_message_id: int | None
    delivery_nonce: str | None
    delivery_attempts: int
    delivered_message_id: int | None
    delivered_channel_id: int | None
    delivered_via: str | None
    delivery_note: str | None
    submit_attempts: int
    poll_attempts: int
    next_poll_at: float | None
    callback_count: int
    created_at: float
    submitted_at: float | None
    finished_at: float | None
    delivered_at: float | None
    updated_at: float
    line_ticket: int | None = None  # its place in the arrival order of the line
    claim_ticket: int | None = None  # when it last left the line, on the same counter
    claimed_at: float | None = None  # when it left the line for the provider (its timeout counts from here)
    inputs_removed_at: float | None = None  # when retention removed the job's input files
    lease_owner: str | None = None  # the process submitting, polling or delivering it (db.sql.leases)
    lease_until: float | None = None  # when that claim lapses unless renewed

    def __repr__(self) -> str:  # tokens and signed URLs stay out of logs
        return f"JobRecord(id={self.id!r}, kind={self.kind}, status={self.status.value}, user={self.user_id})"

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> JobRecord:
        values = dict(row)
        values["params"] = json.loads(values["params"])
        values["status"] = JobState(values["status"])
        values["settlement"] = Settlement(values["settlement"])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Reservation:
    """The answer to "may this job start?": accepted, or refused with the figures behind the refusal."""

    accepted: bool
    reason: str | None = None  # "quota" | "in_flight" | "queue_full"
    spent: int = 0
    in_flight: int = 0
    queued: int = 0  # the member's jobs waiting in the line (with max_queued)


@dataclass(frozen=True, slots=True)
class QuotaCheck:
    """What the engine decided applies to this member; the store enforces it atomically."""

    limit: int | None  # credits per period; None is unlimited
    window_start: float  # the start of the current period (UTC calendar boundary)
    max_in_flight: int  # without max_queued: refuse past this many jobs in flight
    # With it: the job joins the line, refused only past this many of the member's jobs waiting
    # (their running jobs are capped when the line hands jobs out, not here).
    max_queued: int | None = None


@dataclass(frozen=True, slots=True)
class QuotaLimit:
    guild_id: int
    scope: str  # guild | role | user
    target_id: int
    credits: int | None  # None is unlimited
    period: str  # day | week | month


@dataclass(frozen=True, slots=True)
class GuildSettings:
    guild_id: int
    paused: bool = False
    pause_reason: str | None = None
    log_channel_id: int | None = None
    mod_role_id: int | None = None
    allowed_channels: frozenset[int] = field(default_factory=frozenset)
    blocklist: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UsageRow:
    user_id: int
    kind: str
    jobs: int
    credits_charged: int
    credits_reserved: int
    credits_refunded: int


@dataclass(frozen=True, slots=True)
class InboxItem:
    id: int
    job_id: str
    body: str
    received_at: float


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    guild_id: int | None
    actor_id: int | None
    action: str
    detail: str
    job_id: str | None
    created_at: float


@dataclass(frozen=True, slots=True)
class Lease:
    """A claim on a piece of background work: `owner` (an INSTANCE_ID) holds it from `now` to `until`.

    Work is free to claim when nobody holds it, its lease lapsed, or its holder is `owner` itself (a
    process restarted under the same INSTANCE_ID takes its own work back at once)."""

    owner: str
    now: float
    until: float


@dataclass(frozen=True, slots=True)
class LineRules:
    """What the line may hand out now: the provider's slots and each member's running cap."""

    max_concurrency: int  # PROVIDER_MAX_CONCURRENCY: the working limit never rises above it
    max_running_per_member: int


@dataclass(frozen=True, slots=True)
class SlotState:
    """The provider's slots as the store counts them, and the working limit kept beside them."""

    running: int  # jobs claimed or at the provider
    waiting: int  # jobs in the line
    working_limit: int  # slots the line fills now (lowered after "full", raised after a quiet while)
    lowered: bool  # below PROVIDER_MAX_CONCURRENCY
    changed_at: float | None  # when the working limit last moved
    held_until: float | None  # no claims before this (the provider was full with nothing running)
    oldest_waiting_since: float | None  # acceptance time of the longest-waiting job


@dataclass(frozen=True, slots=True)
class LineEntry:
    """One job waiting in the line, with what the fair order needs to know of it."""

    job_id: str
    guild_id: int | None
    user_id: int
    line_ticket: int
    created_at: float
    paused: bool  # its server is paused: it keeps its place but does not move


@dataclass(frozen=True, slots=True)
class MemberTurn:
    """A member with jobs in the line: how many they run now and when they last got a slot."""

    guild_id: int | None
    user_id: int
    running: int
    last_claim: int | None  # the claim ticket of their latest job to leave the line


@dataclass(frozen=True, slots=True)
class LineSnapshot:
    entries: list[LineEntry]  # in arrival order
    members: list[MemberTurn]
