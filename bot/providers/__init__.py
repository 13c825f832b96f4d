"""Provider clients, one per Kling API family, behind `ProviderClient`."""

from __future__ import annotations

from bot.providers.base import ProviderClient, ProviderError, UnsupportedKind
from bot.settings import ProviderName, Settings

__all__ = ["ProviderClient", "ProviderError", "UnsupportedKind", "build_provider"]


def _secret(value: object) -> str:
    from pydantic import SecretStr

    if isinstance(value, SecretStr):
        return value.get_secret_value()
    raise ValueError("a provider credential is missing; run `python -m bot check`")


def build_provider(settings: Settings) -> ProviderClient:
    """The client for KLING_PROVIDER, configured from the settings."""
    base = settings.provider_api_base
    match settings.kling_provider:
        case ProviderName.ACEDATA:
            from bot.providers.acedata import AceDataClient

            return AceDataClient(_secret(settings.kling_api_key), base_url=base)
        case ProviderName.KLING:
            from bot.providers.kling import KlingClient

            return KlingClient(
                _secret(settings.kling_access_key), _secret(settings.kling_secret_key), base_url=base
            )
        case ProviderName.KIE:
            from bot.providers.kie import KieClient

            hmac_key = settings.kie_webhook_hmac_key
            return KieClient(
                _secret(settings.kling_api_key),
                base_url=base,
                upload_base_url=settings.kie_upload_base,
                webhook_hmac_key=hmac_key.get_secret_value() if hmac_key else None,
            )
        case ProviderName.GATEWAY:
            from bot.providers.gateway import GatewayClient

            return GatewayClient(_secret(settings.kling_api_key), base_url=base)
    raise ValueError(f"unknown provider {settings.kling_provider}")
