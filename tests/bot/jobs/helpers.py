"""Shared steps of the completion, recovery, delivery and listener tests: start a job through a real
slash command, finish it at the fake provider without (or with) a callback, post callbacks by hand, and
look at what reached Discord and the store."""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import aiohttp

from db.records import JobRecord, JobState, UsageRow
from tests.fakes.discord import Call, FakeMessage
from tests.fakes.providers.common import FakeTask
from tests.harness import Harness
from tests.support.media import make_image, make_video

MIB = 1024 * 1024
RESULT_POST = r"^/(channels/\d+/messages|webhooks/\d+/[^/]+)$"


def motion_attachments() -> dict[str, tuple[str, bytes, str | None]]:
    return {
        "image": ("character.png", make_image(512, 512), "image/png"),
        "video": ("dance.mp4", make_video(4.0, 360, 640), "video/mp4"),
    }


async def start_job(
    h: Harness,
    kind: str = "text",
    *,
    prompt: str = "a red fox running through fresh snow",
    user_id: int | None = None,
    attachment_size_limit: int | None = None,
) -> JobRecord:
    """Run /video text (or /motion with kind="motion") and return the job once the provider has it."""
    extra: dict[str, Any] = {}
    if attachment_size_limit is not None:
        extra["attachment_size_limit"] = attachment_size_limit
    if kind == "motion":
        handle = await h.slash(
            "motion", {"prompt": prompt}, user_id=user_id, attachments=motion_attachments(), **extra
        )
    else:
        handle = await h.slash("video", {"prompt": prompt}, subcommand="text", user_id=user_id, **extra)
    reply = await h.reply(handle)
    assert "accepted" in reply.content, reply.content
    job_id = reply.content.split("`")[1]
    return await h.wait_job(lambda j: j.provider_task_id is not None, job_id)


async def progress_posted(h: Harness, job: JobRecord) -> FakeMessage:
    """The job's progress message, once Discord has it (the bot posts it right after submission)."""

    def find() -> FakeMessage | None:
        return next(
            (
                m
                for m in h.fake.messages_in(h.guild.channel_id)
                if m.posted_by == "bot" and f"`{job.id}`" in m.content
            ),
            None,
        )

    return await h.fake.wait_for(find)


def task_of(h: Harness, job: JobRecord) -> FakeTask:
    assert job.provider_task_id is not None
    return h.provider.tasks[job.provider_task_id]


async def finish_silently(h: Harness, job: JobRecord, *, fail: str | None = None) -> FakeTask:
    """Finish the task at the provider without sending its callback (as if the callback was lost)."""
    task = task_of(h, job)
    h.provider.callbacks_enabled = False
    try:
        if fail is None:
            await h.provider.succeed(task.task_id)
        else:
            await h.provider.fail(task.task_id, fail)
    finally:
        h.provider.callbacks_enabled = True
    return task


def final_callback(h: Harness, task: FakeTask) -> tuple[dict[str, Any], dict[str, str]]:
    """The body and headers of the callback the provider sends for the task's current (final) state."""
    bodies = h.provider.callback_bodies(task)
    assert bodies, f"the fake sends no callback for state {task.state}"
    return bodies[-1]


def as_json(body: Any) -> bytes:
    return json.dumps(body).encode()


def callback_url(h: Harness, job: JobRecord, token: str | None = None) -> str:
    return f"http://127.0.0.1:{h.webhook_port}/callbacks/{token or job.callback_token}"


async def post_raw(
    url: str, data: bytes | Any, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any] | str]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=data, headers={"Content-Type": "application/json", **(headers or {})}) as resp,
    ):
        text = await resp.text()
        try:
            return resp.status, json.loads(text)
        except ValueError:
            return resp.status, text


async def get(url: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, await resp.read()


def video_posts(h: Harness, channel_id: int | None = None) -> list[FakeMessage]:
    """Messages carrying a video, in the channel (default: the job channel), oldest first."""
    channel = channel_id if channel_id is not None else h.guild.channel_id
    return [m for m in h.fake.messages_in(channel) if any(a.filename.endswith(".mp4") for a in m.attachments)]


def result_uploads(h: Harness) -> list[Call]:
    """Every request that carried a file to Discord (channel posts and interaction followups)."""
    return [c for c in h.fake.calls_matching("POST", RESULT_POST) if c.files]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def ledger(h: Harness, job: JobRecord) -> UsageRow:
    """The credit ledger for the job's member (one job per test)."""
    assert job.guild_id is not None
    rows = [r for r in await h.running.store.usage(job.guild_id, 0.0, job.user_id) if r.kind == job.kind]
    assert len(rows) == 1, rows
    return rows[0]


async def settled(h: Harness, job: JobRecord, state: JobState, timeout: float = 10.0) -> JobRecord:
    return await h.wait_job(lambda j: j.status is state, job.id, timeout=timeout)


async def no_more_work(h: Harness) -> None:
    """Let the engine finish anything already under way (background tasks), without sleeping blindly."""
    engine = h.running.engine
    pending = [t for t in engine._tasks if not t.done()]
    if pending:
        await asyncio.wait(pending, timeout=10)
