"""`python -m bot db status` and `python -m bot db upgrade`: the schema, its migrations, the connection.

Exit codes: 0 up to date (or upgraded), 1 migrations pending (status only), 2 no connection or a schema
newer than this code knows.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TextIO

from db import redacted_url, store_from_url
from db.migrate import SchemaTooNew, load_migrations
from db.store import Store

UP_TO_DATE, PENDING, UNUSABLE = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="db_command", required=True)
    commands.add_parser("status", help="connection check, schema version and pending migrations")
    commands.add_parser("upgrade", help="apply the pending migrations")


def run(command: str, database_url: str, out: TextIO | None = None) -> int:
    return asyncio.run(_run(command, database_url, out or sys.stdout))


async def _run(command: str, database_url: str, out: TextIO) -> int:
    print(f"database: {redacted_url(database_url)}", file=out)
    store = store_from_url(database_url)
    try:
        await store.open()
    except Exception as exc:  # any driver's refusal: name it, the URL's password stays out
        print(f"connection: failed ({type(exc).__name__}: {exc})", file=out)
        return UNUSABLE
    try:
        print("connection: ok", file=out)
        return await (_upgrade(store, out) if command == "upgrade" else _status(store, out))
    finally:
        await store.close()


async def _status(store: Store, out: TextIO) -> int:
    migrations = load_migrations()
    current = await store.schema_version()
    known = migrations[-1].version if migrations else 0
    print(f"schema version: {current} (this klingbot knows up to {known})", file=out)
    if current > known:
        print(f"refused: {SchemaTooNew(current, known)}", file=out)
        return UNUSABLE
    pending = [f"{m.version:04d}_{m.name}" for m in migrations if m.version > current]
    print(f"pending migrations: {', '.join(pending) if pending else 'none'}", file=out)
    return PENDING if pending else UP_TO_DATE


async def _upgrade(store: Store, out: TextIO) -> int:
    try:
        applied = await store.migrate()
    except SchemaTooNew as exc:
        print(f"refused: {exc}", file=out)
        return UNUSABLE
    print(f"applied: {', '.join(map(str, applied)) if applied else 'nothing, already up to date'}", file=out)
    print(f"schema version: {await store.schema_version()}", file=out)
    return UP_TO_DATE
