"""The private ops port: /healthz and /metrics answer there, and only there (never on the public port)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from bot.settings import Settings
from db.records import JobState
from db.sqlite import SqliteStore
from tests.bot.jobs.helpers import (
    callback_url,
    finish_silently,
    no_more_work,
    post_raw,
    progress_posted,
    start_job,
    task_of,
)
from tests.conftest import HarnessFactory
from tests.harness import Harness


def ops_url(h: Harness, path: str) -> str:
    ops = h.running.ops
    assert ops is not None
    return f"http://127.0.0.1:{ops.port}{path}"


async def scrape(h: Harness) -> str:
    """The bot's /metrics text, from its ops port."""
    async with aiohttp.ClientSession() as session, session.get(ops_url(h, "/metrics")) as resp:
        assert resp.status == 200
        return await resp.text()


def samples(text: str) -> dict[str, float]:
    return {
        name: float(value)
        for name, value in (line.rsplit(" ", 1) for line in text.splitlines() if line and line[0] != "#")
    }


# ---- where they answer ------------------------------------------------------------------------------------


async def test_port_zero_binds_a_free_port_and_reports_it(harness: Harness) -> None:
    ops = harness.running.ops
    assert ops is not None and ops.port != 0 and ops.host == "127.0.0.1"
    assert ops.port != harness.webhook_port


@pytest.mark.parametrize("path", ["/healthz", "/metrics"])
async def test_ops_routes_are_404_on_the_public_port(harness: Harness, path: str) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{harness.webhook_port}{path}") as resp,
    ):
        assert resp.status == 404


async def test_the_ops_server_stops_with_the_bot(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    url = ops_url(h, "/healthz")
    await h.stop()
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(url)


async def test_metrics_say_whether_the_gateway_is_connected(harness: Harness) -> None:
    assert samples(await scrape(harness))["klingbot_gateway_connected"] == 1


def test_ops_server_defaults_to_loopback_9100() -> None:
    settings = Settings(_env_file=None)
    assert (settings.ops_host, settings.ops_port) == ("127.0.0.1", 9100)


# ---- health and metrics -----------------------------------------------------------------------------------
async def healthz(h: Harness) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(ops_url(h, "/healthz")) as resp,
    ):
        return resp.status, await resp.json()


async def test_healthz_reports_discord_store_and_jobs_in_flight(make_harness: HarnessFactory) -> None:
    h = await make_harness("gateway", provider_options={"auto": False})
    assert await healthz(h) == (
        200,
        {
            "healthy": True,
            "discord": "connected",
            "store": "ok",
            "jobs_in_flight": 0,
            "provider": "gateway",
            "reasons": [],
            "disk": "ok",
        },
    )
    await start_job(h)
    status, body = await healthz(h)
    assert status == 200 and body["jobs_in_flight"] == 1


async def test_healthz_is_503_when_the_store_is_closed(make_harness: HarnessFactory) -> None:
    h = await make_harness("acedata")
    await h.running.store.close()
    status, body = await healthz(h)
    assert status == 503
    assert body["healthy"] is False and body["store"] == "unavailable" and body["jobs_in_flight"] is None


async def test_healthz_is_503_when_the_database_takes_no_writes(make_harness: HarnessFactory) -> None:
    h = await make_harness("acedata")
    store = h.running.store
    assert isinstance(store, SqliteStore)
    connection = store.database.connection  # type: ignore[attr-defined]
    await connection.execute("PRAGMA query_only = ON")  # reads work, every write is refused
    status, body = await healthz(h)
    assert status == 503
    assert (body["healthy"], body["store"], body["jobs_in_flight"]) == (False, "read-only", 0)
    assert body["reasons"] == ["the database does not accept writes"]
    await connection.execute("PRAGMA query_only = OFF")
    assert (await healthz(h))[0] == 200


async def test_healthz_is_503_when_the_media_disk_is_nearly_full(make_harness: HarnessFactory) -> None:
    # More free space asked for than any disk here has: the disk reads as nearly full.
    h = await make_harness("acedata", min_free_disk_bytes=2**62)
    status, body = await healthz(h)
    assert status == 503
    assert (body["healthy"], body["disk"], body["store"], body["discord"]) == (
        False,
        "low",
        "ok",
        "connected",
    )
    [reason] = body["reasons"]
    assert reason.startswith("the media disk has ") and "below MIN_FREE_DISK_BYTES" in reason
    values = samples(await scrape(h))
    assert 0 < values["klingbot_disk_free_bytes"] < 2**62


async def test_healthz_is_503_when_the_gateway_is_disconnected(make_harness: HarnessFactory) -> None:
    h = await make_harness("acedata")
    disconnected = asyncio.ensure_future(h.running.wait_for("disconnect", timeout=10))
    await h.fake.stop()  # Discord unreachable: the connection drops and cannot come back
    await disconnected
    status, body = await healthz(h)
    assert body["discord"] == "disconnected"
    assert status == 503
    assert samples(await scrape(h))["klingbot_gateway_connected"] == 0


async def test_metrics_have_job_callback_poll_and_delivery_series(make_harness: HarnessFactory) -> None:
    h = await make_harness("acedata", provider_options={"auto": False})
    first = await start_job(h, prompt="a glass of water on a table")
    await progress_posted(h, first)
    h.fake.inject("PATCH", r"^/channels/\d+/messages/\d+$", 403, {"message": "Missing Access", "code": 50001})
    await h.provider.succeed(task_of(h, first).task_id)  # by callback
    await h.wait_delivered(first.id)
    second = await start_job(h, prompt="a sailboat at dawn")
    await finish_silently(h, second)  # by polling, once the callback is overdue
    h.clock.advance(200)
    h.running.engine.wake()
    await h.wait_delivered(second.id)
    await post_raw(callback_url(h, second, "forged-token"), b"{}")
    h.provider.fail_next(
        "/kling/videos", 400, {"success": False, "error": {"code": "bad_request", "message": "no"}}
    )
    handle = await h.slash("video", {"prompt": "a third one"}, subcommand="text")
    third = (await h.reply(handle)).content.split("`")[1]
    await h.wait_job(lambda j: j.status is JobState.FAILED, third)
    await no_more_work(h)
    async with (
        aiohttp.ClientSession() as session,
        session.get(ops_url(h, "/metrics")) as resp,
    ):
        assert resp.status == 200
        assert resp.content_type == "text/plain"
        values = samples(await resp.text())
    assert values['klingbot_jobs_total{kind="text2video",outcome="accepted"}'] == 3
    assert values['klingbot_jobs_total{kind="text2video",outcome="succeeded"}'] == 2
    assert values['klingbot_jobs_total{kind="text2video",outcome="delivered_channel"}'] == 2
    assert values['klingbot_jobs_total{kind="text2video",outcome="failed"}'] == 1
    assert values['klingbot_callbacks_total{result="accepted"}'] == 1
    assert values['klingbot_callbacks_total{result="unknown_token"}'] == 1
    assert values['klingbot_polls_total{result="ok"}'] >= 1
    assert values["klingbot_delivery_latency_seconds_count"] == 2
    assert values['klingbot_generation_seconds_count{kind="text2video"}'] == 2
    assert values['klingbot_discord_errors_total{status="403"}'] == 1
    assert values['klingbot_provider_errors_total{category="invalid_request"}'] == 1
    # Every job has ended: no state holds one (see tests/bot/jobs/test_gauges.py for each transition).
    in_flight = {k: v for k, v in values.items() if k.startswith("klingbot_jobs_in_flight{")}
    assert {
        f'klingbot_jobs_in_flight{{state="{state}"}}' for state in ("pending", "submitted", "succeeded")
    } <= (in_flight.keys())
    assert set(in_flight.values()) == {0}
    assert values["klingbot_inbox_backlog"] == 0
