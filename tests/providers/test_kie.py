"""Contract tests of the kie.ai client against the loopback kie fake (providers.md §4)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDict

from bot import models
from bot.models import ErrorCategory, JobKind, MediaInput, MotionRequest, TaskStatus
from bot.providers.base import AccountBalance, ProviderError, UnsupportedKind
from bot.providers.config import HttpConfig
from bot.providers.kie import KieClient, sign_callback
from bot.retry import RetryPolicy
from tests.fakes.providers.kie import NO_ACCESS, FakeKie, sign, validate_create
from tests.support.media import make_image, make_video

API_KEY = "kie-live-0123456789abcdef"
HMAC_KEY = "hmac-0123456789abcdef"
IMAGE = make_image(512, 512)
VIDEO = make_video(3.0, 320, 240)
FAST = HttpConfig(retry=RetryPolicy(attempts=3, first_delay=0.0, max_delay=0.0), timeout=10.0)
ONCE = HttpConfig(retry=RetryPolicy(attempts=1, first_delay=0.0, max_delay=0.0), timeout=10.0)


def motion(**options: Any) -> MotionRequest:
    return MotionRequest(
        MediaInput(IMAGE, "char.png", "image/png"), MediaInput(VIDEO, "dance.mp4", "video/mp4"), **options
    )


class Receiver:
    """The bot's side of a callback: a loopback endpoint that keeps what it was sent."""

    def __init__(self) -> None:
        self.calls: list[tuple[CIMultiDict[str], Any]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        self.calls.append((CIMultiDict(request.headers), await request.json()))
        return web.json_response({"ok": True})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/callbacks/{token}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/callbacks/tok-5ecret-callback-token"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


async def started(fake: FakeKie) -> FakeKie:
    await fake.start()
    return fake


@pytest.fixture
async def fake() -> AsyncIterator[FakeKie]:
    server = await started(FakeKie(API_KEY, auto=False))
    yield server
    await server.stop()


@pytest.fixture
async def fake_200() -> AsyncIterator[FakeKie]:
    server = await started(FakeKie(API_KEY, auto=False, http_200_errors=True))
    yield server
    await server.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    endpoint = Receiver()
    await endpoint.start()
    yield endpoint
    await endpoint.stop()


def client_for(fake: FakeKie, *, http: HttpConfig = FAST, **options: Any) -> KieClient:
    return KieClient(
        options.pop("api_key", API_KEY),
        base_url=fake.base_url,
        upload_base_url=fake.base_url,
        http=http,
        **options,
    )


ClientFactory = Callable[..., KieClient]


@pytest.fixture
async def make_client() -> AsyncIterator[ClientFactory]:
    """Clients for a fake, all closed at teardown even when a test fails half-way."""
    made: list[KieClient] = []

    def factory(fake: FakeKie, **options: Any) -> KieClient:
        made.append(client_for(fake, **options))
        return made[-1]

    yield factory
    for kie in made:
        await kie.close()


@pytest.fixture
def client(fake: FakeKie, make_client: ClientFactory) -> KieClient:
    return make_client(fake)


async def submitted(fake: FakeKie, client: KieClient, **options: Any) -> str:
    """Submit a motion job and wait until the fake has really fetched both inputs."""
    task_id = await client.submit(motion(**options), job_id="job-1", callback_url=None)
    task = fake.tasks[task_id]
    await fake.wait_for(lambda: len(task.inputs) == 2 or task.state == "failed")
    return task_id


# ---- submit -----------------------------------------------------------------------------------------


async def test_motion_submit_uploads_both_inputs_and_sends_the_exact_create_body(
    fake: FakeKie, client: KieClient, receiver: Receiver
) -> None:
    request = motion(prompt="The cartoon character is dancing.", mode="pro", orientation="video")
    task_id = await client.submit(request, job_id="job-42", callback_url=receiver.url)

    image, video = fake.upload_log
    assert (image.method, image.data, image.mime_type, image.upload_path) == (
        "stream",
        IMAGE,
        "image/png",
        "klingbot",
    )
    assert (video.method, video.data, video.mime_type) == ("stream", VIDEO, "video/mp4")
    assert image.file_name.startswith("job-42-image-") and image.file_name.endswith(".png")
    assert video.file_name.startswith("job-42-video-") and video.file_name.endswith(".mp4")

    (create,) = fake.requests_to("/api/v1/jobs/createTask", "POST")
    assert create.headers["Authorization"] == f"Bearer {API_KEY}"
    assert create.body == {
        "model": "kling-2.6/motion-control",
        "callBackUrl": receiver.url,
        "input": {
            "prompt": "The cartoon character is dancing.",
            "character_orientation": "video",
            "mode": "1080p",
            "input_urls": [image.download_url],
            "video_urls": [video.download_url],
        },
    }
    for upload in fake.requests_to("/api/file-stream-upload"):
        assert upload.headers["Authorization"] == f"Bearer {API_KEY}"
        assert upload.headers["Content-Type"].startswith("multipart/form-data")

    task = fake.tasks[task_id]
    await fake.wait_for(lambda: len(task.inputs) == 2)
    assert task.inputs == {image.download_url: IMAGE, video.download_url: VIDEO}


@pytest.mark.parametrize(("mode", "sent"), [("std", "720p"), ("pro", "1080p")])
async def test_mode_maps_to_resolution_and_optional_fields_are_left_out(
    fake: FakeKie, client: KieClient, mode: str, sent: str
) -> None:
    await client.submit(motion(mode=mode, keep_sound=False), job_id="j", callback_url=None)
    body = fake.requests_to("createTask")[0].body
    assert body["input"]["mode"] == sent
    assert body["input"]["character_orientation"] == "image"
    assert "callBackUrl" not in body and "prompt" not in body["input"]
    assert "keep_original_sound" not in body["input"]


@pytest.mark.parametrize(
    ("model", "sent"),
    [("kling-v2-6", "kling-2.6/motion-control"), ("kling-v3", "kling-3.0/motion-control")],
)
async def test_kling_model_names_map_to_kie_market_models(
    fake: FakeKie, client: KieClient, model: str, sent: str
) -> None:
    await client.submit(motion(model=model), job_id="j", callback_url=None)
    assert fake.requests_to("createTask")[0].body["model"] == sent


@pytest.mark.parametrize(
    "request_",
    [motion(mode="turbo"), motion(orientation="sideways"), motion(model="kling-v1")],
    ids=["mode", "orientation", "model"],
)
async def test_bad_options_are_refused_before_any_upload(
    fake: FakeKie, client: KieClient, request_: MotionRequest
) -> None:
    with pytest.raises(ProviderError) as caught:
        await client.submit(request_, job_id="j", callback_url=None)
    assert caught.value.category is ErrorCategory.INVALID_REQUEST
    assert fake.requests == []


async def test_a_model_kie_does_not_know_comes_back_as_invalid_request(
    fake: FakeKie, make_client: ClientFactory
) -> None:
    kie = make_client(fake, model="kling-9.9/motion-control")
    with pytest.raises(ProviderError) as caught:
        await kie.submit(motion(), job_id="j", callback_url=None)
    assert caught.value.category is ErrorCategory.INVALID_REQUEST
    assert caught.value.message == "model is not supported"
    assert fake.tasks == {}


async def test_file_url_is_used_when_the_upload_answer_has_no_download_url(
    fake: FakeKie, client: KieClient
) -> None:
    hosted = f"{fake.base_url}/_results/elsewhere.png"
    fake.fail_next("file-stream-upload", 200, {"success": True, "code": 200, "data": {"fileUrl": hosted}})
    task_id = await submitted(fake, client)
    assert fake.tasks[task_id].request["input"]["input_urls"] == [hosted]
    assert fake.tasks[task_id].inputs[hosted] == fake.result_video


async def test_an_input_kie_cannot_fetch_fails_the_task(fake: FakeKie, client: KieClient) -> None:
    gone = f"{fake.base_url}/_files/klingbot/deleted-after-3-days.png"
    fake.fail_next("file-stream-upload", 200, {"success": True, "code": 200, "data": {"downloadUrl": gone}})
    task_id = await submitted(fake, client)
    update = await client.query(task_id, kind=JobKind.MOTION)
    assert update.status is TaskStatus.FAILED
    assert update.error_category is ErrorCategory.FAILED
    assert update.error_message == "Failed to download the input file"


async def test_an_image_over_10_mb_fails_the_task(fake: FakeKie, client: KieClient) -> None:
    big = MediaInput(IMAGE + bytes(10 * 1024 * 1024), "big.png", "image/png")
    request = MotionRequest(big, MediaInput(VIDEO, "dance.mp4", "video/mp4"))
    task_id = await client.submit(request, job_id="j", callback_url=None)
    await fake.wait_for(lambda: fake.tasks[task_id].state == "failed")
    update = await client.query(task_id, kind=JobKind.MOTION)
    assert (update.status, update.error_message) == (
        TaskStatus.FAILED,
        "The input file exceeds the size limit",
    )


async def test_uploads_are_retried_and_resend_the_same_bytes(fake: FakeKie, client: KieClient) -> None:
    fake.fail_next_code("file-stream-upload", 500, "busy")
    await submitted(fake, client)
    assert len(fake.requests_to("file-stream-upload")) == 3
    assert [u.data for u in fake.upload_log] == [IMAGE, VIDEO]


# ---- account balance --------------------------------------------------------------------------------


async def test_balance_is_the_accounts_remaining_credits(client: KieClient, fake: FakeKie) -> None:
    fake.credits = 840
    assert await client.account_balance() == AccountBalance(remaining=840.0, unit="credits")
    (asked,) = fake.requests_to("/api/v1/chat/credit", "GET")
    assert asked.headers["Authorization"] == f"Bearer {API_KEY}"


@pytest.mark.parametrize("http_200_errors", [False, True])
async def test_balance_with_a_wrong_key_is_an_auth_error(
    make_client: ClientFactory, http_200_errors: bool
) -> None:
    fake = await started(FakeKie(API_KEY, auto=False, http_200_errors=http_200_errors))
    try:
        with pytest.raises(ProviderError) as caught:
            await make_client(fake, api_key="kie-wrong-key").account_balance()
    finally:
        await fake.stop()
    assert caught.value.category is ErrorCategory.AUTH and caught.value.code == 401


async def test_balance_in_an_unreadable_answer_is_transient(client: KieClient, fake: FakeKie) -> None:
    fake.fail_next("/api/v1/chat/credit", 200, {"code": 200, "msg": "success", "data": None})
    with pytest.raises(ProviderError) as caught:
        await client.account_balance()
    assert caught.value.category is ErrorCategory.TRANSIENT


# ---- kinds kie does not offer -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_",
    [
        models.TextToVideoRequest("a cat"),
        models.ImageToVideoRequest(MediaInput(IMAGE, "a.png", "image/png")),
        models.ExtendRequest("vid-1"),
    ],
    ids=lambda r: r.kind.value,
)
async def test_other_kinds_are_refused_without_any_http_call(
    fake: FakeKie, client: KieClient, request_: models.GenerationRequest
) -> None:
    assert not client.supports(request_.kind)
    with pytest.raises(UnsupportedKind) as caught:
        await client.submit(request_, job_id="j", callback_url="http://127.0.0.1:1/cb")
    assert caught.value.category is ErrorCategory.INVALID_REQUEST
    assert "only motion control" in caught.value.message
    with pytest.raises(UnsupportedKind):
        await client.query("task-1", kind=request_.kind)
    assert fake.requests == []


def test_kie_offers_motion_only_and_uploads_its_own_inputs() -> None:
    assert KieClient.supported_kinds == frozenset({JobKind.MOTION})
    assert KieClient.needs_input_urls is False


# ---- errors ------------------------------------------------------------------------------------------

CODES = [
    (401, ErrorCategory.AUTH),
    (402, ErrorCategory.INSUFFICIENT_CREDITS),
    (404, ErrorCategory.INVALID_REQUEST),
    (422, ErrorCategory.INVALID_REQUEST),
    (429, ErrorCategory.RATE_LIMITED),
    (433, ErrorCategory.INSUFFICIENT_CREDITS),
    (455, ErrorCategory.TRANSIENT),
    (500, ErrorCategory.TRANSIENT),
    (501, ErrorCategory.FAILED),
    (505, ErrorCategory.AUTH),
]


@pytest.mark.parametrize("http_200", [False, True], ids=["http-mirrors-code", "http-200"])
@pytest.mark.parametrize(("code", "category"), CODES)
async def test_create_task_codes_map_to_categories(
    fake: FakeKie, http_200: bool, code: int, category: ErrorCategory, make_client: ClientFactory
) -> None:
    fake.http_200_errors = http_200
    fake.fail_next_code("createTask", code, f"kie says {code}")
    kie = make_client(fake, http=ONCE)
    with pytest.raises(ProviderError) as caught:
        await kie.submit(motion(), job_id="j", callback_url=None)
    error = caught.value
    if code == 429:  # on createTask: the account runs all it may, so the job waits for a slot
        category = ErrorCategory.PROVIDER_FULL
    assert (error.category, error.code, error.message) == (category, code, f"kie says {code}")
    assert error.http_status == (200 if http_200 else code)
    assert fake.tasks == {}


@pytest.mark.parametrize("http_200", [False, True], ids=["http-mirrors-code", "http-200"])
@pytest.mark.parametrize(("code", "category"), CODES)
async def test_record_info_codes_map_to_categories(
    fake: FakeKie, http_200: bool, code: int, category: ErrorCategory, make_client: ClientFactory
) -> None:
    fake.http_200_errors = http_200
    fake.fail_next_code("recordInfo", code)
    kie = make_client(fake, http=ONCE)
    with pytest.raises(ProviderError) as caught:
        await kie.query("task_x", kind=JobKind.MOTION)
    # The id came from kie itself, so a 404 on the query is a record that is not visible yet.
    expected = ErrorCategory.TRANSIENT if code == 404 else category
    assert (caught.value.category, caught.value.code) == (expected, code)


@pytest.mark.parametrize("http_200", [False, True], ids=["http-mirrors-code", "http-200"])
@pytest.mark.parametrize(
    ("code", "category"),
    [(400, ErrorCategory.INVALID_REQUEST), (401, ErrorCategory.AUTH), (500, ErrorCategory.TRANSIENT)],
)
async def test_upload_codes_map_to_categories(
    fake: FakeKie, http_200: bool, code: int, category: ErrorCategory, make_client: ClientFactory
) -> None:
    fake.http_200_errors = http_200
    fake.fail_next_code("file-stream-upload", code, "upload refused", times=5)
    kie = make_client(fake)
    with pytest.raises(ProviderError) as caught:
        await kie.submit(motion(), job_id="j", callback_url=None)
    assert (caught.value.category, caught.value.code) == (category, code)
    assert fake.requests_to("createTask") == []


@pytest.mark.parametrize("http_200", [False, True], ids=["http-mirrors-code", "http-200"])
async def test_the_fakes_own_auth_check_reaches_the_client_as_auth(
    fake: FakeKie, http_200: bool, make_client: ClientFactory
) -> None:
    fake.http_200_errors = http_200
    kie = make_client(fake, api_key="kie-wrong-key")
    with pytest.raises(ProviderError) as caught:
        await kie.submit(motion(), job_id="j", callback_url=None)
    with pytest.raises(ProviderError) as queried:
        await kie.query("task_x", kind=JobKind.MOTION)
    assert (caught.value.category, caught.value.code, caught.value.message) == (
        ErrorCategory.AUTH,
        401,
        NO_ACCESS,
    )
    assert queried.value.category is ErrorCategory.AUTH
    assert len(fake.requests_to("file-stream-upload")) == 1  # auth is never retried


async def test_an_http_error_status_wins_over_a_success_code_in_the_body(
    fake: FakeKie, client: KieClient
) -> None:
    fake.fail_next("recordInfo", 503, {"code": 200, "msg": "success"}, times=3)
    with pytest.raises(ProviderError) as caught:
        await client.query("task_x", kind=JobKind.MOTION)
    assert (caught.value.category, caught.value.http_status) == (ErrorCategory.TRANSIENT, 503)


async def test_an_unknown_code_falls_back_to_its_http_class(
    fake: FakeKie, make_client: ClientFactory
) -> None:
    fake.fail_next("createTask", 200, {"code": 418, "msg": "teapot"})
    kie = make_client(fake)
    with pytest.raises(ProviderError) as caught:
        await kie.submit(motion(), job_id="j", callback_url=None)
    assert (caught.value.category, caught.value.code) == (ErrorCategory.INVALID_REQUEST, 418)


async def test_rate_limit_keeps_retry_after(fake: FakeKie, make_client: ClientFactory) -> None:
    fake.fail_next("createTask", 429, {"code": 429, "msg": "slow down"}, headers={"Retry-After": "7"})
    kie = make_client(fake, http=ONCE)
    with pytest.raises(ProviderError) as caught:
        await kie.submit(motion(), job_id="j", callback_url=None)
    assert (caught.value.category, caught.value.retry_after) == (ErrorCategory.PROVIDER_FULL, 7.0)


async def test_a_429_on_create_task_is_not_repeated(fake_200: FakeKie, make_client: ClientFactory) -> None:
    fake_200.fail_next_code("createTask", 429)
    kie = make_client(fake_200)
    with pytest.raises(ProviderError) as caught:
        await kie.submit(motion(), job_id="j", callback_url=None)
    assert caught.value.category is ErrorCategory.PROVIDER_FULL
    assert len(fake_200.requests_to("createTask")) == 1 and fake_200.tasks == {}


@pytest.mark.parametrize("code", [455])
async def test_create_task_is_retried_when_kie_certainly_refused_it(
    fake_200: FakeKie, code: int, make_client: ClientFactory
) -> None:
    fake_200.fail_next_code("createTask", code)
    kie = make_client(fake_200)
    task_id = await kie.submit(motion(), job_id="j", callback_url=None)
    assert len(fake_200.requests_to("createTask")) == 2
    assert list(fake_200.tasks) == [task_id]


async def test_create_task_is_not_repeated_after_an_ambiguous_server_error(
    fake: FakeKie, client: KieClient
) -> None:
    fake.fail_next_code("createTask", 500)
    with pytest.raises(ProviderError) as caught:
        await client.submit(motion(), job_id="j", callback_url=None)
    assert caught.value.category is ErrorCategory.TRANSIENT
    assert len(fake.requests_to("createTask")) == 1


async def test_queries_are_retried_on_transient_errors(fake_200: FakeKie, make_client: ClientFactory) -> None:
    kie = make_client(fake_200)
    task_id = await submitted(fake_200, kie)
    fake_200.fail_next_code("recordInfo", 500, times=2)
    update = await kie.query(task_id, kind=JobKind.MOTION)
    assert update.status is TaskStatus.QUEUED
    assert len(fake_200.requests_to("recordInfo")) == 3


async def test_an_unknown_task_id_is_not_found_on_the_fake(fake: FakeKie, make_client: ClientFactory) -> None:
    kie = make_client(fake, http=ONCE)
    with pytest.raises(ProviderError) as caught:
        await kie.query("task_never_made", kind=JobKind.MOTION)
    assert (caught.value.code, caught.value.category) == (404, ErrorCategory.TRANSIENT)


# ---- states ------------------------------------------------------------------------------------------


async def test_a_task_moves_through_kies_states_to_a_downloadable_result(
    fake: FakeKie, client: KieClient
) -> None:
    task_id = await submitted(fake, client)
    queued = await client.query(task_id, kind=JobKind.MOTION)
    assert (queued.task_id, queued.status, queued.raw_status) == (task_id, TaskStatus.QUEUED, "waiting")

    await fake.start_processing(task_id)
    running = await client.query(task_id, kind=JobKind.MOTION)
    assert (running.status, running.raw_status) == (TaskStatus.PROCESSING, "generating")

    await fake.succeed(task_id)
    done = await client.query(task_id, kind=JobKind.MOTION)
    assert (done.status, done.raw_status, done.error_category) == (TaskStatus.SUCCEEDED, "success", None)
    assert done.video_url is not None and done.video_url == fake.tasks[task_id].result_url
    async with aiohttp.ClientSession() as session, session.get(done.video_url) as resp:
        assert await resp.read() == fake.result_video


async def test_a_failed_task_reports_kies_reason(fake: FakeKie, client: KieClient) -> None:
    task_id = await submitted(fake, client)
    await fake.fail(task_id, "Internal server error")
    update = await client.query(task_id, kind=JobKind.MOTION)
    assert (update.status, update.raw_status) == (TaskStatus.FAILED, "fail")
    assert (update.error_category, update.error_message) == (ErrorCategory.FAILED, "Internal server error")
    assert update.video_url is None


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("waiting", TaskStatus.QUEUED),
        ("queuing", TaskStatus.QUEUED),
        ("generating", TaskStatus.PROCESSING),
        ("GENERATING", TaskStatus.PROCESSING),
        ("paused", TaskStatus.PROCESSING),
        ("", TaskStatus.PROCESSING),
        ("moderating", TaskStatus.PROCESSING),
    ],
)
async def test_pending_and_unknown_states_count_as_running(
    fake: FakeKie, client: KieClient, raw: str, status: TaskStatus
) -> None:
    task_id = await submitted(fake, client)
    fake.raw_states[task_id] = raw
    update = await client.query(task_id, kind=JobKind.MOTION)
    assert (update.status, update.raw_status, update.error_category) == (status, raw, None)


def record(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"taskId": "task_kling-2.6_1", "model": "kling-2.6/motion-control", "param": "{}"}
    return {**base, **fields}


@pytest.mark.parametrize("result_json", [None, "", "{not json", '{"resultUrls":[]}'])
async def test_failure_with_any_result_json_is_still_a_failure(
    fake: FakeKie, client: KieClient, result_json: Any
) -> None:
    data = record(state="fail", resultJson=result_json, failCode="500", failMsg="Face not detected")
    fake.fail_next("recordInfo", 200, {"code": 200, "message": "success", "data": data})
    update = await client.query("task_kling-2.6_1", kind=JobKind.MOTION)
    assert (update.status, update.error_message) == (TaskStatus.FAILED, "Face not detected")
    callback = client.parse_callback({"code": 501, "msg": "Playground task failed.", "data": data})
    assert (callback.status, callback.error_category) == (TaskStatus.FAILED, ErrorCategory.FAILED)


async def test_a_failure_without_a_reason_gets_a_readable_one(client: KieClient) -> None:
    update = client.parse_callback({"code": 501, "data": record(state="fail", failMsg="", failCode="")})
    assert update.error_message == "kie.ai could not generate the video."


BAD_RESULTS = [None, "", "{", "[]", '{"resultUrls":[]}', '{"resultUrls":[5]}', '{"resultUrls":"x"}', 7]


@pytest.mark.parametrize("result_json", BAD_RESULTS)
async def test_success_without_a_readable_result_is_an_error_not_a_crash(
    fake: FakeKie, client: KieClient, result_json: Any
) -> None:
    data = record(state="success", resultJson=result_json)
    fake.fail_next("recordInfo", 200, {"code": 200, "msg": "success", "data": data})
    with pytest.raises(ProviderError) as caught:
        await client.query("task_kling-2.6_1", kind=JobKind.MOTION)
    assert caught.value.category is ErrorCategory.TRANSIENT
    with pytest.raises(ValueError):
        client.parse_callback({"code": 200, "data": data})


async def test_a_result_json_already_decoded_is_accepted(client: KieClient) -> None:
    data = record(state="success", resultJson={"resultUrls": ["https://cdn.example/v.mp4"]})
    assert client.parse_callback({"code": 200, "data": data}).video_url == "https://cdn.example/v.mp4"


# ---- malformed bodies --------------------------------------------------------------------------------

MALFORMED_QUERY_BODIES: list[Any] = [
    None,
    [],
    "<html>bad gateway</html>",
    {"code": 200},
    {"code": 200, "data": None},
    {"code": 200, "data": []},
    {"code": 200, "data": "task"},
    {"code": 200, "data": {"taskId": ["x"], "state": "success", "resultJson": {"resultUrls": "x"}}},
]


@pytest.mark.parametrize("body", MALFORMED_QUERY_BODIES)
async def test_malformed_query_answers_raise_provider_error(
    fake: FakeKie, client: KieClient, body: Any
) -> None:
    fake.fail_next("recordInfo", 200, body, times=5)
    with pytest.raises(ProviderError):
        await client.query("task_1", kind=JobKind.MOTION)


async def test_a_record_with_odd_field_types_is_still_running_not_a_crash(
    fake: FakeKie, client: KieClient
) -> None:
    fake.fail_next("recordInfo", 200, {"code": "200", "data": {"taskId": 12345, "state": 5}})
    update = await client.query("12345", kind=JobKind.MOTION)
    assert (update.task_id, update.status) == ("12345", TaskStatus.PROCESSING)


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"code": 200},
        {"code": 200, "data": None},
        {"code": 200, "data": {}},
        {"code": 200, "data": {"taskId": ""}},
        {"code": 200, "data": {"taskId": None}},
        {"code": 200, "data": {"taskId": {"id": 1}}},
    ],
)
async def test_malformed_create_answers_raise_provider_error(
    fake: FakeKie, client: KieClient, body: Any
) -> None:
    fake.fail_next("createTask", 200, body)
    with pytest.raises(ProviderError):
        await client.submit(motion(), job_id="j", callback_url=None)


@pytest.mark.parametrize(
    "data", [None, {}, {"downloadUrl": 5}, {"downloadUrl": "ftp://x/y.png"}, {"fileUrl": ""}]
)
async def test_malformed_upload_answers_raise_provider_error(
    fake: FakeKie, client: KieClient, data: Any
) -> None:
    fake.fail_next("file-stream-upload", 200, {"success": True, "code": 200, "data": data})
    with pytest.raises(ProviderError):
        await client.submit(motion(), job_id="j", callback_url=None)
    assert fake.requests_to("createTask") == []


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "not json",
        b"{",
        {},
        {"data": None},
        {"data": []},
        {"data": {}},
        {"data": {"taskId": ""}},
        {"data": {"taskId": {"a": 1}, "state": "success"}},
        {"code": 200, "data": {"taskId": "t", "state": "success"}},
        {"code": 200, "data": {"taskId": "t"}},
    ],
)
def test_malformed_callbacks_raise_value_error(body: Any) -> None:
    with pytest.raises(ValueError):
        KieClient(API_KEY).parse_callback(body)


# ---- callbacks ---------------------------------------------------------------------------------------


async def test_a_signed_success_callback_is_parsed_and_verified(
    receiver: Receiver, make_client: ClientFactory
) -> None:
    fake = await started(FakeKie(API_KEY, hmac_key=HMAC_KEY))
    kie = make_client(fake, webhook_hmac_key=HMAC_KEY)
    try:
        task_id = await kie.submit(motion(), job_id="j", callback_url=receiver.url)
        task = fake.tasks[task_id]
        await fake.wait_for(lambda: task.callbacks_sent == 1)
    finally:
        await fake.stop()
    ((headers, body),) = receiver.calls
    assert kie.verify_callback(headers, body)
    update = kie.parse_callback(body)
    assert (update.task_id, update.status, update.video_url) == (
        task_id,
        TaskStatus.SUCCEEDED,
        task.result_url,
    )
    assert json.loads(body["data"]["param"]) == task.request
    assert fake.callback_responses == [200]


async def test_only_the_terminal_state_is_called_back(
    fake: FakeKie, receiver: Receiver, make_client: ClientFactory
) -> None:
    kie = make_client(fake)
    task_id = await kie.submit(motion(), job_id="j", callback_url=receiver.url)
    task = fake.tasks[task_id]
    await fake.wait_for(lambda: len(task.inputs) == 2)
    await fake.start_processing(task_id)
    assert task.callbacks_sent == 0 and receiver.calls == []
    await fake.fail(task_id, "Internal server error")
    await fake.wait_for(lambda: task.callbacks_sent == 1)
    ((headers, body),) = receiver.calls
    assert "X-Webhook-Signature" not in headers  # no key on the fake, no signature headers
    assert (body["code"], body["data"]["resultJson"]) == (501, None)
    update = kie.parse_callback(body)
    assert (update.status, update.error_category, update.error_message) == (
        TaskStatus.FAILED,
        ErrorCategory.FAILED,
        "Internal server error",
    )


def test_callback_task_id_may_come_as_task_id() -> None:
    body = {
        "code": 200,
        "data": {"task_id": "abc", "state": "success", "resultJson": '{"resultUrls":["https://x/v.mp4"]}'},
    }
    assert KieClient(API_KEY).parse_callback(body).task_id == "abc"
    assert KieClient(API_KEY).parse_callback(json.dumps(body).encode()).task_id == "abc"


def test_a_callback_without_state_is_read_from_its_code() -> None:
    kie = KieClient(API_KEY)
    failed = kie.parse_callback({"code": 501, "data": {"taskId": "t", "failMsg": "nope"}})
    assert (failed.status, failed.error_message) == (TaskStatus.FAILED, "nope")


# ---- signature verification --------------------------------------------------------------------------

VECTOR_TASK = "task_kling-2.6_1767693973938"
VECTOR_TS = 1767694000
VECTOR_SIGNATURE = "bkiIvf7QF/B/LceWDSkC1vgGvRG3GYiftwS7cljS1os="
FULLWIDTH_TS = "".join(chr(0xFF10 + int(digit)) for digit in str(VECTOR_TS))  # str.isdigit() says yes


def signed_client(*, max_age: float = 300.0) -> KieClient:
    return KieClient(
        API_KEY, webhook_hmac_key="test-hmac-key", clock=lambda: VECTOR_TS + 10, signature_max_age=max_age
    )


def vector_body(task_key: str = "taskId") -> dict[str, Any]:
    return {"code": 200, "data": {task_key: VECTOR_TASK, "state": "success"}}


def vector_headers(timestamp: int = VECTOR_TS, signature: str | None = None) -> dict[str, str]:
    signature = signature or sign("test-hmac-key", VECTOR_TASK, str(timestamp))
    return {"X-Webhook-Timestamp": str(timestamp), "X-Webhook-Signature": signature}


def test_the_documented_test_vector() -> None:
    assert sign_callback("test-hmac-key", VECTOR_TASK, str(VECTOR_TS)) == VECTOR_SIGNATURE
    assert sign("test-hmac-key", VECTOR_TASK, str(VECTOR_TS)) == VECTOR_SIGNATURE
    headers = {"X-Webhook-Timestamp": str(VECTOR_TS), "X-Webhook-Signature": VECTOR_SIGNATURE}
    assert signed_client().verify_callback(headers, vector_body(), now=VECTOR_TS)


@pytest.mark.parametrize(
    "headers",
    [
        vector_headers(),
        {k.lower(): v for k, v in vector_headers().items()},
        CIMultiDict(vector_headers()),
    ],
    ids=["canonical", "lowercase", "multidict"],
)
def test_a_valid_signature_is_accepted_whatever_the_header_case(headers: Any) -> None:
    assert signed_client().verify_callback(headers, vector_body())
    assert signed_client().verify_callback(headers, vector_body("task_id"))
    assert signed_client().verify_callback(headers, json.dumps(vector_body()).encode())


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (vector_headers(signature="bkiIvf7QF/B/LceWDSkC1vgGvRG3GYiftwS7cljS1oX="), vector_body()),
        (vector_headers(signature=sign("another-key", VECTOR_TASK, str(VECTOR_TS))), vector_body()),
        (vector_headers(), {"data": {"taskId": "task_someone_else", "state": "success"}}),
        ({"X-Webhook-Signature": VECTOR_SIGNATURE}, vector_body()),
        ({"X-Webhook-Timestamp": str(VECTOR_TS)}, vector_body()),
        ({"X-Webhook-Timestamp": "", "X-Webhook-Signature": VECTOR_SIGNATURE}, vector_body()),
        ({}, vector_body()),
        (vector_headers(), {"data": {}}),
        (vector_headers(), None),
        ({"X-Webhook-Timestamp": "1767694000.0", "X-Webhook-Signature": VECTOR_SIGNATURE}, vector_body()),
        (
            {"X-Webhook-Timestamp": FULLWIDTH_TS, "X-Webhook-Signature": VECTOR_SIGNATURE},
            vector_body(),
        ),
        ({"X-Webhook-Timestamp": str(VECTOR_TS), "X-Webhook-Signature": "ünicode"}, vector_body()),
    ],
    ids=[
        "wrong-signature",
        "other-key",
        "other-task",
        "no-timestamp",
        "no-signature",
        "empty-timestamp",
        "no-headers",
        "no-task-id",
        "no-body",
        "float-timestamp",
        "fullwidth-digits",
        "non-ascii-signature",
    ],
)
def test_bad_signatures_are_refused(headers: dict[str, str], body: Any) -> None:
    assert signed_client().verify_callback(headers, body, now=VECTOR_TS) is False


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [(0, True), (300, True), (-300, True), (301, False), (-301, False), (86_400, False)],
)
def test_timestamps_outside_the_window_are_refused_both_ways(offset: int, accepted: bool) -> None:
    headers = vector_headers()
    assert signed_client().verify_callback(headers, vector_body(), now=VECTOR_TS + offset) is accepted


def test_the_window_and_the_clock_are_configurable() -> None:
    strict = KieClient(
        API_KEY, webhook_hmac_key="test-hmac-key", clock=lambda: VECTOR_TS + 31, signature_max_age=30
    )
    assert strict.verify_callback(vector_headers(), vector_body()) is False
    assert strict.verify_callback(vector_headers(), vector_body(), now=VECTOR_TS + 30) is True


def test_without_a_key_every_callback_passes() -> None:
    assert KieClient(API_KEY).verify_callback({}, vector_body())
    assert KieClient(API_KEY, webhook_hmac_key="").verify_callback({}, None)


# ---- secrets -----------------------------------------------------------------------------------------


async def test_no_key_or_signed_url_reaches_reprs_errors_or_logs(
    fake: FakeKie, receiver: Receiver, caplog: pytest.LogCaptureFixture, make_client: ClientFactory
) -> None:
    caplog.set_level(logging.DEBUG)
    kie = make_client(fake, webhook_hmac_key=HMAC_KEY)
    task_id = await kie.submit(motion(), job_id="j", callback_url=receiver.url)
    await fake.wait_for(lambda: len(fake.tasks[task_id].inputs) == 2)
    await fake.succeed(task_id)
    update = await kie.query(task_id, kind=JobKind.MOTION)
    signed_url = update.video_url
    assert signed_url is not None and "Signature=" in signed_url

    leaky = f"bad key {API_KEY} or hmac {HMAC_KEY}; see {signed_url}"
    fake.fail_next_code("recordInfo", 422, leaky)
    with pytest.raises(ProviderError) as leaked:
        await kie.query(task_id, kind=JobKind.MOTION)
    fake.fail_next_code("recordInfo", 500, leaky, times=5)  # retried, so it is logged too
    with pytest.raises(ProviderError) as retried:
        await kie.query(task_id, kind=JobKind.MOTION)
    failed = kie.parse_callback({"code": 501, "data": record(state="fail", failMsg=leaky)})
    wrong = make_client(fake, api_key="kie-wrong-0123456789")
    with pytest.raises(ProviderError) as refused:
        await wrong.submit(motion(), job_id="j", callback_url=receiver.url)
    kie.verify_callback({"X-Webhook-Timestamp": "1", "X-Webhook-Signature": "x"}, {"data": {"taskId": "t"}})

    texts = [repr(kie), str(kie), repr(wrong), repr(update), str(update), repr(failed)]
    for error in (leaked.value, retried.value, refused.value):
        texts += [repr(error), str(error), error.message]
    texts += [failed.error_message or ""]
    texts += [record.getMessage() for record in caplog.records]
    secrets = [API_KEY, HMAC_KEY, "kie-wrong-0123456789", "Signature=", "tok-5ecret-callback-token"]
    for text in texts:
        for secret in secrets:
            assert secret not in text, (secret, text)
    assert "see http" in leaked.value.message  # the reason survives, only the secrets go


# ---- the fake itself ----------------------------------------------------------------------------------


GOOD_BODY: dict[str, Any] = {
    "model": "kling-2.6/motion-control",
    "input": {
        "input_urls": ["https://tempfile.example/a.png"],
        "video_urls": ["https://tempfile.example/b.mp4"],
        "character_orientation": "video",
        "mode": "720p",
    },
}


def with_input(**changes: Any) -> dict[str, Any]:
    return {**GOOD_BODY, "input": {**GOOD_BODY["input"], **changes}}


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (GOOD_BODY, None),
        (with_input(mode="std"), None),
        (with_input(mode="pro"), None),
        ({**GOOD_BODY, "model": "kling-3.0/motion-control"}, None),
        ({**GOOD_BODY, "model": "kling/v1"}, "model is not supported"),
        (
            with_input(input_urls=["https://x/a.png", "https://x/b.png"]),
            "input.input_urls must hold exactly 1 URL",
        ),
        (with_input(video_urls=[]), "input.video_urls must hold exactly 1 URL"),
        (with_input(input_urls=["iVBORw0KGgo="]), "input.input_urls must hold an uploaded file's URL"),
        (with_input(mode="4k"), "input.mode must be 720p or 1080p"),
        (with_input(character_orientation="left"), "input.character_orientation must be image or video"),
        (with_input(keep_original_sound="yes"), "input has unknown fields: keep_original_sound"),
        (with_input(prompt="x" * 2501), "input.prompt must be a string of at most 2500 characters"),
        ([], "Request body must be a JSON object"),
    ],
)
def test_fake_create_validation(body: Any, problem: str | None) -> None:
    assert validate_create(body) == problem


@pytest.mark.parametrize("http_200", [False, True])
async def test_fake_answers_errors_in_kies_envelope(fake: FakeKie, http_200: bool) -> None:
    fake.http_200_errors = http_200
    async with aiohttp.ClientSession(base_url=fake.base_url) as session:
        async with session.post("/api/v1/jobs/createTask", json=GOOD_BODY) as resp:
            assert (resp.status, await resp.json()) == (
                200 if http_200 else 401,
                {"code": 401, "msg": NO_ACCESS, "data": None},
            )
        auth = {"Authorization": f"Bearer {API_KEY}"}
        async with session.post("/api/v1/jobs/createTask", json=with_input(mode="8k"), headers=auth) as resp:
            assert resp.status == (200 if http_200 else 422)
            assert (await resp.json())["code"] == 422
    assert fake.tasks == {}


async def test_fake_base64_and_url_uploads_serve_the_bytes_back(fake: FakeKie) -> None:
    import base64

    auth = {"Authorization": f"Bearer {API_KEY}"}
    async with aiohttp.ClientSession() as session:
        payload = {
            "base64Data": "data:image/png;base64," + base64.b64encode(IMAGE).decode(),
            "uploadPath": "imgs",
        }
        async with session.post(
            f"{fake.base_url}/api/file-base64-upload", json=payload, headers=auth
        ) as resp:
            first = (await resp.json())["data"]
        assert first["downloadUrl"] == first["fileUrl"] and first["mimeType"] == "image/png"
        payload = {"fileUrl": first["downloadUrl"], "uploadPath": "copies", "fileName": "copy.png"}
        async with session.post(f"{fake.base_url}/api/file-url-upload", json=payload, headers=auth) as resp:
            second = (await resp.json())["data"]
        async with session.get(second["downloadUrl"]) as resp:
            assert await resp.read() == IMAGE
        bad = {"base64Data": "@@@", "uploadPath": "imgs"}
        async with session.post(f"{fake.base_url}/api/file-base64-upload", json=bad, headers=auth) as resp:
            assert (resp.status, (await resp.json())["success"]) == (400, False)
    assert [u.method for u in fake.upload_log] == ["base64", "url"]
    assert second["fileSize"] == len(IMAGE)


async def test_client_close_leaves_a_borrowed_session_open(fake: FakeKie, make_client: ClientFactory) -> None:
    async with aiohttp.ClientSession() as session:
        kie = make_client(fake, session=session)
        await submitted(fake, kie)
        await kie.close()
        assert not session.closed
