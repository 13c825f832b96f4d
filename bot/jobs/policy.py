"""Server policy checked before anything is spent: pause, allowed channels, the prompt blocklist."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.jobs.refusals import BlockedTerm, ChannelNotAllowed, ServerPaused
from db.records import GuildSettings


def normalise_term(term: str) -> str:
    """How blocklist terms are stored: lower-cased, trimmed, inner whitespace collapsed to one space."""
    return " ".join(term.split()).lower()


def blocked_terms_in(text: str, terms: Iterable[str]) -> list[str]:
    """The blocklisted terms that appear in `text` as whole words, case-insensitively.

    Words of a multi-word term may be separated by any whitespace, so extra spaces or a line break
    do not slip a term past the list.
    """
    found = []
    for term in terms:
        words = term.split()
        if not words:
            continue
        pattern = r"(?<!\w)" + r"\s+".join(re.escape(word) for word in words) + r"(?!\w)"
        if re.search(pattern, text, flags=re.IGNORECASE):
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
