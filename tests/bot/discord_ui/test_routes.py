"""The route plan on its own: every combination of facts, in a table."""

from __future__ import annotations

import pytest

from bot.discord_ui.routes import Route, RouteFacts, plan_routes

CHANNEL, INTERACTION, LINK, DM, NOTHING = (
    Route.CHANNEL,
    Route.INTERACTION,
    Route.LINK,
    Route.DM,
    Route.NOTHING,
)


@pytest.mark.parametrize(
    ("facts", "plan"),
    [
        # Fits the channel: the bot's own token first; the interaction while young; then a DM.
        (RouteFacts(token_young=False, fits_channel=True, fits_member=True), (CHANNEL, DM, NOTHING)),
        (
            RouteFacts(token_young=True, fits_channel=True, fits_member=True),
            (CHANNEL, INTERACTION, DM, NOTHING),
        ),
        (
            RouteFacts(token_young=True, fits_channel=True, fits_member=False),
            (CHANNEL, INTERACTION, DM, NOTHING),
        ),
        # Only the member's larger limit: the interaction, then a DM (never a link in the channel).
        (RouteFacts(token_young=True, fits_channel=False, fits_member=True), (INTERACTION, DM, NOTHING)),
        # Fits no upload limit that can be used: a link to the bot's copy.
        (RouteFacts(token_young=False, fits_channel=False, fits_member=True), (LINK, DM, NOTHING)),
        (RouteFacts(token_young=True, fits_channel=False, fits_member=False), (LINK, DM, NOTHING)),
        # Refusals take routes away.
        (
            RouteFacts(token_young=True, fits_channel=True, fits_member=True, channel_refused=True),
            (INTERACTION, DM, NOTHING),
        ),
        (
            RouteFacts(token_young=False, fits_channel=True, fits_member=True, channel_refused=True),
            (DM, NOTHING),
        ),
        (
            RouteFacts(
                token_young=True,
                fits_channel=True,
                fits_member=True,
                channel_refused=True,
                interaction_refused=True,
            ),
            (DM, NOTHING),
        ),
        (
            RouteFacts(token_young=True, fits_channel=False, fits_member=True, interaction_refused=True),
            (DM, NOTHING),
        ),
        (
            RouteFacts(token_young=False, fits_channel=False, fits_member=False, channel_refused=True),
            (DM, NOTHING),
        ),
        (
            RouteFacts(token_young=False, fits_channel=True, fits_member=True, dm_closed=True),
            (CHANNEL, NOTHING),
        ),
        (
            RouteFacts(
                token_young=False, fits_channel=True, fits_member=True, channel_refused=True, dm_closed=True
            ),
            (NOTHING,),
        ),
    ],
)
def test_plan(facts: RouteFacts, plan: tuple[Route, ...]) -> None:
    assert plan_routes(facts) == plan
