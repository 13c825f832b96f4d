"""Why a job may not start, as typed values: the job engine decides, the Discord-facing layer words it.

Every refusal is raised before anything is spent or written. Nothing here is a sentence or markup:
`bot.discord_ui.render` turns each one into what the member reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.jobs.quota import AppliedLimit, Period
from bot.models import JobKind
from bot.providers.capability_check import CapabilityProblem


class JobRefused(Exception):
    """A rule said no before anything was spent. Subclasses carry the facts the answer needs."""


@dataclass(eq=False)
class ServerPaused(JobRefused):
    reason: str | None


@dataclass(eq=False)
class ChannelNotAllowed(JobRefused):
    allowed_channel_ids: tuple[int, ...]


@dataclass(eq=False)
class BlockedTerm(JobRefused):
    term: str


@dataclass(eq=False)
class KindNotOffered(JobRefused):
    provider: str
    kind: JobKind


@dataclass(eq=False)
class CannotHostConverted(JobRefused):
    """A converted input needs the bot's own URL, and PUBLIC_BASE_URL is not set."""

    role: str


@dataclass(eq=False)
class QuotaExceeded(JobRefused):
    cost: int
    left: int
    period: Period
    resets_at: float
    limit: AppliedLimit  # where the limit comes from (user, role, server)
    at_least: bool = False  # `cost` is the cheapest this command can cost (its inputs not read yet)


@dataclass(eq=False)
class TooManyInFlight(JobRefused):
    limit: int


@dataclass(eq=False)
class QueueFull(JobRefused):
    """The member already has `limit` jobs waiting in the line (running ones wait for no refusal)."""

    limit: int


@dataclass(eq=False)
class CapabilityRefused(JobRefused):
    """The provider's model cannot do what was asked (bot/providers/capability_check.py)."""

    problem: CapabilityProblem
