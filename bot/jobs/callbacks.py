"""Callbacks: authenticate and read a provider's report, persist it to the inbox (the answer goes back
only once it is stored), and process the inbox off the request path, oldest first."""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.jobs.inbox import InboxWriter
from bot.jobs.leases import Leases
from bot.jobs.loops import job_log_fields
from bot.json_input import read_json
from bot.models import TaskUpdate
from bot.providers.base import ProviderClient
from db.records import JobRecord, JobState
from db.store import Store

log = logging.getLogger(__name__)

ApplyUpdate = Callable[[JobRecord, TaskUpdate], Awaitable[bool]]
# A report the provider's parser cannot read; RecursionError too, should a parser recurse on a body.
_UNREADABLE = (ValueError, KeyError, TypeError, AttributeError, RecursionError)


class CallbackOutcome(StrEnum):
    """What became of a callback; the listener turns it into an HTTP status (values are metric labels)."""

    ACCEPTED = "accepted"  # stored in the inbox
    UNKNOWN_TOKEN = "unknown_token"  # noqa: S105 (a metric label) no job has this callback token
    BAD_SIGNATURE = "bad_signature"  # the provider's signature does not check out
    UNREADABLE = "unreadable"  # JSON, but not a report this provider sends
    WRONG_TASK = "task_mismatch"  # names another task than the job's


@dataclass(frozen=True, slots=True)
class CallbackTarget:
    """The little a callback needs to know about its job before it is stored."""

    job_id: str
    task_id: str | None


class TokenCache:
    """Tokens never change, so a job found once (with its task id known) is remembered, up to `capacity`
    jobs; the least recently used is forgotten first, so the cache never outgrows its bound."""

    def __init__(self, store: Store, capacity: int = 10_000) -> None:
        self.store = store
        self.capacity = max(1, capacity)
        self._targets: OrderedDict[str, CallbackTarget] = OrderedDict()

    def __len__(self) -> int:
        return len(self._targets)

    async def job_for(self, token: str) -> CallbackTarget | None:
        cached = self._targets.get(token)
        if cached is not None:
            self._targets.move_to_end(token)
            return cached
        job = await self.store.get_job_by_callback_token(token)
        if job is None:
            return None
        target = CallbackTarget(job.id, job.provider_task_id)
        if target.task_id is not None:  # before that, the next lookup must see the task id arrive
            self._targets[token] = target
            if len(self._targets) > self.capacity:
                self._targets.popitem(last=False)
        return target


class CallbackInbox:
    def __init__(
        self,
        *,
        store: Store,
        provider: ProviderClient,
        apply_update: ApplyUpdate,
        clock: Callable[[], float],
        callback_grace: float | None,
        written: Callable[[], None],
        leases: Leases,
        retry_after: float,
        token_cache_size: int = 10_000,
    ) -> None:
        self.store = store
        self.provider = provider
        self.apply_update = apply_update
        self.clock = clock
        # With callbacks, a job that just reported is not overdue: its next poll moves this far out.
        self.callback_grace = callback_grace
        self.written = written  # wakes the inbox loop
        self.leases = leases  # each stored callback is processed by the process that leased it
        self.retry_after = retry_after  # a callback whose processing failed waits this long
        self.tokens = TokenCache(store, token_cache_size)
        self._writer = InboxWriter(store, clock)
        self.failed_last_pass = False  # whether the last pass left items behind (retried later)

    async def accept(self, token: str, body: Any, headers: Mapping[str, str]) -> CallbackOutcome:
        """Authenticate, read and persist a callback; processing happens after the answer."""
        target = await self.tokens.job_for(token)
        if target is None:
            return CallbackOutcome.UNKNOWN_TOKEN
        if not self.provider.verify_callback(headers, body, now=self.clock()):
            return CallbackOutcome.BAD_SIGNATURE
        try:
            update = self.provider.parse_callback(body)
        except _UNREADABLE:
            return CallbackOutcome.UNREADABLE
        if target.task_id and update.task_id and update.task_id != target.task_id:
            log.warning("callback for job %s names another task; ignored", target.job_id)
            return CallbackOutcome.WRONG_TASK
        await self._writer.add(target.job_id, json.dumps(body))
        self.written()
        return CallbackOutcome.ACCEPTED

    async def process(self) -> int:
        """Apply every stored callback no other process holds, oldest first; returns how many were
        processed. An item whose processing fails stays in the inbox, untouched for `retry_after`
        seconds, without holding up the others."""
        processed = 0
        failed = False
        while items := await self.store.claim_callbacks(self.leases.terms(), 100):
            for item in items:
                try:
                    await self._process(item.job_id, item.body)
                except Exception:
                    log.exception("processing a callback for job %s failed; will retry", item.job_id)
                    failed = True
                    until = self.clock() + self.retry_after
                    await self.store.defer_callback(item.id, self.leases.owner, until)
                    continue
                await self.store.mark_callback_processed(item.id, self.clock())
                processed += 1
        self.failed_last_pass = failed
        return processed

    async def _process(self, job_id: str, body: str) -> None:
        job = await self.store.get_job(job_id)
        if job is None:
            return
        with job_log_fields(job):
            try:
                update = self.provider.parse_callback(read_json(body))
            except _UNREADABLE:
                return
            log.info("job %s: callback reports %s", job.id, update.status.value)
            await self.apply_update(job, update)
            if job.status is JobState.SUBMITTED and self.callback_grace is not None:
                await self.store.schedule_poll(job.id, self.clock() + self.callback_grace, 0)
