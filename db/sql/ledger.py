"""Quota limits and the credit ledger: what members may spend, what they spent, and resets."""

from __future__ import annotations

from typing import Any

from db.records import QuotaLimit, Settlement, UsageRow
from db.sql.session import Database, Session


async def spent_since(session: Session, guild_id: int | None, user_id: int, since: float) -> int:
    """Credits reserved or charged since `since`; a quota reset forgives everything before it."""
    last_reset = await session.scalar(
        "SELECT MAX(reset_at) FROM quota_resets WHERE guild_id IS NOT DISTINCT FROM ? AND user_id = ?",
        (guild_id, user_id),
    )
    window = max(since, float(last_reset)) if last_reset is not None else since
    spent = await session.scalar(
        "SELECT COALESCE(SUM(credits), 0) FROM credit_ledger"
        " WHERE guild_id IS NOT DISTINCT FROM ? AND user_id = ? AND created_at >= ? AND state IN (?, ?)",
        (guild_id, user_id, window, Settlement.RESERVED.value, Settlement.CHARGED.value),
    )
    return int(spent or 0)


class LedgerSql:
    _db: Database

    async def set_quota_limit(self, limit: QuotaLimit, now: float) -> None:
        await self._db.execute(
            "INSERT INTO quota_limits (guild_id, scope, target_id, credits, period, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id, scope, target_id) DO UPDATE SET"
            " credits = excluded.credits, period = excluded.period, updated_at = excluded.updated_at",
            (limit.guild_id, limit.scope, limit.target_id, limit.credits, limit.period, now),
        )

    async def quota_limits(self, guild_id: int) -> list[QuotaLimit]:
        rows = await self._db.fetchall(
            "SELECT guild_id, scope, target_id, credits, period FROM quota_limits WHERE guild_id = ?"
            " ORDER BY scope, target_id",
            (guild_id,),
        )
        return [QuotaLimit(**r) for r in rows]

    async def clear_quota_limit(self, guild_id: int, scope: str, target_id: int) -> bool:
        """Remove one limit so the next one down applies again; False when there was none."""
        changed = await self._db.execute(
            "DELETE FROM quota_limits WHERE guild_id = ? AND scope = ? AND target_id = ?",
            (guild_id, scope, target_id),
        )
        return changed == 1

    async def spent_credits(self, guild_id: int | None, user_id: int, since: float) -> int:
        async with self._db.session() as session:
            return await spent_since(session, guild_id, user_id, since)

    async def reset_quota(self, guild_id: int, user_id: int, actor_id: int, now: float) -> int:
        """Forgive what the member spent so far this period; returns how many credits came back."""
        async with self._db.transaction() as session:
            before = await spent_since(session, guild_id, user_id, 0.0)
            await session.execute(
                "INSERT INTO quota_resets (guild_id, user_id, reset_at, actor_id) VALUES (?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (guild_id, user_id, now, actor_id),
            )
        return before

    async def usage(self, guild_id: int, since: float, user_id: int | None = None) -> list[UsageRow]:
        clauses = "guild_id = ? AND created_at >= ?" + (" AND user_id = ?" if user_id is not None else "")
        params: list[Any] = [guild_id, since] + ([user_id] if user_id is not None else [])
        rows = await self._db.fetchall(
            "SELECT user_id, kind, COUNT(*) AS jobs,"
            " COALESCE(SUM(CASE WHEN state = 'charged' THEN credits ELSE 0 END), 0) AS credits_charged,"
            " COALESCE(SUM(CASE WHEN state = 'reserved' THEN credits ELSE 0 END), 0) AS credits_reserved,"
            " COALESCE(SUM(CASE WHEN state = 'refunded' THEN credits ELSE 0 END), 0) AS credits_refunded"
            f" FROM credit_ledger WHERE {clauses} GROUP BY user_id, kind ORDER BY user_id, kind",
            params,
        )
        return [UsageRow(**r) for r in rows]
