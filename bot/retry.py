"""The one retry helper: exponential backoff with full jitter, bounded attempts, delays from configuration.

Every retrying caller (provider HTTP, kie uploads, job submission, delivery) describes its schedule with a
`RetryPolicy` held in its configuration object, so tests shorten delays by configuration, never by patching
module constants.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)


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
) -> AsyncRetrying:
    """`async for attempt in retrying(...): with attempt: ...` — re-raises the last error when spent.

    Waits are drawn uniformly between 0 and the bound (full jitter), so many callers that failed
    together do not retry together.
    """
    return AsyncRetrying(
        stop=stop_after_attempt(max(1, policy.attempts)),
        wait=wait_random_exponential(multiplier=policy.first_delay, max=policy.max_delay),
        retry=retry_if_exception(retry_on),
        before_sleep=before_sleep,
        reraise=True,
    )
