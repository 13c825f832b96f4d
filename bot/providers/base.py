"""The one interface every provider family implements, and the error type they all raise."""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from bot.models import ErrorCategory, GenerationRequest, JobKind, TaskUpdate


class ProviderError(Exception):
    """A provider call that did not work. `message` is safe to show a member (no keys, no URLs)."""

    def __init__(
        self,
        category: ErrorCategory,
        message: str,
        *,
        http_status: int | None = None,
        code: str | int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.category = category
        self.message = message
        self.http_status = http_status
        self.code = code
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return (
            f"ProviderError({self.category.value}, {self.message!r}, http_status={self.http_status}, "
            f"code={self.code!r})"
        )

    def __str__(self) -> str:
        return f"{self.category.value}: {self.message}"


class UnsupportedKind(ProviderError):
    """The configured provider does not offer this kind of job (kie has motion control only)."""

    def __init__(self, provider: str, kind: JobKind) -> None:
        super().__init__(
            ErrorCategory.INVALID_REQUEST,
            f"The {provider} provider this bot uses does not offer {kind.value}; only "
            "motion control (/motion) is available here.",
        )
        self.kind = kind


@dataclass(frozen=True, slots=True)
class AccountBalance:
    """What is left on the provider account, in the provider's own unit."""

    remaining: float
    unit: str  # "credits" (kie), "units" (Kling resource packs)


class ProviderClient(abc.ABC):
    """A client for one provider API family. Knows nothing of Discord or of the store."""

    name: ClassVar[str]
    supported_kinds: ClassVar[frozenset[JobKind]]
    # The provider can look a task up by the id we chose (Kling's external_task_id): after a crash
    # between "submit sent" and "task id stored", the engine asks before submitting again.
    supports_lookup_by_job_id: ClassVar[bool] = False
    # The provider can answer for many tasks in one request (AceData's retrieve_batch).
    supports_batch_query: ClassVar[bool] = False
    # The provider needs public URLs for its inputs (no base64, no upload API of its own).
    needs_input_urls: ClassVar[bool] = True
    # Below this balance (in `account_balance()`'s unit) `check --online` warns, unless configured.
    default_low_balance: ClassVar[float] = 0.0

    def supports(self, kind: JobKind) -> bool:
        return kind in self.supported_kinds

    @abc.abstractmethod
    async def submit(self, request: GenerationRequest, *, job_id: str, callback_url: str | None) -> str:
        """Start a task and return the provider's task id. Never blocks until the video is done.

        Raises ProviderError (UnsupportedKind for kinds the family does not offer, before any call).
        """

    @abc.abstractmethod
    async def query(self, task_id: str, *, kind: JobKind) -> TaskUpdate:
        """Ask where one task stands."""

    async def query_many(self, task_ids: Iterable[str], *, kind: JobKind) -> dict[str, TaskUpdate]:
        """Ask about several tasks; families with a batch endpoint override this."""
        return {task_id: await self.query(task_id, kind=kind) for task_id in task_ids}

    async def find_by_job_id(self, job_id: str, *, kind: JobKind) -> TaskUpdate | None:
        """The task we submitted for `job_id`, if the family can look it up; None if not found."""
        return None

    async def account_balance(self) -> AccountBalance | None:
        """What is left on the account, where the family has an endpoint for it; None where it has not."""
        return None

    @abc.abstractmethod
    def parse_callback(self, body: Any) -> TaskUpdate:
        """Turn a decoded callback body into a TaskUpdate. Raises ValueError on a body it cannot read."""

    def verify_callback(self, headers: Mapping[str, str], body: Any, *, now: float | None = None) -> bool:
        """Check a callback's signature where the family signs them; True where it does not."""
        return True

    @abc.abstractmethod
    async def close(self) -> None:
        """Release the HTTP session."""
