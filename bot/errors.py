"""Errors a member should read: raised anywhere below a command, shown by the tree's one handler."""

from __future__ import annotations


class UserFacingError(Exception):
    """Something the member did or asked that cannot go ahead; the message says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Refusal(UserFacingError):
    """A policy said no (paused, channel, blocklist, quota, permissions). Costs nothing."""
