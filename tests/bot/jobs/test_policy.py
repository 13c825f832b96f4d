"""The blocklist matches on a folded form: invisible characters dropped, NFKC, case folded."""

from __future__ import annotations

import pytest

from bot.jobs.policy import blocked_terms_in, fold, normalise_term

INVISIBLE = {
    "zero-width space": "\u200b",
    "zero-width non-joiner": "\u200c",
    "zero-width joiner": "\u200d",
    "soft hyphen": "\u00ad",
    "word joiner": "\u2060",
    "left-to-right override": "\u202d",
    "right-to-left override": "\u202e",
    "pop directional formatting": "\u202c",
    "first strong isolate": "\u2068",
    "pop directional isolate": "\u2069",
    "byte order mark": "\ufeff",
    "mongolian vowel separator": "\u180e",
    "combining grapheme joiner": "\u034f",
    "variation selector": "\ufe0f",
    "hangul filler": "\u3164",
}


@pytest.mark.parametrize("char", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_an_invisible_character_inside_a_word_does_not_hide_it(char: str) -> None:
    assert blocked_terms_in(f"a dr{char}ag{char}on flies", ["dragon"]) == ["dragon"]
    assert blocked_terms_in(f"the red{char} {char}dragon", ["red dragon"]) == ["red dragon"]
    assert blocked_terms_in(f"{char}dragon{char}", ["dragon"]) == ["dragon"]


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("a ＤＲＡＧＯＮ flies", "dragon"),  # fullwidth letters
        ("a ｄｒａｇｏｎ flies", "dragon"),
        ("a \ufb01re storm", "fire"),  # the "fi" ligature
        ("a 𝐝𝐫𝐚𝐠𝐨𝐧 flies", "dragon"),  # mathematical bold
        ("a 𝒹𝓇𝒶𝑔ℴ𝓃 flies", "dragon"),  # mathematical script
        ("a ⓓⓡⓐⓖⓞⓝ flies", "dragon"),  # circled letters
        ("die STRASSE", "straße"),  # case folding: ß is ss
        ("die Straße", "strasse"),
        ("a\u00a0red\u3000dragon", "red dragon"),  # no-break and ideographic spaces
        ("un cafe\u0301 noir", "café"),  # decomposed accent against a composed term
    ],
)
def test_lookalike_spellings_that_nfkc_unifies_are_caught(text: str, term: str) -> None:
    assert blocked_terms_in(text, [normalise_term(term)]) == [normalise_term(term)]


@pytest.mark.parametrize(
    "text",
    ["a dragonfly", "snap\u200bdragon", "ｓｎａｐｄｒａｇｏｎ", "dragon\u200bs", "drag on"],
)
def test_whole_words_still_rule_after_folding(text: str) -> None:
    assert blocked_terms_in(text, ["dragon"]) == []


def test_terms_are_stored_folded() -> None:
    assert normalise_term("  Ｒｅｄ \u200b  DRA\u00adGON \n") == "red dragon"
    assert normalise_term("Stra\u00dfe") == "strasse"
    assert normalise_term("\u200b\u2060") == ""


@pytest.mark.parametrize("stored", ["ＤＲＡＧＯＮ", "dra\u200bgon", "Dragon"])
def test_terms_stored_before_folding_still_match(stored: str) -> None:
    """A row written by an older version is matched folded too, and reported as stored."""
    assert blocked_terms_in("a dragon flies", [stored]) == [stored]


def test_fold_is_stable() -> None:
    for text in ["ＤＲＡＧＯＮ", "Straße", "ǅ", "ﬃ", "İstanbul", "café", "\u212b"]:
        assert fold(fold(text)) == fold(text)
