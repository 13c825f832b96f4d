"""Optional error reporting: with SENTRY_DSN set, unexpected exceptions go to Sentry.

Every event and breadcrumb passes through the same `SecretFilter.scrub` as the logs before it leaves the
process, so tokens, keys and signed URLs never reach Sentry; request bodies, cookies and local variables
are not sent at all.
"""

from __future__ import annotations

from typing import Any

import sentry_sdk
from sentry_sdk.integrations.aiohttp import AioHttpIntegration
from sentry_sdk.integrations.asyncio import AsyncioIntegration

from bot.logs import SecretFilter
from bot.settings import Settings

# Values under these keys (headers, query parameters, extra data) are dropped whatever they look like.
_SENSITIVE_KEYS = ("authorization", "cookie", "token", "secret", "password", "api_key", "apikey", "signature")
REDACTED = "<redacted>"


def scrub_value(value: Any, scrubber: SecretFilter) -> Any:
    """A copy of `value` with every string scrubbed and every sensitive-looking key's value redacted."""
    if isinstance(value, str):
        return scrubber.scrub(value)
    if isinstance(value, dict):
        return {
            key: REDACTED
            if isinstance(key, str) and any(word in key.lower().replace("-", "_") for word in _SENSITIVE_KEYS)
            else scrub_value(item, scrubber)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub_value(item, scrubber) for item in value]
    return value


def before_send_hook(scrubber: SecretFilter) -> Any:
    """Sentry's `before_send`/`before_breadcrumb`: the event (or breadcrumb), scrubbed throughout."""

    def scrubbed(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
        return dict(scrub_value(event, scrubber))

    return scrubbed


def sentry_options(settings: Settings, scrubber: SecretFilter) -> dict[str, Any] | None:
    """The arguments for `sentry_sdk.init`, or None when SENTRY_DSN is not set."""
    if settings.sentry_dsn is None:
        return None
    hook = before_send_hook(scrubber)
    return {
        "dsn": settings.sentry_dsn.get_secret_value(),
        "integrations": [AsyncioIntegration(), AioHttpIntegration()],
        "send_default_pii": False,
        "include_local_variables": False,
        "max_request_body_size": "never",
        "traces_sample_rate": 0.0,
        "before_send": hook,
        "before_breadcrumb": hook,
    }


def init_error_reporting(settings: Settings, scrubber: SecretFilter) -> bool:
    """Start reporting when configured; call from inside the running event loop (the asyncio integration
    hooks that loop's tasks). Returns whether reporting is on."""
    options = sentry_options(settings, scrubber)
    if options is None:
        return False
    sentry_sdk.init(**options)
    return True
