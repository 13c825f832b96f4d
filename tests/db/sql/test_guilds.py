"""Per-server policy round trips."""

from __future__ import annotations

import time

from db.records import GuildSettings, QuotaLimit
from db.sql.store import SqlStore
from tests.db.factories import NOW


async def test_quota_limits_and_guild_policy_round_trip(store: SqlStore) -> None:
    await store.set_quota_limit(QuotaLimit(1, "user", 7, 5, "week"), time.time())
    await store.set_quota_limit(QuotaLimit(1, "user", 7, None, "day"), time.time())
    await store.set_quota_limit(QuotaLimit(1, "guild", 0, 3, "day"), time.time())
    limits = {(q.scope, q.target_id): (q.credits, q.period) for q in await store.quota_limits(1)}
    assert limits == {("user", 7): (None, "day"), ("guild", 0): (3, "day")}
    await store.set_paused(1, True, "maintenance", NOW)
    await store.set_log_channel(1, 55, NOW)
    assert await store.add_blocked_term(1, "gore") and not await store.add_blocked_term(1, "gore")
    settings = await store.get_guild_settings(1)
    assert (settings.paused, settings.pause_reason, settings.log_channel_id, settings.blocklist) == (
        True,
        "maintenance",
        55,
        ("gore",),
    )


async def test_an_unknown_server_has_the_defaults(store: SqlStore) -> None:
    assert await store.get_guild_settings(9) == GuildSettings(guild_id=9)


async def test_channels_terms_role_and_pause_change_and_change_back(store: SqlStore) -> None:
    assert await store.allow_channel(1, 10) and await store.allow_channel(1, 11)
    assert not await store.allow_channel(1, 10)
    assert await store.deny_channel(1, 11) and not await store.deny_channel(1, 11)
    await store.add_blocked_term(1, "b")
    await store.add_blocked_term(1, "a")
    assert await store.remove_blocked_term(1, "b") and not await store.remove_blocked_term(1, "b")
    await store.set_mod_role(1, 77, NOW)
    await store.set_paused(1, True, "why", NOW)
    await store.set_paused(1, False, None, NOW)
    await store.set_log_channel(1, 5, NOW)
    await store.set_log_channel(1, None, NOW)
    assert await store.get_guild_settings(1) == GuildSettings(
        guild_id=1, mod_role_id=77, allowed_channels=frozenset({10}), blocklist=("a",)
    )
    assert (await store.get_guild_settings(2)).allowed_channels == frozenset()
