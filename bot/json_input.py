"""JSON from outside the bot (callbacks, provider answers), read so that every way it can be unreadable
is one typed error: never a RecursionError from a deeply nested document, and never a value the rest of
the bot cannot handle or store (NaN, infinities, lone surrogates)."""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 64  # providers' documents nest a few levels; anything near this deep is hostile


class UnreadableJson(ValueError):
    """Not UTF-8, not JSON, nested deeper than allowed, or holding values the bot does not read. A
    ValueError, so readers that already treat a ValueError as "unreadable" keep doing so."""


def read_json(raw: bytes | bytearray | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """The decoded document; raises UnreadableJson (and nothing else) when it cannot be read.

    Bytes must be UTF-8 (a leading byte order mark is allowed). NaN and Infinity literals, numbers that
    overflow to infinity and integers past Python's digit limit are refused, as are strings holding
    lone surrogates (they cannot be encoded, so they would fail later, when logged or stored).
    """
    if isinstance(raw, bytes | bytearray):
        try:
            text = bytes(raw).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise UnreadableJson("not UTF-8") from None
    else:
        text = raw.removeprefix("\ufeff")
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise UnreadableJson("nested too deeply") from None
    except UnreadableJson:
        raise
    except ValueError as exc:  # JSONDecodeError, or an integer past the digit limit
        raise UnreadableJson(f"not JSON ({type(exc).__name__})") from None
    _check_shape(value, max_depth)
    return value


def _refuse_constant(name: str) -> Any:
    raise UnreadableJson(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UnreadableJson("a number too large for a float")
    return value


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UnreadableJson("a string with a lone surrogate") from None


def _check_shape(value: Any, max_depth: int) -> None:
    """Walk the document without recursion: containers at most `max_depth` deep, every string encodable."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item)
            continue
        if not isinstance(item, dict | list):
            continue
        if depth >= max_depth:
            raise UnreadableJson(f"nested deeper than {max_depth} levels")
        if isinstance(item, dict):
            for key in item:
                _check_text(key)
            children = list(item.values())
        else:
            children = item
        stack.extend((child, depth + 1) for child in children)
