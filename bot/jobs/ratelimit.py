"""A token bucket that keeps the poller's request rate within the configured bound, and holds back every
request for a while when the provider says the bot asks too often."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class RateLimiter:
    """At most `rate` acquisitions per second on average, in bursts of at most `burst`."""

    def __init__(self, rate: float, burst: int = 1, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.capacity = float(max(1, burst))
        self.tokens = self.capacity
        self.monotonic = monotonic
        self.updated = monotonic()
        self.not_before = 0.0  # monotonic time before which nothing is sent (after a rate limit)
        self._lock = asyncio.Lock()

    def hold(self, seconds: float) -> None:
        """Send nothing for `seconds` (the provider's rate limit), on top of the usual rate."""
        self.not_before = max(self.not_before, self.monotonic() + seconds)

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self.monotonic()
                if now < self.not_before:
                    await asyncio.sleep(self.not_before - now)
                    continue
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)
