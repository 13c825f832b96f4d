"""/kling-admin blocklist: words and phrases prompts may not contain."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.discord_ui.limits import fit_choices
from bot.errors import UserFacingError
from bot.jobs.policy import normalise_term
from cogs.admin.checks import ModeratorGroup, guild_of, list_or_file, reply
from cogs.common import is_moderator, services

MAX_TERM_LENGTH = 100


def cleaned_term(raw: str) -> str:
    term = normalise_term(raw)
    if not term:
        raise UserFacingError("The term is empty; give a word or phrase.")
    if len(term) > MAX_TERM_LENGTH:
        raise UserFacingError(
            f"Keep a term to {MAX_TERM_LENGTH} characters or fewer; add phrases separately."
        )
    return term


class BlocklistCommands(
    ModeratorGroup, name="blocklist", description="Words and phrases prompts may not contain"
):
    @app_commands.command(name="add", description="Refuse prompts that contain a word or phrase")
    @app_commands.describe(term="Matched as whole words, ignoring case")
    async def add(self, interaction: discord.Interaction, term: str) -> None:
        cleaned = cleaned_term(term)
        if not await services(interaction).admin.add_blocked_term(
            guild_of(interaction), interaction.user.id, cleaned
        ):
            await reply(interaction, f"`{cleaned}` is already on the blocklist.")
            return
        await reply(
            interaction,
            f"✅ Added `{cleaned}`. Prompts and negative prompts containing it as whole words (any case) "
            "are refused.",
        )

    @app_commands.command(name="remove", description="Take a word or phrase off the blocklist")
    @app_commands.describe(term="A term on the blocklist")
    async def remove(self, interaction: discord.Interaction, term: str) -> None:
        cleaned = cleaned_term(term)
        admin = services(interaction).admin
        if not await admin.remove_blocked_term(guild_of(interaction), interaction.user.id, cleaned):
            raise UserFacingError(
                f"`{cleaned}` isn't on the blocklist; /kling-admin blocklist list shows what is."
            )
        await reply(interaction, f"✅ Removed `{cleaned}` from the blocklist.")

    @remove.autocomplete("term")
    async def term_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        # Autocomplete skips interaction_check; the list is for moderators' eyes only.
        if interaction.guild_id is None or not await is_moderator(interaction):
            return []
        settings = await services(interaction).admin.settings(interaction.guild_id)
        needle = normalise_term(current)
        return fit_choices(
            app_commands.Choice(name=term, value=term) for term in settings.blocklist if needle in term
        )

    @app_commands.command(name="list", description="The words and phrases prompts may not contain")
    async def list_terms(self, interaction: discord.Interaction) -> None:
        settings = await services(interaction).admin.settings(guild_of(interaction))
        if not settings.blocklist:
            await reply(
                interaction, "The blocklist is empty. /kling-admin blocklist add refuses prompts with a term."
            )
            return
        lines = [f"• `{term}`" for term in settings.blocklist]
        text, file = list_or_file(
            f"**Blocklist** ({len(lines)} terms, whole words, any case)", lines, "blocklist.txt"
        )
        await reply(interaction, text, file)
