"""The fake Discord refuses what Discord refuses for its size: 400 "Invalid Form Body" (code 50035) with an
error tree naming each field, and nothing is posted; at the limits, everything is accepted."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.fakes.discord import ApiError, FakeDiscord, fixtures
from tests.fakes.discord.limits import check_choices, check_modal

fake_discord = fixtures.fake_discord


async def post(fake: FakeDiscord, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    url = f"{fake.api_base}/channels/{fake.world.general_id}/messages"
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bot {fake.bot_token}"}) as http,
        http.post(url, json=payload) as response,
    ):
        return response.status, await response.json()


def too_long(limit: int) -> dict[str, list[dict[str, str]]]:
    return {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": f"Must be {limit} or fewer in length."}]}


def embed(**parts: Any) -> dict[str, Any]:
    return {"embeds": [{"title": "t", **parts}]}


def fields(count: int, name: str = "n", value: str = "v") -> list[dict[str, str]]:
    return [{"name": name, "value": value}] * count


BUTTON = {"type": 2, "style": 1, "custom_id": "i" * 100, "label": "l" * 80}
AT_THE_LIMITS = {
    "content": {"content": "x" * 2000},
    "content of emoji": {"content": "👩" * 2000},  # code points, not bytes or UTF-16 units
    "embed parts": embed(
        title="t" * 256,
        description="d" * 2000,
        fields=fields(2, "n" * 256, "v" * 1024),
        footer={"text": "f" * 500},
    ),
    "25 fields": embed(fields=fields(25)),
    "custom id": {"content": "c", "components": [{"type": 1, "components": [BUTTON]}]},
}

OVER = [
    ({"content": "x" * 2001}, {"content": too_long(2000)}),
    (embed(title="t" * 257), {"embeds": {"0": {"title": too_long(256)}}}),
    (embed(description="d" * 4097), {"embeds": {"0": {"description": too_long(4096)}}}),
    (embed(fields=fields(26)), {"embeds": {"0": {"fields": too_long(25)}}}),
    (embed(fields=fields(1, name="n" * 257)), {"embeds": {"0": {"fields": {"0": {"name": too_long(256)}}}}}),
    (
        embed(fields=fields(1, value="v" * 1025)),
        {"embeds": {"0": {"fields": {"0": {"value": too_long(1024)}}}}},
    ),
    (embed(footer={"text": "f" * 2049}), {"embeds": {"0": {"footer": {"text": too_long(2048)}}}}),
    (
        embed(fields=fields(1, value="")),
        {
            "embeds": {
                "0": {
                    "fields": {
                        "0": {
                            "value": {
                                "_errors": [
                                    {"code": "BASE_TYPE_REQUIRED", "message": "This field is required"}
                                ]
                            }
                        }
                    }
                }
            }
        },
    ),
    (
        embed(description="d" * 4096, fields=fields(2, value="v" * 1000)),
        {
            "embeds": {
                "_errors": [
                    {"code": "MAX_EMBED_SIZE_EXCEEDED", "message": "Embed size exceeds maximum size of 6000"}
                ]
            }
        },
    ),
    (
        {
            "content": "c",
            "components": [{"type": 1, "components": [{"type": 2, "style": 1, "custom_id": "i" * 101}]}],
        },
        {"components": {"0": {"components": {"0": {"custom_id": too_long(100)}}}}},
    ),
]


@pytest.mark.parametrize("payload", AT_THE_LIMITS.values(), ids=AT_THE_LIMITS.keys())
async def test_a_message_at_the_limits_is_posted(fake_discord: FakeDiscord, payload: dict[str, Any]) -> None:
    status, body = await post(fake_discord, payload)
    assert status == 200, body


@pytest.mark.parametrize(("payload", "errors"), OVER)
async def test_a_message_over_a_limit_is_refused_like_discord_does(
    fake_discord: FakeDiscord, payload: dict[str, Any], errors: dict[str, Any]
) -> None:
    status, body = await post(fake_discord, payload)
    assert status == 400
    assert body == {"message": "Invalid Form Body", "code": 50035, "errors": errors}
    assert fake_discord.messages_in(fake_discord.world.general_id) == []


def test_autocomplete_choices_are_checked() -> None:
    check_choices([{"name": "n" * 100, "value": "v" * 100}] * 25)
    for choices in (
        [{"name": "n", "value": "v"}] * 26,
        [{"name": "n" * 101, "value": "v"}],
        [{"name": "", "value": "v"}],
        [{"name": "n", "value": "v" * 101}],
    ):
        with pytest.raises(ApiError) as refused:
            check_choices(choices)
        assert refused.value.code == 50035 and "choices" in str(refused.value.errors)


def test_modals_are_checked() -> None:
    field = {"type": 4, "custom_id": "f", "label": "l" * 45, "style": 2}
    form = {"title": "t" * 45, "custom_id": "c" * 100, "components": [{"type": 1, "components": [field]}]}
    check_modal(form)
    for change in ({"title": "t" * 46}, {"custom_id": "c" * 101}, {"title": ""}):
        with pytest.raises(ApiError):
            check_modal({**form, **change})
