"""Readers of provider JSON that never raise KeyError or TypeError: a field of the wrong type reads as
missing, so an odd answer is reported as unreadable instead of crashing the poll."""

from __future__ import annotations

from typing import Any


def parse_seconds(value: Any) -> float | None:
    """Durations come as strings ("5.066") or numbers; anything else is unknown."""
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def json_object(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one: reading a shape never raises KeyError."""
    return value if isinstance(value, dict) else {}


def json_text(value: Any) -> str | None:
    """A non-empty string (ids may come as numbers), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def json_url(value: Any) -> str | None:
    """An http(s) URL, else None: a result "URL" that is a number or a path cannot be downloaded."""
    text = value.strip() if isinstance(value, str) else ""
    return text if text.startswith(("https://", "http://")) else None
