"""BOT_ROLES, shards and INSTANCE_ID in the running bot: which parts a process starts, which bot class it
is, and how it names itself in metrics and log lines."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import aiohttp
import pytest

from bot.client import KlingBot, ShardedKlingBot, build_bot, instance_labels
from bot.logs import JsonFormatter, LogFieldsFilter, ProcessFieldsFilter, log_fields
from bot.settings import Settings
from tests.conftest import HarnessFactory
from tests.harness import Harness


def settings(**values: Any) -> Settings:
    base: dict[str, Any] = {"discord_token": "t", "kling_api_key": "k", "instance_id": "box-7"}
    return Settings(_env_file=None, **{**base, **values})


def test_a_gateway_with_shard_count_is_sharded_and_others_are_not() -> None:
    sharded = build_bot(settings(bot_roles="gateway", shard_count=4, shard_ids="1-2"))
    assert isinstance(sharded, ShardedKlingBot)
    assert (sharded.shard_count, sharded.shard_ids) == (4, [1, 2])
    every_shard = build_bot(settings(shard_count=2))
    assert isinstance(every_shard, ShardedKlingBot) and every_shard.shard_ids is None
    assert type(build_bot(settings())) is KlingBot
    assert type(build_bot(settings(bot_roles="worker", shard_count=2, shard_ids="1"))) is KlingBot


@pytest.mark.parametrize(
    ("values", "labels"),
    [
        ({}, {"instance": "box-7", "roles": "gateway,worker,listener", "shards": ""}),
        ({"bot_roles": "listener,worker"}, {"instance": "box-7", "roles": "worker,listener", "shards": ""}),
        (
            {"bot_roles": "gateway", "shard_count": 4, "shard_ids": "0,3"},
            {"roles": "gateway", "shards": "0,3/4"},
        ),
        ({"bot_roles": "gateway", "shard_count": 2}, {"roles": "gateway", "shards": "0,1/2"}),
    ],
)
def test_instance_labels(values: dict[str, Any], labels: dict[str, str]) -> None:
    assert instance_labels(settings(**values)).items() >= labels.items()


def test_json_lines_name_the_process_and_text_lines_stay_short() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(LogFieldsFilter())
    handler.addFilter(ProcessFieldsFilter({"instance": "box-7"}))
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.roles.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with log_fields(job_id="k7f3a9c2"):
            logger.warning("hello")
    finally:
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert (line["job_id"], line["instance"], line["message"]) == ("k7f3a9c2", "box-7", "hello")


async def metrics_of(bot: KlingBot) -> str:
    assert bot.ops is not None
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{bot.ops.port}/metrics") as r:
        return await r.text()


async def test_the_instance_is_an_info_metric(harness: Harness) -> None:
    text = await metrics_of(harness.running)
    instance = harness.running.settings.instance_id
    assert (
        f'klingbot_instance_info{{instance="{instance}",roles="gateway,worker,listener",shards=""}} 1.0'
        in text
    )


async def test_a_listener_process_serves_callbacks_without_a_gateway_or_loops(
    make_harness: HarnessFactory,
) -> None:
    h = await make_harness(start=False, bot_roles="listener")
    bot = build_bot(h.settings(), clock=h.clock)
    try:
        await bot.login(h.fake.bot_token)  # REST only: what `python -m bot` does without the gateway role
        assert bot.listener is not None and bot.ops is not None
        assert bot.engine._workers == [] and not bot.engine.config.background_work
        assert not h.fake.gateway.sessions and h.fake.calls_matching("PUT", r"/commands$") == []
        healthy, details = await bot.health()
        assert healthy and details["discord"] == "rest only"
        assert 'roles="listener"' in await metrics_of(bot)
    finally:
        await bot.close()
