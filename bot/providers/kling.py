"""The official Kling API (providers.md §2): JWT auth, `{code, message, request_id, data}` envelopes.

The request bodies and the task-object reader live in bot/providers/kling_shapes.py, shared with the
gateways that proxy this API (§3).
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from typing import Any

import aiohttp
import jwt

from bot.models import ErrorCategory, GenerationRequest, JobKind, TaskUpdate
from bot.providers.base import AccountBalance, ProviderClient, ProviderError
from bot.providers.config import HttpConfig
from bot.providers.http import HttpResponse, ProviderHttp, refusal
from bot.providers.json_fields import json_object, json_text
from bot.providers.kling_shapes import (
    ENDPOINTS,
    OMNI_ENDPOINT,
    UNEXPECTED,
    build_request_body,
    error_category,
    numeric_code,
    parse_kling_task,
    unwrap_callback,
)

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api-singapore.klingai.com"
TOKEN_LIFETIME = 1800  # §2.1: exp = now + 1800
TOKEN_NOT_BEFORE_SKEW = 5  # §2.1: nbf = now - 5
TOKEN_RENEW_MARGIN = 300  # a fresh token once fewer than 5 minutes are left

# Account information (Kling's "Account Information Inquiry", not in providers.md): GET /account/costs
# lists the resource packs bought between start_time and end_time (ms), each with remaining_quantity
# and a status (online, runOut, expired, toBeOnline). Packs are chosen by purchase time, so the window
# reaches back past any pack still valid; the endpoint is free but limited to about one query a second.
ACCOUNT_COSTS_PATH = "/account/costs"
ACCOUNT_COSTS_LOOKBACK_MS = 400 * 24 * 3600 * 1000


def is_not_found(error: ProviderError) -> bool:
    """Whether a lookup failed because no such task exists (1203, or 404 other than 1202)."""
    if error.code == 1203 or (error.http_status == 404 and error.code != 1202):
        return True
    text = error.message.lower()
    return error.code in (1200, 1201) and ("not found" in text or "not exist" in text)


class KlingClient(ProviderClient):
    name = "kling"
    supported_kinds = frozenset(JobKind)
    supports_lookup_by_job_id = True
    needs_input_urls = True  # images may go inline as base64, reference videos may not
    default_low_balance = 50.0  # units: about six 10-second motion clips in std (providers.md §2.7)

    def __init__(
        self,
        access_key: str,
        secret_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        http: HttpConfig | None = None,
        session: aiohttp.ClientSession | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not access_key or not secret_key:
            raise ValueError("the Kling API needs both an access key and a secret key")
        self._access_key = access_key
        self._secret_key = secret_key
        self._clock = clock
        self._token: str | None = None
        self._token_expires = 0.0
        self._http = ProviderHttp(base_url, auth_header=self._authorization, config=http, session=session)

    def __repr__(self) -> str:
        return f"KlingClient(base_url={self._http.base_url!r})"

    # ---- auth ------------------------------------------------------------------------------

    def token(self) -> str:
        """The JWT of §2.1, reused until fewer than TOKEN_RENEW_MARGIN seconds of it are left."""
        now = self._clock()
        if self._token is None or self._token_expires - now < TOKEN_RENEW_MARGIN:
            issued = int(now)
            claims = {
                "iss": self._access_key,
                "exp": issued + TOKEN_LIFETIME,
                "nbf": issued - TOKEN_NOT_BEFORE_SKEW,
            }
            with warnings.catch_warnings():
                # Kling issues the secret key; its length is not the operator's to choose.
                warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
                self._token = jwt.encode(claims, self._secret_key, algorithm="HS256", headers={"typ": "JWT"})
            self._token_expires = float(issued + TOKEN_LIFETIME)
            log.debug("kling: new API token, valid for %d s", TOKEN_LIFETIME)
        return self._token

    def _authorization(self) -> str:
        return f"Bearer {self.token()}"

    def _secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self._access_key, self._secret_key, self._token) if s)

    # ---- calls -----------------------------------------------------------------------------

    async def submit(self, request: GenerationRequest, *, job_id: str, callback_url: str | None) -> str:
        segment, body = build_request_body(request, job_id=job_id, callback_url=callback_url)
        response = await self._http.request(
            "POST",
            f"/v1/videos/{segment}",
            classify=self._classify,
            json_body=body,
            # A refused request (429) started nothing; a lost one may have, and the engine can ask
            # find_by_job_id before sending it again.
            retry_on=(ErrorCategory.RATE_LIMITED,),
        )
        task_id = json_text(json_object(json_object(response.body).get("data")).get("task_id"))
        if task_id is None:
            raise ProviderError(ErrorCategory.TRANSIENT, UNEXPECTED, http_status=response.status)
        log.info("kling: job %s submitted as %s task %s", job_id, segment, task_id)
        return task_id

    async def query(self, task_id: str, *, kind: JobKind) -> TaskUpdate:
        try:
            response = await self._http.request(
                "GET", f"/v1/videos/{ENDPOINTS[kind]}/{task_id}", classify=self._classify
            )
        except ProviderError as error:
            # Requests with omni references went to omni-video (§2.4), and so did extensions an omni
            # model continues; the store knows them by kind.
            if kind is JobKind.MOTION or not is_not_found(error):
                raise
            response = await self._http.request(
                "GET", f"/v1/videos/{OMNI_ENDPOINT}/{task_id}", classify=self._classify
            )
        try:
            return parse_kling_task(json_object(response.body).get("data"))
        except ValueError as exc:
            raise ProviderError(ErrorCategory.TRANSIENT, UNEXPECTED, http_status=response.status) from exc

    async def find_by_job_id(self, job_id: str, *, kind: JobKind) -> TaskUpdate | None:
        """§2.3: the query path takes our external_task_id as well as Kling's task_id."""
        try:
            return await self.query(job_id, kind=kind)
        except ProviderError as error:
            if is_not_found(error):
                return None
            raise

    async def account_balance(self) -> AccountBalance:
        """Units left in the resource packs that can be spent now (status "online")."""
        end = int(self._clock() * 1000)
        params = {"start_time": str(end - ACCOUNT_COSTS_LOOKBACK_MS), "end_time": str(end)}
        response = await self._http.request("GET", ACCOUNT_COSTS_PATH, classify=self._classify, params=params)
        packs = json_object(json_object(response.body).get("data")).get("resource_pack_subscribe_infos")
        if not isinstance(packs, list):
            raise ProviderError(ErrorCategory.TRANSIENT, UNEXPECTED, http_status=response.status)
        remaining = 0.0
        for pack in map(json_object, packs):
            quantity = pack.get("remaining_quantity")
            if pack.get("status") == "online" and isinstance(quantity, int | float):
                remaining += float(quantity)
        return AccountBalance(remaining=remaining, unit="units")

    def parse_callback(self, body: Any) -> TaskUpdate:
        return parse_kling_task(unwrap_callback(body))

    async def close(self) -> None:
        await self._http.close()

    # ---- errors ----------------------------------------------------------------------------

    def _classify(self, response: HttpResponse) -> ProviderError | None:
        body = json_object(response.body)
        code = numeric_code(body.get("code"))
        ok_status = 200 <= response.status < 300
        if ok_status and response.is_json and code in (0, None) and body:
            return None
        if ok_status and (not response.is_json or not body):
            return ProviderError(ErrorCategory.TRANSIENT, UNEXPECTED, http_status=response.status)
        category = error_category(code, response.status)
        log.warning(
            "kling: HTTP %s code %s (%s), request_id=%s",
            response.status,
            code,
            category.value,
            json_text(body.get("request_id")),
        )
        return refusal(response, category, body.get("message"), code=code, secrets=self._secrets())
