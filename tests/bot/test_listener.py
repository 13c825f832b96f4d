"""The webhook listener of the running bot: callback authentication and limits, and logs that never
carry secrets. /healthz and /metrics are on the ops port: tests/bot/test_ops.py."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from bot.__main__ import secret_values
from bot.jobs.callbacks import CallbackOutcome
from bot.listener import CALLBACK_STATUS
from bot.logs import configure_logging
from db.records import JobRecord, JobState
from tests.bot.jobs.helpers import (
    as_json,
    callback_url,
    final_callback,
    finish_silently,
    no_more_work,
    post_raw,
    start_job,
    task_of,
    video_posts,
)
from tests.conftest import HarnessFactory
from tests.fakes.providers.kie import sign
from tests.harness import Harness

HMAC_KEY = "kie-signing-key-for-tests"


def mutated(token: str) -> str:
    """The same token with one character changed."""
    swap = "A" if token[5] != "A" else "B"
    return token[:5] + swap + token[6:]


async def nothing_happened(h: Harness, job: JobRecord) -> None:
    """No inbox row, no state change, no post."""
    assert await h.running.store.pending_callbacks() == []
    current = await h.running.store.get_job(job.id)
    assert current is not None
    assert current.status is JobState.SUBMITTED
    assert current.callback_count == 0
    assert video_posts(h) == []


@pytest.fixture
async def finished_job(make_harness: HarnessFactory) -> tuple[Harness, JobRecord, dict[str, Any]]:
    """A job whose task has finished at the provider, its callback not sent yet: (harness, job, body)."""
    h = await make_harness("acedata", provider_options={"auto": False})
    job = await start_job(h)
    body, _ = final_callback(h, await finish_silently(h, job))
    return h, job, body


# ---- authentication -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(mutated, id="one-character-changed"),
        pytest.param(lambda t: t[:-1], id="truncated"),
        pytest.param(lambda t: t + "x", id="extended"),
        pytest.param(lambda t: t.upper(), id="case-changed"),
        pytest.param(lambda t: "0" * len(t), id="made-up"),
    ],
)
async def test_forged_token_is_404_and_changes_nothing(
    finished_job: tuple[Harness, JobRecord, dict[str, Any]], forge: Any
) -> None:
    h, job, body = finished_job
    status, answer = await post_raw(callback_url(h, job, forge(job.callback_token)), as_json(body))
    assert status == 404
    assert answer == {"ok": False, "result": "unknown_token"}
    await nothing_happened(h, job)
    # The real token still works afterwards.
    assert (await post_raw(callback_url(h, job), as_json(body)))[0] == 200
    await h.wait_delivered(job.id)


async def test_kie_signatures_are_checked(make_harness: HarnessFactory) -> None:
    h = await make_harness(
        "kie", provider_options={"auto": False, "hmac_key": HMAC_KEY}, kie_webhook_hmac_key=HMAC_KEY
    )
    job = await start_job(h, "motion")
    task = await finish_silently(h, job)
    body, headers = final_callback(h, task)
    assert set(headers) == {"X-Webhook-Timestamp", "X-Webhook-Signature"}
    url = callback_url(h, job)
    stale = str(int(time.time()) - 3600)
    other_task = sign(HMAC_KEY, "another-task", headers["X-Webhook-Timestamp"])
    refusals = {
        "unsigned": {},
        "wrong key": {**headers, "X-Webhook-Signature": sign("not-the-key", task.task_id, stale[:-1])},
        "another task": {**headers, "X-Webhook-Signature": other_task},
        "stale": {"X-Webhook-Timestamp": stale, "X-Webhook-Signature": sign(HMAC_KEY, task.task_id, stale)},
        "garbled time": {**headers, "X-Webhook-Timestamp": "soon"},
    }
    for name, bad in refusals.items():
        status, answer = await post_raw(url, as_json(body), bad)
        assert (status, answer) == (401, {"ok": False, "result": "bad_signature"}), name
    await nothing_happened(h, job)
    assert (await post_raw(url, as_json(body), headers))[0] == 200
    done = await h.wait_delivered(job.id)
    assert done.callback_count == 1


# ---- limits and malformed bodies ------------------------------------------------------------------------


async def test_body_over_one_mib_is_413(finished_job: tuple[Harness, JobRecord, dict[str, Any]]) -> None:
    h, job, body = finished_job
    url = callback_url(h, job)
    padding = 1024 * 1024 - len(as_json({**body, "padding": ""}))
    too_big = as_json({**body, "padding": "x" * (padding + 1)})
    assert len(too_big) == 1024 * 1024 + 1
    assert (await post_raw(url, too_big))[0] == 413  # announced by Content-Length

    async def chunks(data: bytes) -> AsyncIterator[bytes]:
        for start in range(0, len(data), 64 * 1024):
            yield data[start : start + 64 * 1024]

    assert (await post_raw(url, chunks(too_big)))[0] == 413  # chunked: no length announced
    await nothing_happened(h, job)
    just_fits = as_json({**body, "padding": "x" * padding})
    assert len(just_fits) == 1024 * 1024
    assert (await post_raw(url, chunks(just_fits)))[0] == 200  # read whole, not just its first chunk
    await h.wait_delivered(job.id)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param(b"{not json", "malformed", id="syntax"),
        pytest.param(b"", "malformed", id="empty"),
        pytest.param(b'{"task_id": "\xff\xfe"}', "malformed", id="not-utf8"),
        pytest.param(b"[1, 2, 3]", "unreadable", id="not-an-object"),
    ],
)
async def test_malformed_callback_is_400(
    finished_job: tuple[Harness, JobRecord, dict[str, Any]], raw: bytes, reason: str
) -> None:
    h, job, _ = finished_job
    status, answer = await post_raw(callback_url(h, job), raw)
    assert (status, answer) == (400, {"ok": False, "result": reason})
    await nothing_happened(h, job)


DEEP = 100_000


def no_error_with_a_traceback(caplog: pytest.LogCaptureFixture) -> None:
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert loud == [], [r.getMessage() for r in loud]


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"[" * DEEP + b"]" * DEEP, id="100k-nested-arrays"),
        pytest.param(b'{"a":' * DEEP + b"1" + b"}" * DEEP, id="100k-nested-objects"),
        pytest.param(b'{"task_id": "x", "data": ' + b"[" * 500 + b"]" * 500 + b"}", id="500-nested"),
        pytest.param(b'{"task_id": "\xc3\x28"}', id="invalid-utf8"),
        pytest.param('{"task_id": "x"}'.encode("utf-16"), id="utf16"),
        pytest.param(b'{"task_id": NaN}', id="nan"),
        pytest.param(b'{"duration": Infinity}', id="infinity"),
        pytest.param(b'{"duration": 1e999}', id="float-overflow"),
        pytest.param(b'{"duration": ' + b"9" * 10_000 + b"}", id="int-past-digit-limit"),
        pytest.param(b'{"message": "\\ud800"}', id="lone-surrogate"),
    ],
)
async def test_hostile_bodies_are_400_and_never_a_traceback(
    finished_job: tuple[Harness, JobRecord, dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
    raw: bytes,
) -> None:
    h, job, body = finished_job
    with caplog.at_level(logging.DEBUG):
        status, answer = await post_raw(callback_url(h, job), raw)
    assert (status, answer) == (400, {"ok": False, "result": "malformed"})
    await nothing_happened(h, job)
    no_error_with_a_traceback(caplog)
    assert (await post_raw(callback_url(h, job), as_json(body)))[0] == 200  # the listener is fine
    await h.wait_delivered(job.id)


async def test_hostile_chunked_body_over_one_mib_is_413_without_a_traceback(
    finished_job: tuple[Harness, JobRecord, dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    h, job, _ = finished_job

    async def nesting() -> AsyncIterator[bytes]:  # 2 MiB of "[" in chunks, no length announced
        for _ in range(32):
            yield b"[" * (64 * 1024)

    with caplog.at_level(logging.DEBUG):
        assert (await post_raw(callback_url(h, job), nesting()))[0] == 413
    await nothing_happened(h, job)
    no_error_with_a_traceback(caplog)


async def test_a_body_with_a_byte_order_mark_is_read(
    finished_job: tuple[Harness, JobRecord, dict[str, Any]],
) -> None:
    h, job, body = finished_job
    assert (await post_raw(callback_url(h, job), b"\xef\xbb\xbf" + as_json(body)))[0] == 200
    await h.wait_delivered(job.id)


async def test_an_unreadable_stored_callback_is_set_aside_quietly(
    finished_job: tuple[Harness, JobRecord, dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    """Inbox rows are re-read when processed: one too deep to read (written by an older version, or
    damaged) is marked processed without a traceback, and the good one after it still applies."""
    h, job, body = finished_job
    store, engine = h.running.store, h.running.engine
    deep = "[" * DEEP + "]" * DEEP
    with caplog.at_level(logging.DEBUG):
        await store.add_callbacks([(job.id, deep), (job.id, '{"x": NaN}'), (job.id, json.dumps(body))], 0.0)
        await engine.process_inbox()
        await h.wait_delivered(job.id)
    assert await store.pending_callbacks() == []
    no_error_with_a_traceback(caplog)


async def test_callback_for_a_finished_job_is_harmless(
    finished_job: tuple[Harness, JobRecord, dict[str, Any]],
) -> None:
    h, job, body = finished_job
    assert (await post_raw(callback_url(h, job), as_json(body)))[0] == 200
    await h.wait_delivered(job.id)
    for _ in range(3):
        assert (await post_raw(callback_url(h, job), as_json(body)))[0] == 200
    await h.running.engine.process_inbox()
    await no_more_work(h)
    assert len(video_posts(h)) == 1


# ---- logs ---------------------------------------------------------------------------------------------


def secrets_of(h: Harness, job: JobRecord) -> dict[str, str]:
    """Every secret a full motion job touches."""
    done = job
    assert done.result_url is not None and "?" in done.result_url
    values = {
        "provider key": str(h.provider.api_key),  # type: ignore[attr-defined]
        "bot token": h.fake.bot_token,
        "callback token": job.callback_token,
        "signed result URL": done.result_url,
        "result URL signature": done.result_url.split("?", 1)[1],
    }
    if job.input_token:
        values["input token"] = job.input_token
    for name, url in job.params.get("_source_urls", {}).items():
        values[f"Discord CDN URL of the {name}"] = url
        values[f"Discord CDN signature of the {name}"] = url.split("hm=", 1)[1].split("&")[0]
    return values


async def run_full_motion_job(h: Harness) -> JobRecord:
    job = await start_job(h, "motion")
    await h.provider.succeed(task_of(h, job).task_id)
    done = await h.wait_delivered(job.id)
    await post_raw(callback_url(h, job, mutated(job.callback_token)), b"{}")  # a refused one, too
    await no_more_work(h)
    return done


async def test_logs_never_carry_secrets(
    make_harness: HarnessFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Raw records, before any scrubbing: the bot's own loggers at DEBUG and everyone else's from INFO
    (configure_logging caps discord.py there; its DEBUG traces echo whole gateway payloads) never carry
    a secret. aiosqlite's DEBUG tracing is covered through configure_logging by the JSON test below."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="discord")
    h = await make_harness("acedata", callbacks=False, provider_options={"auto": False})
    job = await start_job(h, "motion")  # polling: the provider fetches Discord's signed CDN URLs
    await h.provider.succeed(task_of(h, job).task_id)
    done = await h.wait_delivered(job.id)
    await no_more_work(h)
    ours = ("bot", "cogs", "db")
    records = [r for r in caplog.records if r.name.split(".")[0] in ours or r.levelno >= logging.INFO]
    assert any(r.name.startswith("bot.") for r in records)
    assert any(r.name.startswith("discord.") for r in records)
    text = "\n".join(r.getMessage() for r in records)
    text += "\n".join(logging.Formatter().formatException(r.exc_info) for r in records if r.exc_info)
    for name, secret in secrets_of(h, done).items():
        assert secret not in text, f"the {name} is in the logs"
    assert "hm=" not in text and "pkey=" not in text


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in ("discord", "aiosqlite")}
    yield
    for handler in root.handlers[:]:
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for name, value in levels.items():
        logging.getLogger(name).setLevel(value)


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize(
    "level",
    [
        pytest.param("INFO", id="info"),
        pytest.param("DEBUG", id="debug"),
    ],
)
async def test_json_logs_are_one_object_a_line_and_scrubbed(
    make_harness: HarnessFactory, capsys: pytest.CaptureFixture[str], level: str
) -> None:
    h = await make_harness("acedata", start=False)
    configure_logging(level, "json", secret_values(h.settings()))
    await h.start()
    done = await run_full_motion_job(h)
    interaction_tokens = [record.token for record in h.fake.interactions.values()]
    await h.stop()
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) > 5
    entries = [json.loads(line) for line in lines]
    assert all({"time", "level", "logger", "message"} <= set(entry) for entry in entries)
    assert any(entry["logger"].startswith("bot.") for entry in entries)
    output = "\n".join(lines)
    for name, secret in secrets_of(h, done).items():
        assert secret not in output, f"the {name} is in the logs"
    for token in interaction_tokens:
        assert token not in output, "an interaction token is in the logs"


def test_every_callback_outcome_has_an_http_status() -> None:
    assert set(CALLBACK_STATUS) == set(CallbackOutcome)
    assert CALLBACK_STATUS[CallbackOutcome.ACCEPTED] == 200
    assert {CALLBACK_STATUS[o] for o in CallbackOutcome if o is not CallbackOutcome.ACCEPTED} == {
        400,
        401,
        404,
        409,
    }
