"""Result links the bot will not fetch, end to end: the real bot, the fake Discord and a fake provider
whose success callback names a link inside the server's network. The job fails at once, its credits
come back, the member is told, and nothing is ever requested from the forbidden address. A result
download that stalls hits the RESULT deadline and is retried."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.downloads import Downloader
from bot.retry import RetryPolicy
from db.records import JobRecord, JobState, Settlement
from tests.bot.jobs.helpers import (
    ledger,
    no_more_work,
    progress_posted,
    result_uploads,
    settled,
    start_job,
    task_of,
    video_posts,
)
from tests.bot.test_downloads import StaticResolver, Watch
from tests.conftest import HarnessFactory
from tests.harness import Harness

SENTENCE = (
    "The provider returned a result link the bot will not fetch (it points inside the server's network), "
    "so the video can't be posted. Your {credits} came back."
)
METADATA_HOST = "metadata.test"


@pytest.fixture
def resolver() -> StaticResolver:
    return StaticResolver({METADATA_HOST: ["169.254.169.254"], "v6.metadata.test": ["fe80::a9fe:a9fe"]})


@pytest.fixture
def watch() -> Watch:
    return Watch()


async def watched_harness(make_harness: HarnessFactory, resolver: StaticResolver, watch: Watch) -> Harness:
    """AceData with callbacks, tasks finished by hand, the bot's downloader on the test's DNS."""
    h = await make_harness("acedata", start=False, provider_options={"auto": False})
    h.bot_options = {"downloader": Downloader(resolver=resolver, trace_configs=[watch.trace])}
    await h.start()
    h.running.engine.deliveries.policy = RetryPolicy(3, first_delay=0.001, max_delay=0.01)
    return h


async def finish_with_link(h: Harness, job: JobRecord, url: str) -> None:
    await progress_posted(h, job)
    task = task_of(h, job)
    task.result_url = url
    await h.provider.succeed(task.task_id)


async def assert_refused_and_refunded(h: Harness, job: JobRecord) -> JobRecord:
    failed = await settled(h, job, JobState.FAILED)
    await no_more_work(h)
    assert failed.error_category == "unsafe_result"
    assert failed.settlement is Settlement.REFUNDED
    row = await ledger(h, failed)
    assert (row.credits_charged, row.credits_reserved, row.credits_refunded) == (0, 0, job.credits)
    sentence = SENTENCE.format(credits=f"{job.credits} credit" + ("s" if job.credits != 1 else ""))
    told = await h.fake.wait_for(
        lambda: [m for m in h.fake.messages_in(h.guild.channel_id) if m.mentions == [job.user_id]]
    )
    assert len(told) == 1 and told[0].content.endswith(sentence), told[0].content
    progress = h.fake.messages[failed.progress_message_id or 0]
    await h.fake.wait_for(lambda: "Failed" in progress.content)
    assert "Uploading" not in progress.content and sentence in progress.content
    assert video_posts(h) == [] and result_uploads(h) == []
    return failed


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://169.254.169.254:80/latest/meta-data/iam/security-credentials/",
        "http://[fe80::1]/x",
        "http://[::ffff:169.254.169.254]/latest",
    ],
)
async def test_a_forbidden_link_fails_the_job_before_uploading(
    make_harness: HarnessFactory, resolver: StaticResolver, watch: Watch, url: str
) -> None:
    h = await watched_harness(make_harness, resolver, watch)
    job = await start_job(h)
    await finish_with_link(h, job, url)
    failed = await assert_refused_and_refunded(h, job)
    assert failed.result_url is None  # refused when the report was applied: never "succeeded"
    assert failed.delivery_attempts == 0
    assert watch.requests == [] and watch.connections == 0 and resolver.asked == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.1:70/", "ftp://127.0.0.1/x"])
async def test_a_link_with_another_scheme_is_never_fetched(
    make_harness: HarnessFactory, resolver: StaticResolver, watch: Watch, url: str
) -> None:
    """The provider families read only http(s) result links, so such a report is a success without a
    video: failed and refunded (as "no video"), nothing fetched, never "Uploading"."""
    h = await watched_harness(make_harness, resolver, watch)
    job = await start_job(h)
    await finish_with_link(h, job, url)
    failed = await settled(h, job, JobState.FAILED)
    await no_more_work(h)
    assert failed.settlement is Settlement.REFUNDED and failed.result_url is None
    assert (await ledger(h, failed)).credits_refunded == job.credits
    progress = h.fake.messages[failed.progress_message_id or 0]
    await h.fake.wait_for(lambda: "Failed" in progress.content)
    assert watch.requests == [] and watch.connections == 0 and resolver.asked == []


@pytest.mark.parametrize("host", [METADATA_HOST, "v6.metadata.test"])
async def test_a_name_resolving_inside_the_network_fails_the_job_without_a_connection(
    make_harness: HarnessFactory, resolver: StaticResolver, watch: Watch, host: str
) -> None:
    h = await watched_harness(make_harness, resolver, watch)
    job = await start_job(h)
    await finish_with_link(h, job, f"http://{host}/latest/meta-data/")
    failed = await assert_refused_and_refunded(h, job)
    assert failed.delivery_attempts == 1  # refused once; never retried
    assert resolver.asked == [host]  # checked after resolution
    assert watch.connections == 0
    assert (await h.running.store.get_job(job.id)).status is JobState.FAILED  # type: ignore[union-attr]


# ---- a stalled result download ---------------------------------------------------------------------


class StallingOrigin:
    """Serves a result, except that the first request never gets an answer."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.requests = 0
        self.release = asyncio.Event()
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/result.mp4", self._serve)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/result.mp4?signature=s3cr3t"

    async def stop(self) -> None:
        self.release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        if self.requests == 1:
            await self.release.wait()  # the stall: no status line, no bytes
        return web.Response(body=self.body, content_type="video/mp4")


@pytest.fixture
async def stalling(make_harness: HarnessFactory) -> AsyncIterator[tuple[Harness, StallingOrigin]]:
    h = await make_harness("acedata", provider_options={"auto": False}, result_download_seconds=0.5)
    origin = StallingOrigin(h.provider.result_video)
    await origin.start()
    yield h, origin
    await origin.stop()


async def test_a_stalled_result_download_hits_the_result_deadline_and_is_retried(
    stalling: tuple[Harness, StallingOrigin],
) -> None:
    h, origin = stalling
    h.running.engine.deliveries.policy = RetryPolicy(3, first_delay=0.001, max_delay=0.01)
    job = await start_job(h)
    await finish_with_link(h, job, origin.url)
    done = await h.wait_delivered(job.id)
    assert origin.requests == 2 and done.delivery_attempts == 2
    assert len(video_posts(h)) == 1
    assert done.settlement is Settlement.CHARGED
