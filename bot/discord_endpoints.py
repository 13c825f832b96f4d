"""Point discord.py at another REST base and gateway (an HTTP proxy in front of Discord, or a test fake).

discord.py builds every REST URL from `Route.BASE` and connects a non-sharded client straight to
`DiscordWebSocket.DEFAULT_GATEWAY` (it never asks /gateway/bot), so these two attributes are the hooks.
"""

from __future__ import annotations

import discord.gateway
import discord.http
import yarl

DISCORD_API_BASE = "https://discord.com/api/v10"
DISCORD_GATEWAY = "wss://gateway.discord.gg/"


def configure_discord_endpoints(api_base: str, gateway_url: str | None) -> None:
    discord.http.Route.BASE = api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url or DISCORD_GATEWAY)
