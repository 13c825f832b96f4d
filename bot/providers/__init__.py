"""Provider clients, one per Kling API family, behind `ProviderClient`."""

from __future__ import annotations

from pydantic import SecretStr

from bot.providers.base import AccountBalance, ProviderClient, ProviderError, UnsupportedKind
from bot.providers.config import HttpConfig, ProviderConfig

__all__ = [
    "AccountBalance",
    "HttpConfig",
    "ProviderClient",
    "ProviderConfig",
    "ProviderError",
    "UnsupportedKind",
    "build_provider",
]


def _secret(value: SecretStr | None) -> str:
    if value is None:
        raise ValueError("a provider credential is missing; run `python -m bot check`")
    return value.get_secret_value()


def build_provider(config: ProviderConfig) -> ProviderClient:
    """The client for the configured family."""
    base, http = config.base_url, config.http
    match config.family:
        case "acedata":
            from bot.providers.acedata import AceDataClient

            return AceDataClient(_secret(config.api_key), base_url=base, http=http)
        case "kling":
            from bot.providers.kling import KlingClient

            return KlingClient(
                _secret(config.access_key), _secret(config.secret_key), base_url=base, http=http
            )
        case "kie":
            from bot.providers.kie import KieClient

            hmac_key = config.webhook_hmac_key
            return KieClient(
                _secret(config.api_key),
                base_url=base,
                upload_base_url=config.upload_base_url,
                webhook_hmac_key=hmac_key.get_secret_value() if hmac_key else None,
                http=http,
            )
        case "gateway":
            from bot.providers.gateway import GatewayClient

            return GatewayClient(_secret(config.api_key), base_url=base, http=http)
    raise ValueError(f"unknown provider {config.family}")
