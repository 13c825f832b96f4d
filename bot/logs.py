"""Logging set-up: plain text or one JSON object a line, with secrets scrubbed from every record and the
current job's ids (`log_fields`) on every line, so one job's story can be found by its id alone."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

# Shapes of secrets that must never reach a log line, whatever code logged them.
_PATTERNS = [
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(bot|bearer)\s+[^\s'\",}]+"),
    re.compile(r"(?i)\b(bearer|bot)\s+[A-Za-z0-9._\-]{16,}"),
    re.compile(r"[MN][A-Za-z0-9_-]{23,}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,}"),  # Discord bot tokens
    re.compile(r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"),  # JWTs
    re.compile(r"(/webhooks/\d+/)[A-Za-z0-9_.\-]{20,}"),  # interaction tokens in webhook routes
    re.compile(r"(/interactions/\d+/)[A-Za-z0-9_.\-]{20,}"),
    re.compile(r"(/callbacks/)[A-Za-z0-9_\-]{8,}"),  # our own per-job callback tokens
    re.compile(r"(/inputs/)[A-Za-z0-9_\-]{8,}"),
    re.compile(r"(https?://[^\s?'\"]+)\?[^\s'\"]+"),  # query strings: signed URLs carry credentials there
]
_REPLACEMENTS = [
    r"\1<redacted>",
    "<redacted>",
    "<redacted>",
    "<redacted>",
    r"\1<redacted>",
    r"\1<redacted>",
    r"\1<redacted>",
    r"\1<redacted>",
    r"\1?<redacted>",
]


# Fields that every log line written while handling one job carries (job_id, guild_id, user_id).
_LOG_FIELDS: ContextVar[tuple[tuple[str, object], ...]] = ContextVar("klingbot_log_fields", default=())


@contextmanager
def log_fields(**fields: object) -> Iterator[None]:
    """Within this block (and tasks started in it), log records carry these fields; None is left out."""
    merged = {**dict(_LOG_FIELDS.get()), **{k: v for k, v in fields.items() if v is not None}}
    token = _LOG_FIELDS.set(tuple(merged.items()))
    try:
        yield
    finally:
        _LOG_FIELDS.reset(token)


def current_log_fields() -> dict[str, object]:
    return dict(_LOG_FIELDS.get())


# Shown first and in this order; any other field follows in the order it was set.
_FIELD_ORDER = ("job_id", "guild_id", "user_id", "ref")


class LogFieldsFilter(logging.Filter):
    """Puts the current `log_fields` on every record the handler emits: as attributes (JSON fields) and as
    `record.fields_prefix` ("job_id=k7f3a9c2 guild_id=… ") for the text format. An explicit `extra=` wins."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _LOG_FIELDS.get():
            if not hasattr(record, key):
                setattr(record, key, value)
        keys = [k for k in _FIELD_ORDER if hasattr(record, k)]
        keys += [k for k, _ in _LOG_FIELDS.get() if k not in keys]
        fields = {key: getattr(record, key) for key in keys}
        record.log_fields = fields
        record.fields_prefix = "".join(f"{key}={value} " for key, value in fields.items())
        return True


class ProcessFieldsFilter(logging.Filter):
    """Fields naming this process (its INSTANCE_ID) on every JSON line; text lines stay as they are."""

    def __init__(self, fields: Mapping[str, object]) -> None:
        super().__init__()
        self.fields = dict(fields)

    def filter(self, record: logging.LogRecord) -> bool:
        fields = getattr(record, "log_fields", None)
        if fields is not None:
            for key, value in self.fields.items():
                fields.setdefault(key, value)
        return True


TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(fields_prefix)s%(message)s"


class SecretFilter(logging.Filter):
    """Scrubs known secret values and secret-shaped strings from the formatted message."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "<redacted>")
        for pattern, replacement in zip(_PATTERNS, _REPLACEMENTS, strict=True):
            text = pattern.sub(replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = self.scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        if record.exc_info and record.exc_info[1] is not None:
            # Tracebacks are formatted later; format now so they can be scrubbed too.
            record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "log_fields", None)
        if fields is None:  # a handler without LogFieldsFilter: explicit extras only
            fields = {key: getattr(record, key) for key in _FIELD_ORDER if hasattr(record, key)}
        for key, value in fields.items():
            entry.setdefault(key, value)
        if record.exc_text:
            entry["exception"] = record.exc_text
        elif record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(
    level: str, fmt: str, secrets: Iterable[str] = (), process_fields: Mapping[str, object] | None = None
) -> SecretFilter:
    handler = logging.StreamHandler(sys.stderr)
    secret_filter = SecretFilter(secrets)
    handler.addFilter(secret_filter)
    handler.addFilter(LogFieldsFilter())
    if process_fields:
        handler.addFilter(ProcessFieldsFilter(process_fields))
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # These libraries log request routes and SQL parameters at DEBUG: tokens would ride along.
    for noisy in ("discord", "aiosqlite"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, logging.getLevelName(level)))
    return secret_filter
