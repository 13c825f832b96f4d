"""The client base of the families that sign every call with one API key as a bearer token."""

from __future__ import annotations

from typing import ClassVar

import aiohttp

from bot.providers.base import ProviderClient
from bot.providers.config import HttpConfig
from bot.providers.http import ProviderHttp


class BearerKeyClient(ProviderClient):
    """One API key, sent as `Authorization: Bearer <key>` (AceData §1, the gateways §3)."""

    default_base_url: ClassVar[str]
    # Who needs the key, as the refusal of an empty one names it ("AceData", "the gateway").
    key_owner: ClassVar[str]

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        http: HttpConfig | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        if not api_key:
            raise ValueError(f"{self.key_owner} needs an API key")
        self._api_key = api_key
        url = self.default_base_url if base_url is None else base_url
        self._http = ProviderHttp(url, auth_header=self._authorization, config=http, session=session)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._http.base_url!r})"

    def _authorization(self) -> str:
        return f"Bearer {self._api_key}"

    async def close(self) -> None:
        await self._http.close()
