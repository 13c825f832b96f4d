"""The listening connection of a PostgreSQL store comes back after it drops, and says so."""

from __future__ import annotations

import asyncpg  # type: ignore[import-untyped]

from bot.retry import NO_DELAY
from db.notify import LOOK_AGAIN, Channel
from db.postgres.notify import PostgresNotifier
from tests.db.servers import empty_schema
from tests.db.sql.test_notify import Heard


async def test_listening_resumes_after_the_connection_is_killed(postgres_url: str) -> None:
    await empty_schema(postgres_url)
    notifier = PostgresNotifier(postgres_url, reconnect=NO_DELAY)
    heard = Heard()
    await notifier.listen(Channel.CALLBACK_ARRIVED, heard)
    admin = await asyncpg.connect(postgres_url)
    try:
        await admin.execute("SELECT pg_notify($1, 'before')", Channel.CALLBACK_ARRIVED.value)
        await heard.until(lambda p: "before" in p)
        [listener_pid] = await admin.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND query LIKE 'LISTEN%'"
        )
        await admin.execute("SELECT pg_terminate_backend($1)", listener_pid["pid"])
        # Back again, the listener is told to look at the store: something may have been missed.
        await heard.until(lambda p: LOOK_AGAIN in p)
        await admin.execute("SELECT pg_notify($1, 'after')", Channel.CALLBACK_ARRIVED.value)
        assert await heard.until(lambda p: "after" in p) == ["before", LOOK_AGAIN, "after"]
    finally:
        await admin.close()
        await notifier.close()


async def test_a_closed_notifier_does_not_reconnect(postgres_url: str) -> None:
    notifier = PostgresNotifier(postgres_url, reconnect=NO_DELAY)
    await notifier.listen(Channel.AUDIT_ADDED, Heard())
    await notifier.close()
    assert "connected=False" in repr(notifier)
