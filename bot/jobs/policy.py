"""Server policy checked before anything is spent: pause, allowed channels, the prompt blocklist."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from bot.jobs.refusals import BlockedTerm, ChannelNotAllowed, ServerPaused
from db.records import GuildSettings

# Invisible characters that are not format characters (category Cf) but render as nothing all the same:
# the combining grapheme joiner, Hangul fillers, Mongolian variation selectors and variation selectors.
_INVISIBLE = frozenset(
    {0x034F, 0x115F, 0x1160, 0x3164, 0xFFA0, 0x180B, 0x180C, 0x180D, 0x180F}
    | set(range(0xFE00, 0xFE10))
    | set(range(0xE0100, 0xE01F0))
)


def _visible(char: str) -> bool:
    return unicodedata.category(char) != "Cf" and ord(char) not in _INVISIBLE


def fold(text: str) -> str:
    """The form the blocklist matches on, for terms and prompts alike.

    Invisible characters (zero-width space/joiner/non-joiner, soft hyphen, word joiner, bidirectional
    overrides and isolates, BOM...) are dropped so they cannot split a word; NFKC maps fullwidth letters,
    ligatures, circled and mathematical letters to plain ones; case folding ignores case (ß = ss).
    """
    visible = "".join(char for char in unicodedata.normalize("NFKC", text) if _visible(char))
    return unicodedata.normalize("NFKC", visible.casefold())


def normalise_term(term: str) -> str:
    """How blocklist terms are stored: folded (see `fold`), trimmed, inner whitespace collapsed to one
    space."""
    return " ".join(fold(term).split())


def blocked_terms_in(text: str, terms: Iterable[str]) -> list[str]:
    """The blocklisted terms (as stored) that appear in `text` as whole words, compared folded.

    Words of a multi-word term may be separated by any whitespace, so extra spaces or a line break
    do not slip a term past the list. Terms stored before folding existed are folded here too.
    """
    folded = fold(text)
    found = []
    for term in terms:
        words = normalise_term(term).split()
        if not words:
            continue
        pattern = r"(?<!\w)" + r"\s+".join(re.escape(word) for word in words) + r"(?!\w)"
        if re.search(pattern, folded):
            found.append(term)
    return found


def check_policy(
    settings: GuildSettings,
    *,
    channel_id: int,
    texts: Iterable[str | None],
    parent_channel_id: int | None = None,
) -> None:
    """Raise the refusal of the first rule that says no; return quietly when the job may go ahead.

    A thread counts as part of its parent channel: allowing #videos allows the threads under it.
    """
    if settings.paused:
        raise ServerPaused(settings.pause_reason)
    allowed = settings.allowed_channels
    if (
        allowed
        and channel_id not in allowed
        and (parent_channel_id is None or parent_channel_id not in allowed)
    ):
        raise ChannelNotAllowed(tuple(sorted(allowed)))
    for text in texts:
        if not text:
            continue
        found = blocked_terms_in(text, settings.blocklist)
        if found:
            raise BlockedTerm(found[0])
