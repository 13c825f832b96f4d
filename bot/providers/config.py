"""What a provider client is configured with: its own small dataclasses, filled in by the app.

Providers never read the app's settings; `bot.settings.Settings.provider_config()` builds these.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import SecretStr

from bot.retry import RetryPolicy

DEFAULT_KIE_UPLOAD_BASE = "https://kieai.redpandaai.co"


@dataclass(frozen=True, slots=True)
class HttpConfig:
    """Timeouts and the retry schedule of every provider HTTP call.

    Which failures are retried depends on the call (see `ProviderHttp.request`); how long to wait
    between tries comes from `retry`. A server's Retry-After is honoured up to `retry_after_cap`.
    """

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float = 60.0  # seconds per HTTP attempt, body included
    connect_timeout: float = 10.0

    @property
    def retry_after_cap(self) -> float:
        # Trust a provider's Retry-After up to four times our own longest wait, never longer.
        return self.retry.max_delay * 4


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """One provider family and its account: which API, where, with which credentials."""

    family: str  # acedata | kling | kie | gateway
    base_url: str
    api_key: SecretStr | None = None  # acedata, kie, gateway
    access_key: SecretStr | None = None  # kling
    secret_key: SecretStr | None = None  # kling
    upload_base_url: str = DEFAULT_KIE_UPLOAD_BASE  # kie's File Upload API
    webhook_hmac_key: SecretStr | None = None  # kie's signed callbacks
    http: HttpConfig = field(default_factory=HttpConfig)
