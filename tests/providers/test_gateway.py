"""Contract tests of the gateway client against the loopback EZmodel/new-api fake (providers.md §3)."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.models import (
    ErrorCategory,
    ExtendRequest,
    ImageToVideoRequest,
    JobKind,
    MotionRequest,
    TaskStatus,
    TextToVideoRequest,
)
from bot.providers.base import ProviderError
from bot.providers.gateway import GatewayClient, parse_generation
from tests.fakes.providers.gateway import GatewayFake
from tests.providers import NO_WAIT, CallbackSink, InputServer, assert_no_secrets, inline_image, log_texts

KEY = "sk-gateway-test-key"


@pytest.fixture
async def inputs() -> AsyncIterator[InputServer]:
    async with InputServer() as server:
        yield server


@pytest.fixture
async def sink() -> AsyncIterator[CallbackSink]:
    async with CallbackSink() as server:
        yield server


@pytest.fixture
async def fake() -> AsyncIterator[GatewayFake]:
    server = GatewayFake(api_key=KEY, auto=False)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def client(fake: GatewayFake) -> AsyncIterator[GatewayClient]:
    api = GatewayClient(KEY, base_url=fake.base_url, http=NO_WAIT)
    yield api
    await api.close()


def motion(inputs: InputServer, **options: Any) -> MotionRequest:
    return MotionRequest(image=inputs.image(), video=inputs.video(), **options)


# ---- submits ------------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", ["documented", "observed", "openai"])
async def test_motion_submit_in_every_profile(
    client: GatewayClient, fake: GatewayFake, inputs: InputServer, sink: CallbackSink, profile: str
) -> None:
    fake.profile = profile
    request = motion(inputs, prompt="dance")
    task_id = await client.submit(request, job_id="job-1", callback_url=sink.url)
    assert task_id in fake.tasks
    sent = fake.requests_to("/kling/v1/videos/motion-control")[0]
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert sent.body == {
        "image_url": request.image.url,
        "video_url": request.video.url,
        "character_orientation": "image",
        "mode": "std",
        "keep_original_sound": "yes",
        "prompt": "dance",
        "model_name": "kling-v2-6",  # the gateway routes by model
        "callback_url": sink.url,
        "external_task_id": "job-1",
    }
    assert fake.tasks[task_id].inputs == {
        request.image.url: request.image.data,
        request.video.url: request.video.data,
    }


async def test_video_bodies(client: GatewayClient, fake: GatewayFake, inputs: InputServer) -> None:
    await client.submit(TextToVideoRequest(prompt="a fox", model="kling-v2-6"), job_id="a", callback_url=None)
    start = inline_image()
    await client.submit(ImageToVideoRequest(image=start), job_id="b", callback_url=None)
    await client.submit(ExtendRequest(video_id="vid-1", prompt="more"), job_id="c", callback_url=None)
    bodies = [r.body for r in fake.requests]
    assert [r.path for r in fake.requests] == [
        "/kling/v1/videos/text2video",
        "/kling/v1/videos/image2video",
        "/kling/v1/videos/video-extend",
    ]
    assert bodies[0] == {
        "prompt": "a fox",
        "mode": "std",
        "aspect_ratio": "16:9",
        "duration": "5",
        "model_name": "kling-v2-6",
        "external_task_id": "a",
    }
    assert bodies[1] == {
        "image": base64.b64encode(start.data).decode(),
        "mode": "std",
        "duration": "5",
        "external_task_id": "b",
        "model_name": "kling-v1",
    }
    assert bodies[2] == {"video_id": "vid-1", "prompt": "more", "external_task_id": "c"}  # no model: extend


@pytest.mark.parametrize(
    ("body", "task_id"),
    [
        ({"id": "111", "object": "video"}, "111"),
        ({"task_id": "222", "id": "222"}, "222"),
        ({"code": 0, "message": "SUCCEED", "data": {"task_id": "333", "task_status": "submitted"}}, "333"),
        ({"code": "success", "data": {"task_id": 444}}, "444"),
    ],
)
async def test_submit_reads_any_id_field(
    client: GatewayClient, fake: GatewayFake, body: dict[str, Any], task_id: str
) -> None:
    fake.fail_next("/kling/v1/videos/", 200, body)
    assert await client.submit(TextToVideoRequest(prompt="p"), job_id="j", callback_url=None) == task_id


@pytest.mark.parametrize("body", [{"object": "video", "status": ""}, {"data": None}, [], "accepted"])
async def test_submit_without_any_id(client: GatewayClient, fake: GatewayFake, body: Any) -> None:
    fake.fail_next("/kling/v1/videos/", 200, body)
    with pytest.raises(ProviderError) as caught:
        await client.submit(TextToVideoRequest(prompt="p"), job_id="j", callback_url=None)
    assert caught.value.category is ErrorCategory.TRANSIENT


# ---- polling, in the three shapes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "wrapped", "words"),
    [
        ("documented", False, ("submitted", "processing", "succeed", "failed")),
        ("observed", False, ("QUEUED", "IN_PROGRESS", "SUCCESS", "FAILURE")),
        ("openai", False, ("queued", "in_progress", "completed", "failed")),
        ("openai", True, ("queued", "processing", "succeeded", "failed")),
    ],
)
async def test_query_lifecycle_in_every_shape(
    client: GatewayClient,
    fake: GatewayFake,
    inputs: InputServer,
    profile: str,
    wrapped: bool,
    words: tuple[str, str, str, str],
) -> None:
    fake.profile, fake.openai_wrapped = profile, wrapped
    ok = await client.submit(motion(inputs), job_id="ok", callback_url=None)
    bad = await client.submit(motion(inputs), job_id="bad", callback_url=None)

    update = await client.query(ok, kind=JobKind.MOTION)
    assert (update.task_id, update.status, update.raw_status) == (ok, TaskStatus.QUEUED, words[0])
    await fake.start_processing(ok)
    update = await client.query(ok, kind=JobKind.MOTION)
    assert (update.status, update.raw_status, update.video_url) == (TaskStatus.PROCESSING, words[1], None)
    await fake.succeed(ok, duration=5.1)
    update = await client.query(ok, kind=JobKind.MOTION)
    assert (update.status, update.raw_status) == (TaskStatus.SUCCEEDED, words[2])
    assert update.video_url == fake.tasks[ok].result_url

    await fake.fail(bad, "Failure to pass the risk control system")
    update = await client.query(bad, kind=JobKind.MOTION)
    assert (update.status, update.raw_status) == (TaskStatus.FAILED, words[3])
    assert update.error_category is ErrorCategory.CONTENT_POLICY
    assert update.error_message == "Failure to pass the risk control system"
    assert fake.requests[-1].path == f"/v1/video/generations/{bad}"


async def test_observed_shape_reads_the_nested_kling_result(
    client: GatewayClient, fake: GatewayFake, inputs: InputServer
) -> None:
    task_id = await client.submit(motion(inputs), job_id="j", callback_url=None)
    await fake.succeed(task_id, duration=7.5)
    update = await client.query(task_id, kind=JobKind.MOTION)
    assert update.video_id == fake.tasks[task_id].video_id and update.duration == 7.5


def test_url_only_in_fail_reason() -> None:
    body = {
        "code": "success",
        "data": {"task_id": "9", "status": "SUCCESS", "fail_reason": "https://cdn/v.mp4?s=1"},
    }
    update = parse_generation(body, "9")
    assert (update.status, update.video_url) == (TaskStatus.SUCCEEDED, "https://cdn/v.mp4?s=1")


def test_failure_reason_is_not_a_url() -> None:
    body = {
        "code": "success",
        "data": {"task_id": "9", "status": "FAILURE", "fail_reason": "upstream refused"},
    }
    update = parse_generation(body, "9")
    assert (update.status, update.video_url, update.error_message) == (
        TaskStatus.FAILED,
        None,
        "upstream refused",
    )


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("NOT_START", TaskStatus.QUEUED),
        ("SUBMITTED", TaskStatus.QUEUED),
        ("UNKNOWN", TaskStatus.PROCESSING),
        ("", TaskStatus.PROCESSING),
        ("warming_up", TaskStatus.PROCESSING),
    ],
)
def test_unknown_and_pending_statuses(status: str, expected: TaskStatus) -> None:
    update = parse_generation({"code": "success", "data": {"task_id": "9", "status": status}}, "9")
    assert (update.status, update.raw_status) == (expected, status)


def test_flat_openai_video_object() -> None:
    body = {"id": "9", "object": "video", "status": "completed", "metadata": {"url": "https://cdn/v.mp4"}}
    update = parse_generation(body, "9")
    assert (update.task_id, update.status, update.video_url) == (
        "9",
        TaskStatus.SUCCEEDED,
        "https://cdn/v.mp4",
    )
    failed = parse_generation({"task_id": "9", "status": "failed", "error": "quota"}, "9")
    assert (failed.status, failed.error_message) == (TaskStatus.FAILED, "quota")


async def test_unknown_status_from_the_api(client: GatewayClient, fake: GatewayFake) -> None:
    fake.fail_next(
        "/v1/video/generations/", 200, {"code": "success", "data": {"task_id": "7", "status": "RETRYING"}}
    )
    update = await client.query("7", kind=JobKind.MOTION)
    assert (update.status, update.raw_status) == (TaskStatus.PROCESSING, "RETRYING")


@pytest.mark.parametrize(
    "body",
    [{"code": "success", "data": {"task_id": "7"}}, {"code": 0, "data": []}, {"foo": 1}, [], "ok"],
)
async def test_malformed_query_bodies(client: GatewayClient, fake: GatewayFake, body: Any) -> None:
    fake.fail_next("/v1/video/generations/", 200, body, times=NO_WAIT.retry.attempts)
    with pytest.raises(ProviderError) as caught:
        await client.query("7", kind=JobKind.MOTION)
    assert caught.value.category is ErrorCategory.TRANSIENT


@pytest.mark.parametrize(
    "raw",
    [b"[" * 100_000 + b"]" * 100_000, b'{"code": "success", "data": {"task_id": "7", "progress": NaN}}'],
    ids=["100k-nested", "nan"],
)
async def test_hostile_query_answers_are_transient(
    client: GatewayClient, fake: GatewayFake, raw: bytes
) -> None:
    fake.fail_next("/v1/video/generations/", 200, raw, times=NO_WAIT.retry.attempts)
    with pytest.raises(ProviderError) as caught:
        await client.query("7", kind=JobKind.MOTION)
    assert caught.value.category is ErrorCategory.TRANSIENT


# ---- callbacks (from Kling itself) --------------------------------------------------------------


async def test_kling_callbacks_are_parsed(
    client: GatewayClient, fake: GatewayFake, inputs: InputServer, sink: CallbackSink
) -> None:
    fake.auto = True
    fake.callback_on_every_status = True
    task_id = await client.submit(motion(inputs), job_id="j", callback_url=sink.url)
    await fake.wait_for(lambda: len(sink.bodies) == 2)
    processing, done = (client.parse_callback(body) for body in sink.bodies)
    assert (processing.task_id, processing.status) == (task_id, TaskStatus.PROCESSING)
    assert (done.status, done.video_url) == (TaskStatus.SUCCEEDED, fake.tasks[task_id].result_url)
    wrapped = client.parse_callback({"code": 0, "message": "SUCCEED", "data": sink.bodies[1]})
    assert wrapped == done


@pytest.mark.parametrize("body", [None, "x", {}, {"data": {"status": "SUCCESS"}}])
def test_unreadable_callbacks(client: GatewayClient, body: Any) -> None:
    with pytest.raises(ValueError):
        client.parse_callback(body)


# ---- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "category"),
    [
        (
            500,
            {"code": "build_request_failed", "message": "image_url is required", "data": None},
            "invalid_request",
        ),
        (
            400,
            {"code": "task_failed", "message": "duration must be 5 or 10", "data": None},
            "invalid_request",
        ),
        (400, {"code": "task_failed", "message": "content security policy", "data": None}, "content_policy"),
        (
            400,
            {"code": "task_failed", "message": "resource pack exhausted", "data": None},
            "insufficient_credits",
        ),
        (400, {"code": "task_not_exist", "message": "task_not_exist", "data": None}, "invalid_request"),
        (403, {"code": "quota_not_enough", "message": "quota", "data": None}, "insufficient_credits"),
        (400, {"code": "invalid_api_platform", "message": "platform", "data": None}, "auth"),
        (502, {"code": "fail_to_fetch_task", "message": "upstream", "data": None}, "transient"),
        (429, {"code": "task_failed", "message": "上游负载已饱和", "data": None}, "rate_limited"),
        (401, {"error": {"message": "无效的令牌", "type": "new_api_error", "code": ""}}, "auth"),
        (
            403,
            {"error": {"message": "quota", "type": "new_api_error", "code": "insufficient_user_quota"}},
            "insufficient_credits",
        ),
        (
            503,
            {"error": {"message": "no channel", "type": "new_api_error", "code": "model_not_found"}},
            "transient",
        ),
        (200, {"code": "task_failed", "message": "refused", "data": None}, "invalid_request"),
        (400, {"code": 1301, "message": "content security policy"}, "content_policy"),
        (429, {"code": 1102, "message": "resource pack depleted"}, "insufficient_credits"),
    ],
)
async def test_error_table(
    client: GatewayClient, fake: GatewayFake, status: int, body: dict[str, Any], category: str
) -> None:
    fake.fail_next("/kling/v1/videos/", status, body, times=10)
    with pytest.raises(ProviderError) as caught:
        await client.submit(TextToVideoRequest(prompt="p"), job_id="j", callback_url=None)
    assert caught.value.category is ErrorCategory(category) and caught.value.http_status == status
    expected_attempts = NO_WAIT.retry.attempts if caught.value.category is ErrorCategory.RATE_LIMITED else 1
    assert len(fake.requests) == expected_attempts


async def test_real_gateway_refusals(client: GatewayClient, fake: GatewayFake) -> None:
    # Kling's validation, forwarded as task_failed.
    with pytest.raises(ProviderError) as caught:
        await client.submit(TextToVideoRequest(prompt="p", duration=7), job_id="j", callback_url=None)
    assert (caught.value.category, caught.value.code) == (ErrorCategory.INVALID_REQUEST, "task_failed")
    assert "duration" in caught.value.message
    # An unknown task.
    with pytest.raises(ProviderError) as caught:
        await client.query("404404", kind=JobKind.MOTION)
    assert (caught.value.category, caught.value.code) == (ErrorCategory.INVALID_REQUEST, "task_not_exist")
    # A wrong key.
    wrong = GatewayClient("sk-wrong", base_url=fake.base_url, http=NO_WAIT)
    with pytest.raises(ProviderError) as caught:
        await wrong.query("1", kind=JobKind.MOTION)
    await wrong.close()
    assert caught.value.category is ErrorCategory.AUTH


async def test_the_fake_refuses_before_kling_with_http_500(fake: GatewayFake) -> None:
    body = {
        "model_name": "kling-v2-6",
        "video_url": "https://x/v.mp4",
        "character_orientation": "image",
        "mode": "std",
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{fake.base_url}/kling/v1/videos/motion-control",
            json=body,
            headers={"Authorization": f"Bearer {KEY}"},
        ) as resp,
    ):
        assert resp.status == 500
        assert await resp.json() == {
            "code": "build_request_failed",
            "message": "image_url is required for motion-control",
            "data": None,
        }


async def test_queries_retry_transient_errors(client: GatewayClient, fake: GatewayFake) -> None:
    task_id = await client.submit(TextToVideoRequest(prompt="p"), job_id="j", callback_url=None)
    fake.fail_next(
        "/v1/video/generations/", 502, {"code": "fail_to_fetch_task", "message": "x", "data": None}
    )
    assert (await client.query(task_id, kind=JobKind.TEXT2VIDEO)).status is TaskStatus.QUEUED
    assert len(fake.requests_to("/v1/video/generations/")) == 2


async def test_there_is_no_balance_endpoint(client: GatewayClient, fake: GatewayFake) -> None:
    assert await client.account_balance() is None
    assert fake.requests == []


# ---- secrets ------------------------------------------------------------------------------------


async def test_no_key_or_signed_url_leaks(
    client: GatewayClient,
    fake: GatewayFake,
    inputs: InputServer,
    sink: CallbackSink,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake.auto = True
    with caplog.at_level(logging.DEBUG):
        request = motion(inputs)
        task_id = await client.submit(request, job_id="j", callback_url=sink.url)
        await fake.wait_for(lambda: len(sink.bodies) == 1)
        update = await client.query(task_id, kind=JobKind.MOTION)
        fake.fail_next(
            "/v1/video/generations/",
            401,
            {"error": {"message": f"token {KEY} refused for {request.image.url}", "type": "new_api_error"}},
        )
        with pytest.raises(ProviderError) as caught:
            await client.query(task_id, kind=JobKind.MOTION)
    signature = fake.tasks[task_id].result_url.split("?", 1)[1]  # type: ignore[union-attr]
    texts = [repr(client), str(client), repr(update), repr(caught.value), str(caught.value)]
    texts += log_texts(caplog.records)
    assert_no_secrets(texts, [KEY, inputs.signature, signature])
    assert caught.value.message == "token *** refused for <url>"
