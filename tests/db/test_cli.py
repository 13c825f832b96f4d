"""`python -m bot db status` and `python -m bot db upgrade`."""

from __future__ import annotations

import io
import socket
import sqlite3
from pathlib import Path

import pytest

from bot.__main__ import main
from db import cli
from db.migrate import load_migrations
from tests.db import servers

MIGRATIONS = load_migrations()
LATEST = MIGRATIONS[-1]
ALL_PENDING = ", ".join(f"{m.version:04d}_{m.name}" for m in MIGRATIONS)
ALL_APPLIED = ", ".join(str(m.version) for m in MIGRATIONS)


def run(command: str, url: str) -> tuple[int, str]:
    out = io.StringIO()
    return cli.run(command, url, out), out.getvalue()


def test_status_then_upgrade_then_status(store_url: str) -> None:
    if not store_url.startswith("sqlite"):
        servers.run_sync(servers.empty_schema(store_url))
    code, text = run("status", store_url)
    assert code == cli.PENDING
    assert "connection: ok" in text and f"pending migrations: {ALL_PENDING}\n" in text
    assert f"schema version: 0 (this klingbot knows up to {LATEST.version})" in text
    code, text = run("upgrade", store_url)
    assert (code, f"applied: {ALL_APPLIED}\n" in text) == (cli.UP_TO_DATE, True)
    code, text = run("upgrade", store_url)
    assert (code, "already up to date" in text) == (cli.UP_TO_DATE, True)
    code, text = run("status", store_url)
    assert (code, "pending migrations: none" in text) == (cli.UP_TO_DATE, True)


def test_a_newer_schema_is_reported_and_not_touched(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    run("upgrade", url)
    with sqlite3.connect(tmp_path / "db.sqlite") as db:
        db.execute("INSERT INTO schema_migrations VALUES (9999, 'future', 0)")
    for command in ("status", "upgrade"):
        code, text = run(command, url)
        assert code == cli.UNUSABLE and "9999" in text and "refused:" in text


def test_no_connection_is_reported_without_the_password() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, text = run("status", f"postgresql://kb:hunter2@127.0.0.1:{port}/klingbot")
    assert code == cli.UNUSABLE and "connection: failed" in text
    assert "hunter2" not in text and "kb:***@127.0.0.1" in text


def test_python_m_bot_db_reads_database_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'kb.db'}")
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "status"]) == 0
    assert "pending migrations: none" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["db"])
