"""Error reports leave the process scrubbed like the logs; nothing is set up without SENTRY_DSN."""

from __future__ import annotations

import json
from typing import Any

from bot.error_reporting import before_send_hook, sentry_options
from bot.logs import SecretFilter
from bot.settings import Settings

PROVIDER_KEY = "plain-provider-key-123"
BOT_TOKEN = "MTA" + "x" * 21 + "." + "Gabcde" + "." + "y" * 30
SIGNED_URL = "https://cdn.example.org/v/out.mp4?X-Amz-Signature=deadbeefcafe&X-Amz-Credential=AKIA1"


def event_with_secrets() -> dict[str, Any]:
    return {
        "message": f"provider refused key {PROVIDER_KEY}",
        "exception": {
            "values": [
                {
                    "type": "ClientResponseError",
                    "value": f"403 fetching {SIGNED_URL}",
                    "stacktrace": {"frames": [{"context_line": f"key = '{PROVIDER_KEY}'"}]},
                }
            ]
        },
        "request": {
            "url": "https://bot.example.org/callbacks/Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA",
            "headers": {"Authorization": f"Bot {BOT_TOKEN}", "X-Api-Key": "anything", "Accept": "*/*"},
        },
        "breadcrumbs": {"values": [{"message": f"POST /interactions/1/{'t' * 40}/callback"}]},
        "extra": {"count": 3},
    }


def test_the_hook_scrubs_messages_exceptions_requests_and_breadcrumbs() -> None:
    hook = before_send_hook(SecretFilter([PROVIDER_KEY]))
    event = hook(event_with_secrets(), {})
    text = json.dumps(event)
    for leak in (PROVIDER_KEY, BOT_TOKEN, "deadbeefcafe", "AKIA1", "Zm9vYmFyYmF6cXV4", "t" * 40, "anything"):
        assert leak not in text
    assert event["message"] == "provider refused key <redacted>"
    assert event["request"]["headers"]["Accept"] == "*/*"
    assert event["extra"] == {"count": 3}
    assert event["exception"]["values"][0]["type"] == "ClientResponseError"


def test_nothing_is_reported_without_a_dsn() -> None:
    assert sentry_options(Settings(_env_file=None), SecretFilter()) is None


def test_with_a_dsn_events_and_breadcrumbs_pass_the_scrubbing_hook() -> None:
    settings = Settings(_env_file=None, sentry_dsn="https://public@sentry.example.org/1")
    options = sentry_options(settings, SecretFilter([PROVIDER_KEY]))
    assert options is not None
    assert options["send_default_pii"] is False and options["include_local_variables"] is False
    names = {type(i).__name__ for i in options["integrations"]}
    assert names == {"AsyncioIntegration", "AioHttpIntegration"}
    crumb = options["before_breadcrumb"]({"message": f"key {PROVIDER_KEY}"}, {})
    assert crumb == {"message": "key <redacted>"}
    assert options["before_send"] is options["before_breadcrumb"]


def test_a_blank_dsn_is_unset() -> None:
    assert Settings(_env_file=None, sentry_dsn=" ").sentry_dsn is None
