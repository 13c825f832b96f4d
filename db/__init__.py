"""The store: numbered SQL migrations, the async Store protocols and their backends."""

from __future__ import annotations

from pathlib import Path

from db.sqlite import SqliteStore
from db.store import Store

__all__ = ["SqliteStore", "Store", "store_from_url"]


def store_from_url(database_url: str) -> Store:
    """The store for a DATABASE_URL (sqlite:///relative/path, sqlite:////absolute/path, sqlite://:memory:)."""
    if not database_url.startswith("sqlite://"):
        raise ValueError("only sqlite:// database URLs are supported for now")
    rest = database_url.removeprefix("sqlite://")
    if rest == ":memory:":
        return SqliteStore(None)
    return SqliteStore(Path(rest[1:]) if rest.startswith("/") else Path(rest))
