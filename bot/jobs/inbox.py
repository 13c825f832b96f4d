"""Group commit for callbacks: concurrent callbacks share one transaction, each answered only once its
row is committed. Under load this turns hundreds of small transactions into a few large ones."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from db.store import Store


class InboxWriter:
    def __init__(self, store: Store, clock: Callable[[], float], max_batch: int = 500) -> None:
        self.store = store
        self.clock = clock
        self.max_batch = max_batch
        self._pending: list[tuple[str, str, asyncio.Future[None]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def add(self, job_id: str, body: str) -> None:
        """Returns once the callback is durably in the inbox; raises if the write failed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((job_id, body, done))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())
        await done

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            try:
                await self.store.add_callbacks([(job_id, body) for job_id, body, _ in batch], self.clock())
            except Exception as error:
                for _, _, done in batch:
                    if not done.done():
                        done.set_exception(error)
                continue
            for _, _, done in batch:
                if not done.done():
                    done.set_result(None)
