"""The one retry helper: exponential backoff with full jitter, bounded attempts, delays from configuration.

Every retrying caller (provider HTTP, kie uploads, job submission, delivery) describes its schedule with a
`RetryPolicy` held in its configuration object, so tests shorten delays by configuration, never by patching
module constants.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)
from tenacity.wait import wait_base


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4  # including the first
    first_delay: float = 0.5  # upper bound of the first wait, seconds; each later bound doubles
    max_delay: float = 8.0  # no single wait is longer than this

    def delay_bound(self, retry_number: int) -> float:
        """The upper bound of the wait before retry `retry_number` (1 = the first retry)."""
        return float(min(self.max_delay, self.first_delay * 2 ** (retry_number - 1)))


NO_DELAY = RetryPolicy(attempts=4, first_delay=0.0, max_delay=0.0)


def retrying(
    policy: RetryPolicy,
    *,
    retry_on: Callable[[BaseException], bool],
    before_sleep: Callable[[RetryCallState], None] | None = None,
    min_wait: Callable[[BaseException], float | None] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncRetrying:
    """`async for attempt in retrying(...): with attempt: ...` — re-raises the last error when spent.

    Waits are drawn uniformly between 0 and the bound (full jitter), so many callers that failed
    together do not retry together. `min_wait` may raise a wait to what the failure asks for (a
    server's Retry-After); `sleep` is injectable so tests can record the waits.
    """
    jitter = wait_random_exponential(multiplier=policy.first_delay, max=policy.max_delay)
    return AsyncRetrying(
        stop=stop_after_attempt(max(1, policy.attempts)),
        wait=jitter if min_wait is None else _AtLeast(jitter, min_wait),
        retry=retry_if_exception(retry_on),
        before_sleep=before_sleep,
        sleep=sleep,
        reraise=True,
    )


class _AtLeast(wait_base):
    """The jittered wait, raised to the floor the failed attempt's error asks for."""

    def __init__(self, wait: wait_base, floor: Callable[[BaseException], float | None]) -> None:
        self._wait = wait
        self._floor = floor

    def __call__(self, retry_state: RetryCallState) -> float:
        delay = float(self._wait(retry_state))
        error = retry_state.outcome.exception() if retry_state.outcome is not None else None
        floor = self._floor(error) if error is not None else None
        return max(delay, floor) if floor is not None else delay
