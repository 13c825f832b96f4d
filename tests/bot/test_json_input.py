"""Reading JSON from outside: every unreadable document is one typed error, whatever is wrong with it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.json_input import MAX_DEPTH, UnreadableJson, read_json

DEEP = 100_000


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"[" * DEEP + b"]" * DEEP, id="100k-nested-arrays"),
        pytest.param(b'{"a":' * DEEP + b"1" + b"}" * DEEP, id="100k-nested-objects"),
        pytest.param("[" * DEEP + "]" * DEEP, id="100k-nested-text"),
        pytest.param(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), id="just-too-deep"),
        pytest.param(b'{"a": "\xff\xfe"}', id="not-utf8"),
        pytest.param('{"a": 1}'.encode("utf-16"), id="utf16"),
        pytest.param(b"NaN", id="nan"),
        pytest.param(b'{"duration": Infinity}', id="infinity"),
        pytest.param(b"[-Infinity]", id="minus-infinity"),
        pytest.param(b'{"n": 1e400}', id="float-overflow"),
        pytest.param(b'{"n": ' + b"9" * 5000 + b"}", id="int-past-digit-limit"),
        pytest.param(b'{"message": "\\ud800"}', id="lone-surrogate"),
        pytest.param(b'{"\\udfff": 1}', id="lone-surrogate-key"),
        pytest.param(b"", id="empty"),
        pytest.param(b"{not json", id="syntax"),
        pytest.param(b"\xef\xbb\xbf\xef\xbb\xbf{}", id="two-boms"),
    ],
)
def test_unreadable_documents_raise_one_typed_error(raw: bytes | str) -> None:
    with pytest.raises(UnreadableJson):
        read_json(raw)


def test_it_is_a_value_error_so_older_readers_still_catch_it() -> None:
    assert issubclass(UnreadableJson, ValueError)
    assert not issubclass(UnreadableJson, RecursionError)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'\xef\xbb\xbf{"a": 1}', {"a": 1}),  # a UTF-8 byte order mark is allowed
        ('\ufeff{"a": 1}', {"a": 1}),
        (b'{"emoji": "\\ud83c\\udfac", "n": 1.5, "big": ' + b"9" * 300 + b"}", None),
        (b"[" * MAX_DEPTH + b"]" * MAX_DEPTH, None),
        ('{"prompt": "café ✨"}'.encode(), {"prompt": "café ✨"}),
    ],
)
def test_ordinary_documents_read_as_json_does(raw: bytes | str, expected: Any) -> None:
    text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw.removeprefix("\ufeff")
    assert read_json(raw) == (expected if expected is not None else json.loads(text))
