"""Nothing lost: crashes and restarts at the awkward moments still deliver every accepted job once,
with its credits settled once.

In-process crashes use `Harness.crash()` (background work cancelled, no grace). The SIGKILL tests run
`python -m bot` as a real subprocess against the fakes in this process and kill it with signal 9.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from db.records import JobRecord, JobState, Settlement
from db.sqlite import SqliteStore
from tests.bot.jobs.helpers import (
    finish_silently,
    ledger,
    no_more_work,
    progress_posted,
    result_uploads,
    sha256,
    start_job,
    task_of,
    video_posts,
)
from tests.bot.jobs.proxy import HoldingProxy
from tests.conftest import HarnessFactory
from tests.harness import Harness, free_port

REPO_ROOT = Path(__file__).resolve().parents[3]


async def assert_posted_once(h: Harness, job_id: str) -> JobRecord:
    job = await h.wait_delivered(job_id, timeout=20)
    await no_more_work(h)
    posts = video_posts(h)
    assert len(posts) == 1, [m.content for m in posts]
    assert posts[0].id == job.delivered_message_id
    assert posts[0].attachments[0].sha256 == sha256(h.provider.result_video)
    assert job.settlement is Settlement.CHARGED
    row = await ledger(h, job)
    assert (row.jobs, row.credits_charged, row.credits_reserved, row.credits_refunded) == (
        1,
        job.credits,
        0,
        0,
    )
    return job


# ---- the inbox -----------------------------------------------------------------------------------------


async def test_valid_callback_is_persisted_before_the_200(make_harness: HarnessFactory) -> None:
    """The inbox row exists when the 200 goes back, before any processing; a crash right then loses
    nothing: the restarted bot processes the row and delivers once."""
    h = await make_harness("acedata", provider_options={"auto": False})
    job = await start_job(h)
    engine = h.running.engine
    inbox = next(t for t in engine._workers if t.get_name() == "klingbot-inbox")
    inbox.cancel()  # nothing processes callbacks from here on
    with contextlib.suppress(asyncio.CancelledError):
        await inbox
    await h.provider.succeed(task_of(h, job).task_id)
    assert h.provider.callback_responses == [200]
    [row] = await h.running.store.pending_callbacks()
    assert row.job_id == job.id
    stored = await h.running.store.get_job(job.id)
    assert stored is not None and stored.status is JobState.SUBMITTED and stored.callback_count == 1
    await h.crash()
    await h.start()
    done = await assert_posted_once(h, job.id)
    assert await h.running.store.pending_callbacks() == []
    assert done.delivery_attempts == 1


# ---- crashes around the upload (in process) ------------------------------------------------------------


@pytest.fixture
async def proxied(make_harness: HarnessFactory) -> AsyncIterator[tuple[Harness, HoldingProxy]]:
    """A harness whose bot talks to the fake Discord through a HoldingProxy."""
    h = await make_harness("acedata", start=False, provider_options={"auto": False})
    proxy = await HoldingProxy(h.fake.base_url).start()
    h.overrides["discord_api_base"] = proxy.api_base
    await h.start()
    yield h, proxy
    await h.stop()
    await proxy.stop()


@pytest.mark.parametrize(
    ("moment", "restart_after"),
    [
        pytest.param("before", 0.0, id="upload-never-reached-discord"),
        pytest.param("after", 0.0, id="posted-but-unacknowledged"),
        pytest.param("after", 600.0, id="posted-unacknowledged-restart-after-nonce-window"),
    ],
)
async def test_crash_during_the_upload_posts_once(
    proxied: tuple[Harness, HoldingProxy], moment: str, restart_after: float
) -> None:
    h, proxy = proxied
    job = await start_job(h)
    await progress_posted(h, job)
    proxy.hold(moment)
    await h.provider.succeed(task_of(h, job).task_id)
    await asyncio.wait_for(proxy.held.wait(), 10)
    assert len(video_posts(h)) == (1 if moment == "after" else 0)
    await h.crash()
    # Discord only deduplicates a nonce for a few minutes; after that the bot must find its own post.
    h.fake.advance(restart_after)
    await h.start()
    done = await assert_posted_once(h, job.id)
    assert done.delivery_attempts == 2
    if moment == "after":
        assert done.delivery_note == "found after an interrupted delivery"
        assert len(result_uploads(h)) == 1  # not even a second upload


async def test_crash_while_downloading_the_result_posts_once(make_harness: HarnessFactory) -> None:
    h = await make_harness("kling", provider_options={"auto": False})
    job = await start_job(h)
    started = asyncio.Event()
    publisher = h.running.publisher
    assert publisher is not None

    async def stuck_download(_: JobRecord) -> Path:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    publisher.results.download = stuck_download  # type: ignore[method-assign]
    await h.provider.succeed(task_of(h, job).task_id)
    await asyncio.wait_for(started.wait(), 10)
    await h.crash()
    await h.start()
    await assert_posted_once(h, job.id)


# ---- the bot down while the provider works ----------------------------------------------------------------


@pytest.mark.parametrize("lost", ["callbacks-off", "callback-refused"])
async def test_provider_finishing_while_the_bot_is_down_is_delivered_after_restart(
    make_harness: HarnessFactory, lost: str
) -> None:
    h = await make_harness("acedata", provider_options={"auto": False})
    job = await start_job(h)
    await h.stop()
    if lost == "callbacks-off":
        await finish_silently(h, job)
        assert h.provider.callback_responses == []
    else:
        await h.provider.succeed(task_of(h, job).task_id)  # nobody listens: connection refused
        assert h.provider.callback_responses == [0]
    await h.start()
    done = await assert_posted_once(h, job.id)
    assert done.callback_count == 0
    polls = h.running.metrics.registry.get_sample_value("klingbot_polls_total", {"result": "ok"})
    assert polls is not None and polls >= 1


async def test_callback_after_a_restart_still_authenticates(make_harness: HarnessFactory) -> None:
    h = await make_harness("kie", provider_options={"auto": False})
    job = await start_job(h, "motion")
    await h.restart()
    await h.provider.succeed(task_of(h, job).task_id)
    assert h.provider.callback_responses == [200]
    await assert_posted_once(h, job.id)


async def test_many_jobs_in_flight_all_recover(make_harness: HarnessFactory) -> None:
    h = await make_harness(
        "acedata",
        provider_options={"auto": False},
        max_jobs_in_flight_per_user=10,
        provider_max_concurrency=10,  # all six at the provider at once, none waiting in the line
    )
    jobs = [await start_job(h, prompt=f"scene number {n}") for n in range(6)]
    await h.crash()
    for job in jobs[:3]:
        await finish_silently(h, job)  # finished while the bot was down
    await h.start()
    for job in jobs[3:]:
        await h.provider.succeed(task_of(h, job).task_id)  # finished after the restart, by callback
    for job in jobs:
        await h.wait_delivered(job.id, timeout=20)
    await no_more_work(h)
    posts = video_posts(h)
    assert len(posts) == len(jobs)
    assert sorted(p.embeds[0]["footer"]["text"].split()[1] for p in posts) == sorted(j.id for j in jobs)
    rows = await h.running.store.usage(h.guild.id, 0.0)
    assert sum(r.credits_charged for r in rows) == sum(j.credits for j in jobs)
    assert sum(r.credits_reserved + r.credits_refunded for r in rows) == 0


# ---- SIGKILL, a real process ------------------------------------------------------------------------


class BotProcess:
    """`python -m bot` in a subprocess; its log lines are collected so a test can wait on them."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, env: dict[str, str], cwd: Path) -> BotProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            env=env,
            cwd=cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(proc)

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            async with self._changed:
                self.lines.append(raw.decode(errors="replace").rstrip())
                self._changed.notify_all()
        async with self._changed:
            self._changed.notify_all()

    async def wait_line(self, text: str, timeout: float = 30.0) -> str:
        def found() -> str | None:
            return next((line for line in self.lines if text in line), None)

        async def waiter() -> str:
            async with self._changed:
                while (line := found()) is None:
                    if self.proc.returncode is not None or self._reader.done():
                        raise RuntimeError("the bot exited:\n" + "\n".join(self.lines[-30:]))
                    await self._changed.wait()
                return line

        return await asyncio.wait_for(waiter(), timeout)

    async def kill(self) -> int:
        self.proc.send_signal(signal.SIGKILL)
        code = await self.proc.wait()
        await self._reader
        return code

    async def stop(self) -> None:
        """SIGTERM, then wait for the bot to say it stopped (its work finished, its store consistent)."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            await self.wait_line("bot: stopped", timeout=20)


def bot_environment(h: Harness, proxy: HoldingProxy, workdir: Path, webhook_port: int) -> dict[str, str]:
    ours = (
        "DISCORD_",
        "KLING_",
        "KIE_",
        "PUBLIC_",
        "WEBHOOK_",
        "DATABASE_",
        "LOG_",
        "POLL_",
        "JOB_",
        "MEDIA_",
    )
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(ours) and k != "DEV_GUILD_ID"}
    env.update(
        DISCORD_TOKEN=h.fake.bot_token,
        DISCORD_API_BASE=proxy.api_base,
        DISCORD_GATEWAY_URL=h.fake.gateway_url,
        DEV_GUILD_ID=str(h.guild.id),
        KLING_PROVIDER=h.provider_name,
        KLING_API_BASE=h.provider.base_url,
        KLING_API_KEY=str(getattr(h.provider, "api_key", "unused")),
        KLING_ACCESS_KEY=str(getattr(h.provider, "access_key", "unused")),
        KLING_SECRET_KEY=str(getattr(h.provider, "secret_key", "unused")),
        PUBLIC_BASE_URL=f"http://127.0.0.1:{webhook_port}",
        WEBHOOK_HOST="127.0.0.1",
        WEBHOOK_PORT=str(webhook_port),
        OPS_PORT="0",
        DATABASE_URL=f"sqlite:///{workdir / 'klingbot.db'}",
        MEDIA_DIR=str(workdir / "media"),
        POLL_INTERVAL_SECONDS="0.5",
        LOG_LEVEL="INFO",
        LOG_FORMAT="text",
        PYTHONUNBUFFERED="1",
        # The checkout first: the process runs in its own directory (no .env of the developer's).
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p),
    )
    return env


async def wait_until(predicate: Callable[[], bool], h: Harness, timeout: float = 30.0) -> None:
    await h.fake.wait_for(lambda: predicate() or None, timeout=timeout)


@pytest.mark.parametrize("moment", ["before", "after"], ids=["upload-held", "posted-unacknowledged"])
async def test_sigkill_after_the_callback_and_before_the_post(
    make_harness: HarnessFactory, tmp_path: Path, moment: str
) -> None:
    h = await make_harness("acedata", start=False, provider_options={"auto": False})
    proxy = await HoldingProxy(h.fake.base_url).start()
    workdir = tmp_path / "sigkill"
    workdir.mkdir()
    env = bot_environment(h, proxy, workdir, free_port())
    processes: list[BotProcess] = []
    try:
        first = await BotProcess.start(env, workdir)
        processes.append(first)
        await first.wait_line("has connected to Gateway")
        handle = await h.slash("video", {"prompt": "a paper boat on a rainy street"}, subcommand="text")
        reply = await h.reply(handle, timeout=20)
        job_id = reply.content.split("`")[1]
        await h.provider.wait_for(lambda: len(h.provider.tasks) == 1, timeout=20)
        [task] = h.provider.tasks.values()
        proxy.hold(moment)
        await h.provider.succeed(task.task_id)
        assert h.provider.callback_responses == [200]  # acknowledged...
        await asyncio.wait_for(proxy.held.wait(), 20)  # ...and the upload is frozen
        assert await first.kill() == -signal.SIGKILL
        assert len(video_posts(h)) == (1 if moment == "after" else 0)

        second = await BotProcess.start(env, workdir)
        processes.append(second)
        await second.wait_line("recovered 0 pending, 0 submitted and 1 finished jobs")
        await wait_until(lambda: bool(video_posts(h)), h)
        await wait_until(lambda: "Done" in h.fake.messages[_progress_id(h, job_id)].content, h)
        await second.stop()
    finally:
        for process in processes:
            if process.proc.returncode is None:
                await process.kill()
        await proxy.stop()

    posts = video_posts(h)
    assert len(posts) == 1
    assert posts[0].attachments[0].sha256 == sha256(h.provider.result_video)
    assert posts[0].mentions == [h.guild.member_id]
    store = SqliteStore(workdir / "klingbot.db")
    await store.open()
    try:
        job = await store.get_job(job_id)
        assert job is not None
        assert job.status is JobState.DELIVERED and job.delivered_message_id == posts[0].id
        assert job.settlement is Settlement.CHARGED
        assert job.delivery_attempts == 2
        [row] = await store.usage(h.guild.id, 0.0)
        assert (row.jobs, row.credits_charged, row.credits_reserved, row.credits_refunded) == (
            1,
            job.credits,
            0,
            0,
        )
        assert await store.pending_callbacks() == []
    finally:
        await store.close()


def _progress_id(h: Harness, job_id: str) -> int:
    for message in h.fake.messages_in(h.guild.channel_id):
        if message.posted_by == "bot" and f"`{job_id}`" in message.content and not message.attachments:
            return message.id
    return 0


async def test_sigterm_after_a_delivery_exits_cleanly(make_harness: HarnessFactory, tmp_path: Path) -> None:
    h = await make_harness("acedata", start=False)
    proxy = await HoldingProxy(h.fake.base_url).start()
    workdir = tmp_path / "sigterm"
    workdir.mkdir()
    process = await BotProcess.start(bot_environment(h, proxy, workdir, free_port()), workdir)
    try:
        await process.wait_line("has connected to Gateway")
        handle = await h.slash("video", {"prompt": "a kite over the dunes"}, subcommand="text")
        job_id = (await h.reply(handle, timeout=20)).content.split("`")[1]
        await wait_until(lambda: bool(video_posts(h)), h)
        await wait_until(lambda: "Done" in h.fake.messages[_progress_id(h, job_id)].content, h)
        await process.stop()
        assert await asyncio.wait_for(process.proc.wait(), 3) == 0
    finally:
        if process.proc.returncode is None:
            await process.kill()
        await proxy.stop()
