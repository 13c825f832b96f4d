"""Where a finished video goes, as a plan: a pure function of what is known about the job and its file.

The walker in `bot.discord_ui.publisher` tries the plan's first route; when Discord refuses it, the
refusal becomes a fact and the plan is made again. The channel goes first (the bot's own token, not
limited to the interaction's 15 minutes, idempotent through the message nonce); the interaction
followup while its token is young, when the channel refuses the bot or the file fits only the member's
larger limit; a link to the bot's own copy when the file fits no upload limit; a DM; else nothing (the
result stays reachable with /job).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Route(StrEnum):
    INTERACTION = "interaction"  # the interaction's followup webhook
    CHANNEL = "channel"  # the file, posted with the bot's token
    LINK = "link"  # a channel post linking to the bot's own copy
    DM = "dm"  # a DM to the requester (the file, re-encoded or linked as needed)
    NOTHING = "none"  # nowhere: /job still shows the result


@dataclass(frozen=True, slots=True)
class RouteFacts:
    token_young: bool  # the interaction token can still post (with a safety margin)
    fits_channel: bool  # the file to upload is within the server's limit for the bot
    fits_member: bool  # ... within the member's own upload limit (the interaction's)
    channel_refused: bool = False  # the channel is gone or closed to the bot
    interaction_refused: bool = False  # the followup failed, or is no longer worth trying
    dm_closed: bool = False  # the member takes no DMs from the bot


def plan_routes(facts: RouteFacts) -> tuple[Route, ...]:
    """The routes to try, in order; always ends with NOTHING."""
    if facts.fits_channel:
        first = [Route.CHANNEL, Route.INTERACTION] if facts.token_young else [Route.CHANNEL]
    elif facts.token_young and facts.fits_member:
        first = [Route.INTERACTION]
    else:
        first = [Route.LINK]
    closed = set()
    if facts.channel_refused:
        closed |= {Route.CHANNEL, Route.LINK}
    if facts.interaction_refused:
        closed.add(Route.INTERACTION)
    if facts.dm_closed:
        closed.add(Route.DM)
    return tuple(route for route in (*first, Route.DM, Route.NOTHING) if route not in closed)
