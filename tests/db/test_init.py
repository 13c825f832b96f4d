"""Choosing the backend from DATABASE_URL, and printing that URL safely."""

from __future__ import annotations

from pathlib import Path

import pytest

from db import PostgresStore, SqliteStore, redacted_url, store_from_url


def test_the_url_scheme_chooses_the_backend() -> None:
    for url in ("postgresql://kb:pw@db:5432/klingbot", "postgres://kb@db/klingbot"):
        assert isinstance(store_from_url(url), PostgresStore)
    relative, absolute = store_from_url("sqlite:///data/kb.db"), store_from_url("sqlite:////var/kb.db")
    assert isinstance(relative, SqliteStore) and relative.path == Path("data/kb.db")
    assert isinstance(absolute, SqliteStore) and absolute.path == Path("/var/kb.db")
    memory = store_from_url("sqlite://:memory:")
    assert isinstance(memory, SqliteStore) and memory.path is None
    with pytest.raises(ValueError, match="postgresql://"):
        store_from_url("mysql://db/kb")


def test_passwords_are_redacted() -> None:
    assert redacted_url("postgresql://kb:s3cret@db:5432/klingbot") == "postgresql://kb:***@db:5432/klingbot"
    assert redacted_url("postgres://kb@db/klingbot") == "postgres://kb@db/klingbot"
    assert redacted_url("sqlite:///data/kb.db") == "sqlite:///data/kb.db"
