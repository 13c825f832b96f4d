"""The fake gateway shards as Discord does: a recommended shard count, IDENTIFY's [shard_id, shard_count]
checked (4010, 4011), each guild's events on shard (guild_id >> 22) % shard_count and DMs on shard 0."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.gateway import GatewaySession, shard_for

IDENTIFY = 2


@asynccontextmanager
async def gateway_session(
    fake: FakeDiscord, shard: Any = None
) -> AsyncIterator[tuple[aiohttp.ClientWebSocketResponse, dict[str, Any] | int]]:
    """A raw gateway connection that IDENTIFYs (with `shard` when given): the socket and the READY data,
    or the close code when the gateway refused."""
    async with aiohttp.ClientSession() as http, http.ws_connect(fake.gateway_url + "?v=10") as ws:
        hello = await ws.receive_json()
        assert hello["op"] == 10
        data: dict[str, Any] = {"token": f"Bot {fake.bot_token}", "properties": {}, "intents": 0}
        if shard is not None:
            data["shard"] = shard
        await ws.send_json({"op": IDENTIFY, "d": data})
        message = await ws.receive()
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
            yield ws, int(message.data or ws.close_code or 0)
            return
        frame = json.loads(message.data)
        assert frame["t"] == "READY"
        yield ws, frame["d"]


def session_of(fake: FakeDiscord, shard_id: int) -> GatewaySession:
    return next(s for s in fake.gateway.sessions.values() if s.shard and s.shard[0] == shard_id)


def events_in(session: GatewaySession, event: str) -> list[dict[str, Any]]:
    return [frame["d"] for frame in session.backlog if frame["t"] == event]


def test_discords_formula_puts_a_guild_on_one_shard() -> None:
    guild_id = (12345 << 22) | 0b1011  # the creation time in the high bits decides, not the low ones
    assert [shard_for(guild_id, count) for count in (1, 2, 4, 16)] == [0, 1, 1, 9]
    assert shard_for(None, 16) == 0


async def test_gateway_bot_recommends_the_configured_shard_count() -> None:
    async with FakeDiscord() as fake:
        fake.recommended_shards = 4
        headers = {"Authorization": f"Bot {fake.bot_token}"}
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{fake.api_base}/gateway/bot", headers=headers) as r,
        ):
            body = await r.json()
        assert body["shards"] == 4 and body["url"] == fake.gateway_url


@pytest.mark.parametrize("shard", [[2, 2], [0, 0], [-1, 2], [0], ["0", "2"], [True, 2], "0,2"])
async def test_an_impossible_shard_is_closed_with_4010(shard: Any) -> None:
    async with FakeDiscord() as fake, gateway_session(fake, shard) as (_, ready):
        assert ready == 4010
        assert not fake.gateway.sessions


async def test_too_many_guilds_for_one_session_is_closed_with_4011() -> None:
    async with FakeDiscord() as fake:
        fake.max_guilds_per_shard = 1
        zero = fake.add_guild("zero", guild_id=fake.guild_id_on_shard(0, 2))
        one = fake.add_guild("one", guild_id=fake.guild_id_on_shard(1, 2))
        async with gateway_session(fake) as (_, refused):
            assert refused == 4011
        async with gateway_session(fake, [0, 2]) as (_, ready0), gateway_session(fake, [1, 2]) as (_, ready1):
            assert isinstance(ready0, dict) and isinstance(ready1, dict)
            assert [g["id"] for g in ready0["guilds"]] == [str(zero.id)] and ready0["shard"] == [0, 2]
            assert [g["id"] for g in ready1["guilds"]] == [str(one.id)] and ready1["shard"] == [1, 2]


async def test_each_guilds_events_go_to_its_shard_and_dms_to_shard_zero() -> None:
    async with FakeDiscord() as fake:
        guilds = [fake.add_guild(f"g{n}", guild_id=fake.guild_id_on_shard(n % 2, 2)) for n in range(4)]
        async with gateway_session(fake, [0, 2]), gateway_session(fake, [1, 2]):
            zero, one = session_of(fake, 0), session_of(fake, 1)
            assert {g["id"] for g in events_in(zero, "GUILD_CREATE")} == {
                str(guilds[0].id),
                str(guilds[2].id),
            }
            assert {g["id"] for g in events_in(one, "GUILD_CREATE")} == {str(guilds[1].id), str(guilds[3].id)}
            for guild in guilds:
                assert await fake.dispatch("TYPING_START", {"guild_id": str(guild.id), "user_id": "1"}) == 1
            assert await fake.dispatch("GUILD_UPDATE", fake.guild_payload(guilds[1], full=False)) == 1
            assert await fake.dispatch("TYPING_START", {"channel_id": "5", "user_id": "1"}) == 1  # a DM
            assert [e.get("guild_id") for e in events_in(zero, "TYPING_START")] == [
                str(guilds[0].id),
                str(guilds[2].id),
                None,
            ]
            assert [e["guild_id"] for e in events_in(one, "TYPING_START")] == [
                str(guilds[1].id),
                str(guilds[3].id),
            ]
            assert [g["id"] for g in events_in(one, "GUILD_UPDATE")] == [str(guilds[1].id)]
            assert events_in(zero, "GUILD_UPDATE") == []


async def test_an_unsharded_session_hears_every_guild_and_every_dm() -> None:
    async with FakeDiscord() as fake:
        guilds = [fake.add_guild(f"g{n}", guild_id=fake.guild_id_on_shard(n, 2)) for n in range(2)]
        async with gateway_session(fake) as (_, ready):
            assert isinstance(ready, dict) and "shard" not in ready
            assert len(ready["guilds"]) == 2
            for guild in guilds:
                assert await fake.dispatch("TYPING_START", {"guild_id": str(guild.id), "user_id": "1"}) == 1
            assert await fake.dispatch("TYPING_START", {"channel_id": "5", "user_id": "1"}) == 1
