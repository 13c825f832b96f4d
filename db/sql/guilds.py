"""Per-server policy: pause, log channel, moderator role, allowed channels and blocked terms."""

from __future__ import annotations

from db.records import GuildSettings
from db.sql.session import Database

# The settings columns one call may change alone; `_upsert_guild` takes its column from here only.
_SINGLE_COLUMNS = frozenset({"log_channel_id", "mod_role_id"})


class GuildSettingsSql:
    _db: Database

    async def get_guild_settings(self, guild_id: int) -> GuildSettings:
        async with self._db.session() as session:
            row = await session.fetchone("SELECT * FROM guild_settings WHERE guild_id = ?", (guild_id,))
            channels = await session.fetchall(
                "SELECT channel_id FROM allowed_channels WHERE guild_id = ?", (guild_id,)
            )
            terms = await session.fetchall(
                "SELECT term FROM blocklist WHERE guild_id = ? ORDER BY term", (guild_id,)
            )
        return GuildSettings(
            guild_id=guild_id,
            paused=bool(row["paused"]) if row else False,
            pause_reason=row["pause_reason"] if row else None,
            log_channel_id=row["log_channel_id"] if row else None,
            mod_role_id=row["mod_role_id"] if row else None,
            allowed_channels=frozenset(int(c["channel_id"]) for c in channels),
            blocklist=tuple(str(t["term"]) for t in terms),
        )

    async def _upsert_guild(self, guild_id: int, column: str, value: int | None, now: float) -> None:
        if column not in _SINGLE_COLUMNS:
            raise ValueError(f"not a guild setting: {column}")
        await self._db.execute(
            f"INSERT INTO guild_settings (guild_id, {column}, updated_at) VALUES (?, ?, ?)"
            f" ON CONFLICT (guild_id) DO UPDATE SET {column} = excluded.{column},"
            " updated_at = excluded.updated_at",
            (guild_id, value, now),
        )

    async def set_paused(self, guild_id: int, paused: bool, reason: str | None, now: float) -> None:
        await self._db.execute(
            "INSERT INTO guild_settings (guild_id, paused, pause_reason, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (guild_id) DO UPDATE SET paused = excluded.paused,"
            " pause_reason = excluded.pause_reason, updated_at = excluded.updated_at",
            (guild_id, int(paused), reason, now),
        )

    async def set_log_channel(self, guild_id: int, channel_id: int | None, now: float) -> None:
        await self._upsert_guild(guild_id, "log_channel_id", channel_id, now)

    async def set_mod_role(self, guild_id: int, role_id: int | None, now: float) -> None:
        await self._upsert_guild(guild_id, "mod_role_id", role_id, now)

    async def allow_channel(self, guild_id: int, channel_id: int) -> bool:
        changed = await self._db.execute(
            "INSERT INTO allowed_channels (guild_id, channel_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (guild_id, channel_id),
        )
        return changed == 1

    async def deny_channel(self, guild_id: int, channel_id: int) -> bool:
        changed = await self._db.execute(
            "DELETE FROM allowed_channels WHERE guild_id = ? AND channel_id = ?", (guild_id, channel_id)
        )
        return changed == 1

    async def add_blocked_term(self, guild_id: int, term: str) -> bool:
        changed = await self._db.execute(
            "INSERT INTO blocklist (guild_id, term) VALUES (?, ?) ON CONFLICT DO NOTHING", (guild_id, term)
        )
        return changed == 1

    async def remove_blocked_term(self, guild_id: int, term: str) -> bool:
        changed = await self._db.execute(
            "DELETE FROM blocklist WHERE guild_id = ? AND term = ?", (guild_id, term)
        )
        return changed == 1
