"""Audit records as lines in each server's log channel."""

from __future__ import annotations

import logging

import discord

from bot.discord_ui import render
from bot.discord_ui.limits import fit_content
from db.records import AuditEntry
from db.store import Store

log = logging.getLogger(__name__)


class AuditPoster:
    def __init__(self, client: discord.Client, store: Store) -> None:
        self.client = client
        self.store = store

    async def post(self, entry: AuditEntry) -> bool:
        """True when posted or nothing to post; False when Discord should be asked again later."""
        if entry.guild_id is None:
            return True
        settings = await self.store.get_guild_settings(entry.guild_id)
        if settings.log_channel_id is None:
            return True
        line = render.audit_line(entry)
        channel = self.client.get_partial_messageable(settings.log_channel_id, guild_id=entry.guild_id)
        try:
            await channel.send(fit_content(line), allowed_mentions=discord.AllowedMentions.none())
        except discord.HTTPException as exc:
            if exc.status >= 500 or exc.status == 429:
                return False
            log.warning("cannot post to the audit log channel of guild %s (%s)", entry.guild_id, exc.status)
        return True
