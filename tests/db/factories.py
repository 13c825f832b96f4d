"""Jobs for the store's tests."""

from __future__ import annotations

from db.records import NewJob

NOW = 1_780_000_000.0


def new_job(
    job_id: str, *, user: int = 7, credits: int = 1, at: float = NOW, guild: int = 1, queued: bool = False
) -> NewJob:
    return NewJob(
        id=job_id,
        guild_id=guild,
        channel_id=2,
        user_id=user,
        kind="motion",
        params={"prompt": "p"},
        provider="acedata",
        callback_token=f"cb-{job_id}",
        input_token=f"in-{job_id}",
        credits=credits,
        interaction_token="tok",
        interaction_expires_at=at + 900,
        application_id=3,
        created_at=at,
        queued=queued,
    )
