"""The store: numbered SQL migrations, the async Store protocols and their backends."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from db.postgres import PostgresStore
from db.sqlite import SqliteStore
from db.store import Store

__all__ = ["PostgresStore", "SqliteStore", "Store", "redacted_url", "store_from_url"]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def store_from_url(database_url: str) -> Store:
    """The store for a DATABASE_URL: sqlite:///relative/path, sqlite:////absolute/path, sqlite://:memory:,
    or postgresql://user:password@host:5432/name (also postgres://)."""
    if database_url.startswith(POSTGRES_SCHEMES):
        return PostgresStore(database_url)
    if not database_url.startswith("sqlite://"):
        raise ValueError("DATABASE_URL must start with sqlite://, postgresql:// or postgres://")
    rest = database_url.removeprefix("sqlite://")
    if rest == ":memory:":
        return SqliteStore(None)
    return SqliteStore(Path(rest[1:]) if rest.startswith("/") else Path(rest))


def redacted_url(database_url: str) -> str:
    """The URL with its password (if any) replaced, fit to print or log."""
    parts = urlsplit(database_url)
    if parts.password is None:
        return database_url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))
