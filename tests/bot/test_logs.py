"""Secrets never reach a log line, whoever logged them."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot.logs import JsonFormatter, SecretFilter, configure_logging

BOT_TOKEN = "MTA" + "x" * 21 + "." + "Gabcde" + "." + "y" * 30  # the shape of a Discord bot token


@pytest.mark.parametrize(
    ("text", "leak"),
    [
        (f"Authorization: Bot {BOT_TOKEN}", BOT_TOKEN),
        (
            "headers={'Authorization': 'Bearer sk-abcdefghijklmnopqrstuvwxyz'}",
            "sk-abcdefghijklmnopqrstuvwxyz",
        ),
        ("GET https://cdn.discordapp.com/attachments/1/2/a.png?ex=65&is=64&hm=deadbeef", "hm=deadbeef"),
        ("POST /webhooks/123/aW50ZXJhY3Rpb246MTIzNDU2Nzg5OmFiY2RlZmdo/messages/@original", "aW50ZXJhY3Rpb24"),
        ("callback for /callbacks/Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA failed", "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJBSyJ9.c2lnbmF0dXJl", "eyJpc3MiOiJBSyJ9"),
    ],
)
def test_secret_shapes_are_scrubbed(text: str, leak: str) -> None:
    assert leak not in SecretFilter().scrub(text)


def test_known_secret_values_are_scrubbed_in_messages_args_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(SecretFilter(["plain-provider-key"]))
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.secrets")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("key is %s", "plain-provider-key")
        try:
            raise RuntimeError("failed with plain-provider-key")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "plain-provider-key" not in output
    lines = [json.loads(line) for line in output.splitlines()]
    assert lines[0]["message"] == "key is <redacted>" and lines[0]["level"] == "WARNING"
    assert "RuntimeError" in lines[1]["exception"]


def test_configure_logging_installs_one_scrubbing_handler() -> None:
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    try:
        configure_logging("DEBUG", "json", ["abcdef-secret"])
        assert len(root.handlers) == 1 and root.level == logging.DEBUG
        assert isinstance(root.handlers[0].formatter, JsonFormatter)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
