"""Job ids members can type, and tokens nobody can guess."""

from __future__ import annotations

import secrets

# No 0/o, 1/l/i: job ids get read aloud and retyped.
_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"


def new_job_id() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(8))


def new_token() -> str:
    """A URL-safe token with 256 bits of entropy, for callback and input URLs."""
    return secrets.token_urlsafe(32)
