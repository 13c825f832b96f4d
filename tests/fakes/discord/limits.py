"""Discord's size limits on what a bot sends, enforced like Discord: anything over is refused whole with
400 "Invalid Form Body" (code 50035) and an `errors` tree naming each offending field, so a test whose
bot builds an oversize message, embed, choice list or modal fails instead of passing unnoticed.

Lengths are Unicode code points (Python's `len`), as Discord counts them.
"""

from __future__ import annotations

from typing import Any

from .models import ApiError

CONTENT = 2000
EMBEDS = 10
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER = 2048
AUTHOR_NAME = 256
EMBED_TOTAL = 6000  # all embeds of one message together
ACTION_ROWS = 5
ROW_COMPONENTS = 5
CUSTOM_ID = 100
BUTTON_LABEL = 80
SELECT_OPTIONS = 25
CHOICES = 25
CHOICE_NAME = 100
CHOICE_VALUE = 100
MODAL_TITLE = 45
TEXT_INPUT_LABEL = 45
TEXT_INPUT_VALUE = 4000

Path = tuple[str | int, ...]


class _Errors:
    """Discord's nested error tree: {"embeds": {"0": {"title": {"_errors": [...]}}}}."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}

    def add(self, path: Path, code: str, message: str) -> None:
        node = self.tree
        for key in path:
            node = node.setdefault(str(key), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def longest(self, path: Path, value: Any, limit: int, *, required: bool = False) -> None:
        text = "" if value is None else str(value)
        if required and not text:
            self.add(path, "BASE_TYPE_REQUIRED", "This field is required")
        elif len(text) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def most(self, path: Path, items: list[Any], limit: int) -> None:
        if len(items) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def raise_any(self) -> None:
        if self.tree:
            raise ApiError(400, 50035, "Invalid Form Body", self.tree)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def embed_size(embed: dict[str, Any]) -> int:
    fields = sum(
        len(str(f.get("name") or "")) + len(str(f.get("value") or ""))
        for f in map(_dict, _list(embed.get("fields")))
    )
    return (
        len(str(embed.get("title") or ""))
        + len(str(embed.get("description") or ""))
        + fields
        + len(str(_dict(embed.get("footer")).get("text") or ""))
        + len(str(_dict(embed.get("author")).get("name") or ""))
    )


def _check_embed(errors: _Errors, path: Path, embed: dict[str, Any]) -> None:
    errors.longest((*path, "title"), embed.get("title"), EMBED_TITLE)
    errors.longest((*path, "description"), embed.get("description"), EMBED_DESCRIPTION)
    fields = _list(embed.get("fields"))
    errors.most((*path, "fields"), fields, EMBED_FIELDS)
    for j, field in enumerate(map(_dict, fields)):
        errors.longest((*path, "fields", j, "name"), field.get("name"), FIELD_NAME, required=True)
        errors.longest((*path, "fields", j, "value"), field.get("value"), FIELD_VALUE, required=True)
    errors.longest((*path, "footer", "text"), _dict(embed.get("footer")).get("text"), FOOTER)
    errors.longest((*path, "author", "name"), _dict(embed.get("author")).get("name"), AUTHOR_NAME)


def _check_components(errors: _Errors, rows: list[Any]) -> None:
    errors.most(("components",), rows, ACTION_ROWS)
    for i, row in enumerate(map(_dict, rows)):
        children = _list(row.get("components"))
        errors.most(("components", i, "components"), children, ROW_COMPONENTS)
        for j, child in enumerate(map(_dict, children)):
            here: Path = ("components", i, "components", j)
            errors.longest((*here, "custom_id"), child.get("custom_id"), CUSTOM_ID)
            errors.longest((*here, "label"), child.get("label"), BUTTON_LABEL)
            errors.most((*here, "options"), _list(child.get("options")), SELECT_OPTIONS)


def check_message(payload: dict[str, Any]) -> None:
    """A message create or edit body (interaction responses and webhooks included)."""
    errors = _Errors()
    errors.longest(("content",), payload.get("content"), CONTENT)
    embeds = _list(payload.get("embeds"))
    errors.most(("embeds",), embeds, EMBEDS)
    for i, embed in enumerate(map(_dict, embeds)):
        _check_embed(errors, ("embeds", i), embed)
    if sum(embed_size(_dict(e)) for e in embeds) > EMBED_TOTAL:
        errors.add(
            ("embeds",), "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {EMBED_TOTAL}"
        )
    _check_components(errors, _list(payload.get("components")))
    errors.raise_any()


def check_choices(choices: Any) -> None:
    """An autocomplete answer's `data.choices`."""
    errors = _Errors()
    if not isinstance(choices, list):
        errors.add(("data", "choices"), "BASE_TYPE_REQUIRED", "This field is required")
        errors.raise_any()
    errors.most(("data", "choices"), choices, CHOICES)
    for k, choice in enumerate(map(_dict, choices)):
        name = str(choice.get("name") or "")
        if not 1 <= len(name) <= CHOICE_NAME:
            errors.add(
                ("data", "choices", k, "name"),
                "BASE_TYPE_BAD_LENGTH",
                f"Must be between 1 and {CHOICE_NAME} in length.",
            )
        if isinstance(choice.get("value"), str):
            errors.longest(("data", "choices", k, "value"), choice["value"], CHOICE_VALUE)
    errors.raise_any()


def check_modal(data: dict[str, Any]) -> None:
    """A modal answer's `data`: its title, custom id and text inputs."""
    errors = _Errors()
    errors.longest(("data", "title"), data.get("title"), MODAL_TITLE, required=True)
    errors.longest(("data", "custom_id"), data.get("custom_id"), CUSTOM_ID, required=True)
    rows = _list(data.get("components"))
    errors.most(("data", "components"), rows, ACTION_ROWS)
    for i, row in enumerate(map(_dict, rows)):
        for j, child in enumerate(map(_dict, _list(row.get("components")))):
            here: Path = ("data", "components", i, "components", j)
            errors.longest((*here, "custom_id"), child.get("custom_id"), CUSTOM_ID)
            errors.longest((*here, "label"), child.get("label"), TEXT_INPUT_LABEL)
            errors.longest((*here, "value"), child.get("value"), TEXT_INPUT_VALUE)
    errors.raise_any()
