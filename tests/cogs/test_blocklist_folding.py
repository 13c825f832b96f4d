"""The blocklist against evasion, end to end: invisible characters and lookalike letters in prompts,
terms added in odd spellings, and rows stored before terms were folded."""

from __future__ import annotations

import pytest

from tests.cogs import HarnessFactory, admin, ledger, make_video, start_bot
from tests.harness import Harness

REFUSED = 'Your prompt contains a term this server does not allow ("{}").'


@pytest.fixture
async def h(make_harness: HarnessFactory) -> Harness:
    return await start_bot(make_harness)


@pytest.mark.parametrize(
    ("prompt", "negative"),
    [
        ("a red dra\u200bgon over the sea", None),  # zero-width space
        ("a red dra\u00adgon over the sea", None),  # soft hyphen
        ("a red \u202edragon\u202c over the sea", None),  # bidirectional override
        ("a ＲＥＤ ＤＲＡＧＯＮ over the sea", None),  # fullwidth letters
        ("a calm sea", "\ufeffgo\u200dre, blur"),  # BOM and zero-width joiner, in the negative prompt
    ],
    ids=["zwsp", "soft-hyphen", "bidi-override", "fullwidth", "negative-prompt"],
)
async def test_disguised_terms_are_refused_and_nothing_is_spent(
    h: Harness, prompt: str, negative: str | None
) -> None:
    await admin(h, "blocklist add", {"term": "red dragon"})
    await admin(h, "blocklist add", {"term": "gore"})
    options = {"negative_prompt": negative} if negative else {}
    job, text = await make_video(h, prompt, **options)
    assert job is None
    assert text.startswith(REFUSED.format("gore" if negative else "red dragon")), text
    assert h.provider.requests == []


async def test_a_term_added_in_an_odd_spelling_is_stored_folded(h: Harness) -> None:
    assert (await admin(h, "blocklist add", {"term": "Ｇ\u200bＯＲＥ"})).startswith("✅ Added `gore`.")
    assert await admin(h, "blocklist add", {"term": "gore"}) == "`gore` is already on the blocklist."
    assert ledger(h, "SELECT term FROM blocklist") == [("gore",)]


async def test_a_row_stored_before_folding_still_blocks_and_can_be_removed(h: Harness) -> None:
    await h.running.store.add_blocked_term(h.guild.id, "ＧＯＲＥ")  # as an older version stored it
    job, text = await make_video(h, "a calm sea", negative_prompt="gore")
    assert job is None and text.startswith(REFUSED.format("ＧＯＲＥ")), text
    assert await admin(h, "blocklist add", {"term": "gore"}) == "`gore` is already on the blocklist."
    assert await admin(h, "blocklist remove", {"term": "gore"}) == "✅ Removed `gore` from the blocklist."
    assert ledger(h, "SELECT term FROM blocklist") == []
