"""Secrets never reach a log line, whoever logged them; every line written for a job carries its ids."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.__main__ import secret_values
from bot.logs import TEXT_FORMAT, JsonFormatter, LogFieldsFilter, SecretFilter, configure_logging, log_fields
from tests.bot.jobs.helpers import no_more_work, start_job, task_of
from tests.conftest import HarnessFactory

BOT_TOKEN = "MTA" + "x" * 21 + "." + "Gabcde" + "." + "y" * 30  # the shape of a Discord bot token


@pytest.mark.parametrize(
    ("text", "leak"),
    [
        (f"Authorization: Bot {BOT_TOKEN}", BOT_TOKEN),
        (
            "headers={'Authorization': 'Bearer sk-abcdefghijklmnopqrstuvwxyz'}",
            "sk-abcdefghijklmnopqrstuvwxyz",
        ),
        ("GET https://cdn.discordapp.com/attachments/1/2/a.png?ex=65&is=64&hm=deadbeef", "hm=deadbeef"),
        ("POST /webhooks/123/aW50ZXJhY3Rpb246MTIzNDU2Nzg5OmFiY2RlZmdo/messages/@original", "aW50ZXJhY3Rpb24"),
        ("callback for /callbacks/Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA failed", "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJBSyJ9.c2lnbmF0dXJl", "eyJpc3MiOiJBSyJ9"),
    ],
)
def test_secret_shapes_are_scrubbed(text: str, leak: str) -> None:
    assert leak not in SecretFilter().scrub(text)


def test_known_secret_values_are_scrubbed_in_messages_args_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(SecretFilter(["plain-provider-key"]))
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.secrets")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("key is %s", "plain-provider-key")
        try:
            raise RuntimeError("failed with plain-provider-key")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "plain-provider-key" not in output
    lines = [json.loads(line) for line in output.splitlines()]
    assert lines[0]["message"] == "key is <redacted>" and lines[0]["level"] == "WARNING"
    assert "RuntimeError" in lines[1]["exception"]


def test_configure_logging_installs_one_scrubbing_handler() -> None:
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    try:
        configure_logging("DEBUG", "json", ["abcdef-secret"])
        assert len(root.handlers) == 1 and root.level == logging.DEBUG
        assert isinstance(root.handlers[0].formatter, JsonFormatter)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


# ---- one job's lines, found by its id alone ------------------------------------------------------------


def capture(fmt: str) -> tuple[logging.Logger, io.StringIO, logging.Handler]:
    """A logger whose handler is set up like configure_logging's, writing to a string."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(SecretFilter(["plain-provider-key"]))
    handler.addFilter(LogFieldsFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    logger = logging.getLogger(f"test.fields.{fmt}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream, handler


async def test_text_lines_carry_the_job_fields_as_a_prefix_across_tasks() -> None:
    logger, stream, _ = capture("text")
    logger.info("before any job")
    with log_fields(job_id="k7f3a9c2", guild_id=11, user_id=22):
        logger.info("submitting with %s", "plain-provider-key")

        async def in_a_task() -> None:
            logger.info("from a task started in the block")

        await asyncio.create_task(in_a_task())
        with log_fields(user_id=None, ref="abc"):
            logger.warning("nested")
    logger.info("after the job")
    lines = stream.getvalue().splitlines()
    assert lines[0].endswith("test.fields.text: before any job")
    assert lines[1].endswith(
        "test.fields.text: job_id=k7f3a9c2 guild_id=11 user_id=22 submitting with <redacted>"
    )
    assert "job_id=k7f3a9c2 guild_id=11 user_id=22 from a task" in lines[2]
    assert "job_id=k7f3a9c2 guild_id=11 user_id=22 ref=abc nested" in lines[3]
    assert lines[4].endswith("test.fields.text: after the job")
    assert [line for line in lines if "job_id=k7f3a9c2" in line] == lines[1:4]


def test_json_lines_carry_the_job_fields_as_fields() -> None:
    logger, stream, _ = capture("json")
    with log_fields(job_id="k7f3a9c2", guild_id=11):
        logger.info("polled")
        logger.info("explicit extra wins", extra={"guild_id": 99})
    logger.info("no job")
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert entries[0]["job_id"] == "k7f3a9c2" and entries[0]["guild_id"] == 11 and "user_id" not in entries[0]
    assert entries[0]["message"] == "polled"  # no prefix inside the JSON message
    assert entries[1]["guild_id"] == 99
    assert "job_id" not in entries[2]


def test_configure_logging_adds_the_fields_in_both_formats() -> None:
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    try:
        for fmt in ("text", "json"):
            configure_logging("INFO", fmt)
            assert any(isinstance(f, LogFieldsFilter) for f in root.handlers[0].filters)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in ("discord", "aiosqlite")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, value in levels.items():
        logging.getLogger(name).setLevel(value)


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("fmt", ["text", "json"])
async def test_a_motion_jobs_story_is_found_by_its_id_alone(
    make_harness: HarnessFactory, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    h = await make_harness("acedata", start=False, provider_options={"auto": False})
    configure_logging("INFO", fmt, secret_values(h.settings()))
    await h.start()
    job = await start_job(h, "motion")
    await h.provider.succeed(task_of(h, job).task_id)  # the provider calls back
    await h.wait_delivered(job.id)
    await no_more_work(h)
    await h.stop()
    lines = capsys.readouterr().err.splitlines()
    if fmt == "text":
        story = [line for line in lines if f"job_id={job.id} " in line]
    else:
        story = [
            e["logger"] + ": " + e["message"] for e in map(json.loads, lines) if e.get("job_id") == job.id
        ]
    told = "\n".join(story)
    assert "cogs.submit: " in told and "/motion: job" in told, told  # the command
    assert f"submitted as task {job.provider_task_id}" in told, told  # the submission
    assert "callback reports succeeded" in told, told  # the callback
    assert f"job {job.id} delivered" in told, told  # the delivery
    if fmt == "text":
        assert all(
            f"guild_id={h.guild.id} user_id={h.guild.member_id}" in line for line in story if "cogs." in line
        )
