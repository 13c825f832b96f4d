"""Audit records: what happened, who did it, and the facts, stored as data (never as sentences or markup).

The Discord-facing audit poster renders a record into a log-channel line; the store keeps `facts` as
JSON in the `detail` column. Rows written before records were structured hold plain text there, and
`decode_facts` returns them as {"text": …}.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from db.records import JobRecord
from db.store import Store

FactValue = str | int | float | bool | None


class AuditAction(StrEnum):
    JOB_SUBMITTED = "job submitted"  # facts: kind, user_id, credits
    JOB_FINISHED = "job finished"  # facts: kind, user_id, credits
    JOB_FAILED = "job failed"  # facts: kind, user_id, credits, category, message
    JOB_CANCELLED = "job cancelled"  # facts: kind, user_id, credits, reason (requester | moderator |
    # wait_limit); the actor is who cancelled (None: the bot, at the wait limit)
    VIDEO_DELETED = "video deleted"  # facts: user_id (the requester)
    QUOTA_SET = "quota set"  # facts: scope, target_id, credits (None: unlimited), period,
    # previous_credits, previous_period (None: no limit was set before)
    QUOTA_CLEARED = "quota cleared"  # facts: scope, target_id
    QUOTA_RESET = "quota reset"  # facts: user_id, credits (given back)
    CHANNEL_ALLOWED = "channel allowed"  # facts: channel_id
    CHANNEL_DENIED = "channel denied"  # facts: channel_id
    BLOCKLIST_ADD = "blocklist add"  # facts: term
    BLOCKLIST_REMOVE = "blocklist remove"  # facts: term
    PAUSED = "paused"  # facts: reason
    RESUMED = "resumed"  # facts: none
    LOG_CHANNEL = "log channel"  # facts: channel_id (None: turned off)
    MOD_ROLE = "mod role"  # facts: role_id (None: cleared)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    action: AuditAction
    guild_id: int | None
    actor_id: int | None  # None: the bot itself
    job_id: str | None = None
    facts: dict[str, FactValue] = field(default_factory=dict)


def encode_facts(facts: dict[str, FactValue]) -> str:
    return json.dumps(facts, sort_keys=True, separators=(",", ":"))


def decode_facts(detail: str) -> dict[str, FactValue]:
    try:
        value = json.loads(detail)
    except ValueError:
        return {"text": detail}
    return value if isinstance(value, dict) else {"text": detail}


def job_facts(job: JobRecord, **more: FactValue) -> dict[str, FactValue]:
    """The facts every job record carries (kind, member, credits), plus any given."""
    return {"kind": job.kind, "user_id": job.user_id, "credits": job.credits, **more}


class AuditTrail:
    """Writes audit records to the store; `written` is called after each (it wakes the poster)."""

    def __init__(self, store: Store, clock: Callable[[], float], written: Callable[[], None]) -> None:
        self.store = store
        self.clock = clock
        self.written = written

    async def record(self, record: AuditRecord) -> None:
        if record.guild_id is None:
            return  # no server, no log channel
        await self.store.add_audit(
            record.guild_id,
            record.actor_id,
            record.action.value,
            encode_facts(record.facts),
            record.job_id,
            self.clock(),
        )
        self.written()
