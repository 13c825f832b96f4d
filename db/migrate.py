"""Numbered .sql migrations, applied in order in one transaction.

`NNNN_name.sql` is portable SQL run on every backend; an optional `NNNN_name.<dialect>.sql` beside it
holds the few statements one backend needs on top (e.g. PostgreSQL's identity columns).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
DIALECTS = frozenset({"sqlite", "postgres"})
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)(?:\.([a-z]+))?\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer klingbot: running an older one against it is refused."""

    def __init__(self, found: int, known: int) -> None:
        super().__init__(
            f"the database schema is at version {found}, newer than this klingbot knows ({known}):"
            " run the newer klingbot, or point DATABASE_URL at the right database"
        )
        self.found = found
        self.known = known


def check_not_newer(current: int, migrations: list[Migration]) -> None:
    known = migrations[-1].version if migrations else 0
    if current > known:
        raise SchemaTooNew(current, known)


def split_statements(sql: str) -> list[str]:
    """Split a script into statements at the semicolons that really end one."""
    statements: list[str] = []
    current = ""
    for line in sql.splitlines(keepends=True):
        if line.strip().startswith("--") and not current.strip():
            continue
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip():
        raise ValueError(f"unterminated SQL statement: {current.strip()[:60]!r}")
    return statements


def load_migrations(directory: Path = MIGRATIONS_DIR, dialect: str | None = None) -> list[Migration]:
    """The migrations in order, each with `dialect`'s own statements (if any) after the portable ones."""
    portable: dict[int, tuple[str, list[str]]] = {}
    dialect_files: dict[tuple[int, str], tuple[str, list[str]]] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise ValueError(
                f"migration file {path.name} must be named NNNN_name.sql (or NNNN_name.DIALECT.sql)"
            )
        version, name, file_dialect = int(match.group(1)), match.group(2), match.group(3)
        statements = split_statements(path.read_text(encoding="utf-8"))
        if file_dialect is None:
            if version in portable:
                raise ValueError("two migration files share a number")
            portable[version] = (name, statements)
        elif file_dialect not in DIALECTS:
            raise ValueError(f"migration file {path.name}: dialect must be one of {sorted(DIALECTS)}")
        else:
            dialect_files[(version, file_dialect)] = (name, statements)
    for (version, file_dialect), (name, _) in dialect_files.items():
        if portable.get(version, ("",))[0] != name:
            raise ValueError(
                f"migration file {version:04d}_{name}.{file_dialect}.sql has no {version:04d}_{name}.sql"
            )
    migrations = []
    for version, (name, statements) in sorted(portable.items()):
        _, own = dialect_files.get((version, dialect or ""), (name, []))
        migrations.append(Migration(version, name, tuple(statements + own)))
    return migrations
