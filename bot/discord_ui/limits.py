"""Discord's size limits, and the clipping that keeps what the bot sends inside them.

Discord refuses a whole message when any part of it is too long, and a refused answer reaches the member
as "the application did not respond". So text a member typed (ids, prompts, terms, names, reasons) or a
provider wrote is shortened where it is quoted (`quote`, `clip`), and every message, embed and list of
choices passes a final guard where it is sent (`fit_content`, `fit_embed`, `fit_choices`).
Discord counts characters as Unicode code points, which is what `len` counts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TypeVar

import discord
from discord import app_commands

CONTENT = 2000
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER = 2048
AUTHOR_NAME = 256
EMBED_TOTAL = 6000  # every embed of one message together
CUSTOM_ID = 100
CHOICES = 25
CHOICE_NAME = 100
CHOICE_VALUE = 100

QUOTED = 100  # how much of a typed value a sentence quotes by default
ID_SHOWN = 40  # a typed job id, quoted back when there is no such job
NAME_SHOWN = 40  # a member's display name (Discord allows 32)
REASON_SHOWN = 200  # a pause reason (/kling-admin pause takes up to 200 characters)
PROMPT_SHOWN = 1000  # the prompt in a result's embed
PROVIDER_MESSAGE_SHOWN = 300  # a provider's reason for a failure, as quoted to members
LISTED = 20  # items of a list (channels, say) named in one sentence; a server may have hundreds
ELLIPSIS = "…"
EMPTY_FIELD = "—"  # Discord refuses an empty field name or value
# Bidirectional embeddings, overrides and isolates: quoted text must not reorder the sentence around it.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")

T = TypeVar("T", str, int, float)


def clip(text: str, limit: int) -> str:
    """`text` when it fits in `limit` characters, else its start with an ellipsis (`limit` in all)."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + ELLIPSIS if limit > 0 else ""


def quote(text: str, limit: int = QUOTED) -> str:
    """Something a member typed, fit to be quoted inside a sentence: on one line, no bidirectional
    controls, no backticks (it may sit in a code span), at most `limit` characters."""
    flat = " ".join(_BIDI_CONTROLS.sub("", text).split())
    return clip(flat.replace("`", "ˋ"), limit)


def listed(items: list[str], shown: int = LISTED) -> str:
    """The first `shown` items joined with commas, and how many more there are."""
    more = len(items) - shown
    return ", ".join(items[:shown]) + (f" and {more} more" if more > 0 else "")


def fit_lines(head: str, lines: list[str], limit: int = CONTENT) -> str:
    """`head` and as many whole `lines` as fit in `limit` characters, then how many were left out."""
    whole = "\n".join([head, *lines])
    if len(whole) <= limit:
        return whole
    text, shown = head, 0
    for line in lines:
        left_out = len(lines) - shown - 1
        if len(text) + 1 + len(line) + len(f"\n…and {left_out} more.") > limit:
            break
        text, shown = f"{text}\n{line}", shown + 1
    return clip(f"{text}\n…and {len(lines) - shown} more.", limit)


def fit_content(text: str) -> str:
    """The last guard on a message's text before it is sent."""
    return clip(text, CONTENT)


def embed_size(embed: discord.Embed) -> int:
    """The characters Discord counts towards an embed's 6,000."""
    fields = sum(len(field.name or "") + len(field.value or "") for field in embed.fields)
    return (
        len(embed.title or "")
        + len(embed.description or "")
        + fields
        + len(embed.footer.text or "")
        + len(embed.author.name or "")
    )


def fit_embed(embed: discord.Embed) -> discord.Embed:
    """Clip each part of `embed` to its limit, then the description (and, failing that, the last fields)
    until the whole fits in 6,000 characters. Changes `embed` and returns it."""
    if embed.title:
        embed.title = clip(embed.title, EMBED_TITLE)
    if embed.description:
        embed.description = clip(embed.description, EMBED_DESCRIPTION)
    for index in range(len(embed.fields) - 1, EMBED_FIELDS - 1, -1):
        embed.remove_field(index)
    for index, field in enumerate(embed.fields):
        embed.set_field_at(
            index,
            name=clip(field.name or EMPTY_FIELD, FIELD_NAME),
            value=clip(field.value or EMPTY_FIELD, FIELD_VALUE),
            inline=bool(field.inline),
        )
    if embed.footer.text:
        embed.set_footer(text=clip(embed.footer.text, FOOTER), icon_url=embed.footer.icon_url)
    if embed.author.name:
        embed.set_author(
            name=clip(embed.author.name, AUTHOR_NAME), url=embed.author.url, icon_url=embed.author.icon_url
        )
    excess = embed_size(embed) - EMBED_TOTAL
    if excess > 0 and embed.description:
        embed.description = clip(embed.description, max(len(embed.description) - excess, 0)) or None
    while embed_size(embed) > EMBED_TOTAL and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
    return embed


def fit_choices(choices: Iterable[app_commands.Choice[T]]) -> list[app_commands.Choice[T]]:
    """At most 25 autocomplete choices, names clipped to 100 characters. A choice whose value is too
    long is left out: a clipped value would name something else."""
    fitted: list[app_commands.Choice[T]] = []
    for choice in choices:
        if isinstance(choice.value, str) and not 0 < len(choice.value) <= CHOICE_VALUE:
            continue
        name = clip(choice.name, CHOICE_NAME) or clip(str(choice.value), CHOICE_NAME)
        fitted.append(app_commands.Choice(name=name, value=choice.value))
        if len(fitted) == CHOICES:
            break
    return fitted
