"""A plain rate limit on a status query (kling 1302, a 429) slows every query down; other errors do not."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.jobs.polling import Poller, PollSettings
from bot.metrics import Metrics
from bot.models import ErrorCategory, JobKind, TaskUpdate
from bot.providers.base import ProviderError
from db.records import JobRecord
from db.sqlite import SqliteStore
from tests.db.factories import NOW, new_job


class RefusingProvider:
    supports_batch_query = False

    def __init__(self, error: ProviderError) -> None:
        self.error = error
        self.queries = 0

    async def query(self, task_id: str, *, kind: JobKind) -> TaskUpdate:
        self.queries += 1
        raise self.error


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = SqliteStore(tmp_path / "poll.db")
    await store.open()
    await store.migrate()
    await store.create_job(new_job("a"), None)
    await store.mark_submitted("a", "task-a", NOW, NOW)
    yield store
    await store.close()


def poller(store: SqliteStore, provider: Any) -> Poller:
    async def apply(job: JobRecord, update: TaskUpdate) -> bool:
        raise AssertionError("no update arrives")

    settings = PollSettings(interval=15.0, max_backoff=300.0, max_rate=5.0, concurrency=1, batch_size=10)
    return Poller(
        store=store,
        provider=provider,
        metrics=Metrics(),
        settings=settings,
        apply_update=apply,
        clock=lambda: NOW,
    )


async def test_a_rate_limited_query_holds_back_every_query(store: SqliteStore) -> None:
    provider = RefusingProvider(
        ProviderError(ErrorCategory.RATE_LIMITED, "slow down", code=1302, retry_after=7)
    )
    polling = poller(store, provider)
    before = time.monotonic()
    assert await polling.poll_due_jobs() == 1
    assert provider.queries == 1
    assert polling.limiter.not_before >= before + 7


async def test_other_query_errors_only_back_off_the_job(store: SqliteStore) -> None:
    provider = RefusingProvider(ProviderError(ErrorCategory.TRANSIENT, "down"))
    polling = poller(store, provider)
    await polling.poll_due_jobs()
    assert polling.limiter.not_before == 0.0
    job = await store.get_job("a")
    assert job is not None and job.next_poll_at is not None and job.next_poll_at > NOW
