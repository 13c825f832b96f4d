"""Reading the numbered migration files."""

from __future__ import annotations

from pathlib import Path

import pytest

from db.migrate import load_migrations, split_statements


def test_statements_split_at_real_ends_only() -> None:
    sql = "-- a comment; with a semicolon\nCREATE TABLE a (x TEXT DEFAULT ';');\n\nCREATE INDEX b ON a (x);\n"
    assert split_statements(sql) == ["CREATE TABLE a (x TEXT DEFAULT ';');", "CREATE INDEX b ON a (x);"]
    with pytest.raises(ValueError, match="unterminated"):
        split_statements("CREATE TABLE a (x TEXT)")


def test_badly_named_migration_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "1_initial.sql").write_text("SELECT 1;")
    with pytest.raises(ValueError, match=r"NNNN_name\.sql"):
        load_migrations(tmp_path)
