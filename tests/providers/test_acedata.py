"""Contract tests of the AceData client against the loopback AceData fake (providers.md §1)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.models import (
    CameraControl,
    ErrorCategory,
    ExtendRequest,
    ImageToVideoRequest,
    JobKind,
    MotionRequest,
    TaskStatus,
    TextToVideoRequest,
)
from bot.providers.acedata import DEFAULT_EXTEND_PROMPT, AceDataClient, parse_result, parse_task_record
from bot.providers.base import ProviderError
from tests.fakes.providers.acedata import AceDataFake
from tests.providers import NO_WAIT, CallbackSink, InputServer, assert_no_secrets, inline_image, log_texts

KEY = "acedata-test-token"


@pytest.fixture
async def inputs() -> AsyncIterator[InputServer]:
    async with InputServer() as server:
        yield server


@pytest.fixture
async def sink() -> AsyncIterator[CallbackSink]:
    async with CallbackSink() as server:
        yield server


@pytest.fixture
async def fake() -> AsyncIterator[AceDataFake]:
    server = AceDataFake(api_key=KEY, auto=False)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def client(fake: AceDataFake) -> AsyncIterator[AceDataClient]:
    api = AceDataClient(KEY, base_url=fake.base_url, http=NO_WAIT)
    yield api
    await api.close()


def motion(inputs: InputServer, **options: Any) -> MotionRequest:
    return MotionRequest(image=inputs.image(), video=inputs.video(), **options)


# ---- submits ------------------------------------------------------------------------------------


async def test_motion_submit_sends_the_documented_body(
    client: AceDataClient, fake: AceDataFake, inputs: InputServer, sink: CallbackSink
) -> None:
    request = motion(inputs, prompt="a knight dancing", mode="pro", orientation="video", keep_sound=False)
    task_id = await client.submit(request, job_id="job-1", callback_url=sink.url)

    sent = fake.requests_to("/kling/motion")[0]
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert sent.body == {
        "image_url": request.image.url,
        "video_url": request.video.url,
        "character_orientation": "video",
        "mode": "pro",
        "keep_original_sound": "no",
        "prompt": "a knight dancing",
        "callback_url": sink.url,
    }
    task = fake.tasks[task_id]
    assert task.inputs == {request.image.url: request.image.data, request.video.url: request.video.data}


async def test_without_callback_url_it_asks_for_async_and_never_blocks(
    client: AceDataClient, fake: AceDataFake, inputs: InputServer
) -> None:
    # auto=False: a synchronous call would hang until the fake's timeout.
    request = motion(inputs, model="kling-v3")
    task_id = await client.submit(request, job_id="job-1", callback_url=None)
    body = fake.requests_to("/kling/motion")[0].body
    assert body["async"] is True and "callback_url" not in body
    assert body["model_name"] == "kling-v3" and body["keep_original_sound"] == "yes"
    assert (await client.query(task_id, kind=JobKind.MOTION)).status is TaskStatus.QUEUED


async def test_text2video_body(client: AceDataClient, fake: AceDataFake, sink: CallbackSink) -> None:
    request = TextToVideoRequest(
        prompt="a red fox in snow",
        model="kling-v1",
        mode="std",
        aspect_ratio="9:16",
        duration=5,  # kling-v1 moves the camera in 5 s clips only (§1.3.1)
        negative_prompt="blur",
        cfg_scale=0.6,
        camera=CameraControl("simple", {"zoom": 5.0}),
    )
    await client.submit(request, job_id="job-2", callback_url=sink.url)
    assert fake.requests_to("/kling/videos")[0].body == {
        "action": "text2video",
        "prompt": "a red fox in snow",
        "model": "kling-v1",
        "mode": "std",
        "aspect_ratio": "9:16",
        "duration": 5,
        "negative_prompt": "blur",
        "cfg_scale": 0.6,
        "camera_control": {
            "type": "simple",
            "config": {"horizontal": 0.0, "vertical": 0.0, "pan": 0.0, "tilt": 0.0, "roll": 0.0, "zoom": 5.0},
        },
        "callback_url": sink.url,
    }


async def test_camera_presets_carry_no_config(client: AceDataClient, fake: AceDataFake) -> None:
    await client.submit(
        TextToVideoRequest(prompt="p", camera=CameraControl("down_back")), job_id="j", callback_url=None
    )
    assert fake.requests_to("/kling/videos")[0].body["camera_control"] == {"type": "down_back"}


async def test_image2video_body_and_inputs(
    client: AceDataClient, fake: AceDataFake, inputs: InputServer, sink: CallbackSink
) -> None:
    start, end = inputs.image(), inputs.image(400, 300)
    request = ImageToVideoRequest(image=start, end_image=end, prompt="turns around", mode="pro")
    task_id = await client.submit(request, job_id="job-3", callback_url=sink.url)
    assert fake.requests_to("/kling/videos")[0].body == {
        "action": "image2video",
        "start_image_url": start.url,
        "end_image_url": end.url,
        "prompt": "turns around",
        "mode": "pro",
        "duration": 5,
        "callback_url": sink.url,
    }
    assert fake.tasks[task_id].inputs == {start.url: start.data, end.url: end.data}


async def test_extend_body(client: AceDataClient, fake: AceDataFake) -> None:
    await client.submit(
        ExtendRequest(video_id="842566592663294013", prompt="keeps walking"), job_id="j", callback_url=None
    )
    assert fake.requests_to("/kling/videos")[0].body == {
        "action": "extend",
        "video_id": "842566592663294013",
        "prompt": "keeps walking",
        "async": True,
    }


async def test_inputs_without_a_url_are_refused_before_any_call(
    client: AceDataClient, fake: AceDataFake
) -> None:
    with pytest.raises(ProviderError) as caught:
        await client.submit(ImageToVideoRequest(image=inline_image()), job_id="j", callback_url=None)
    assert caught.value.category is ErrorCategory.INVALID_REQUEST
    assert "PUBLIC_BASE_URL" in caught.value.message
    assert fake.requests == []


async def test_the_fake_validates_like_the_api(client: AceDataClient) -> None:
    with pytest.raises(ProviderError) as caught:
        await client.submit(TextToVideoRequest(prompt="p", model="kling-v9"), job_id="j", callback_url=None)
    assert caught.value.category is ErrorCategory.INVALID_REQUEST
    assert caught.value.message == "model is invalid."


async def test_an_extend_without_a_prompt_gets_the_default_one(
    client: AceDataClient, fake: AceDataFake
) -> None:
    # AceData refuses an extend without a prompt (§1.3 "must fill"); members may leave it empty.
    await client.submit(ExtendRequest(video_id="v1"), job_id="j", callback_url=None)
    [sent] = fake.requests_to("/kling/videos", "POST")
    assert sent.body["prompt"] == DEFAULT_EXTEND_PROMPT


async def test_an_input_the_provider_cannot_fetch_is_a_transient_error(
    client: AceDataClient, inputs: InputServer
) -> None:
    request = motion(inputs)
    inputs.signature = "rotated"  # the signed URL has expired
    with pytest.raises(ProviderError) as caught:
        await client.submit(request, job_id="j", callback_url=None)
    assert caught.value.category is ErrorCategory.TRANSIENT and caught.value.code == "api_error"


# ---- polling ------------------------------------------------------------------------------------


async def test_query_follows_a_task_to_success(
    client: AceDataClient, fake: AceDataFake, inputs: InputServer
) -> None:
    task_id = await client.submit(motion(inputs), job_id="j", callback_url=None)
    assert (await client.query(task_id, kind=JobKind.MOTION)).status is TaskStatus.QUEUED

    await fake.start_processing(task_id)
    update = await client.query(task_id, kind=JobKind.MOTION)
    assert update.status is TaskStatus.PROCESSING and update.video_url is None
    record = fake.record(fake.tasks[task_id])
    assert "started_at" in record and not {"finished_at", "elapsed", "response"} & record.keys()

    await fake.succeed(task_id, duration=5.066)
    update = await client.query(task_id, kind=JobKind.MOTION)
    task = fake.tasks[task_id]
    assert update.status is TaskStatus.SUCCEEDED and update.raw_status == "succeed"
    assert update.video_url == task.result_url and update.video_id == task.video_id
    assert update.duration == 5.066
    assert fake.requests_to("/kling/tasks")[0].body == {"id": task_id, "action": "retrieve"}


async def test_success_true_alone_is_not_done(
    client: AceDataClient, fake: AceDataFake, inputs: InputServer
) -> None:
    fake.pending_response = "placeholder"
    task_id = await client.submit(motion(inputs), job_id="j", callback_url=None)
    await fake.start_processing(task_id)
    update = await client.query(task_id, kind=JobKind.MOTION)
    assert update.status is TaskStatus.PROCESSING and update.video_url is None


@pytest.mark.parametrize("shape", ["flat", "nested", "array"])
async def test_every_result_shape_is_read(
    client: AceDataClient, fake: AceDataFake, inputs: InputServer, shape: str
) -> None:
    fake.result_shape = shape
    task_id = await client.submit(motion(inputs), job_id="j", callback_url=None)
    await fake.succeed(task_id)
    update = await client.query(task_id, kind=JobKind.MOTION)
    assert update.status is TaskStatus.SUCCEEDED
    assert update.video_url == fake.tasks[task_id].result_url and update.duration == 5.0


@pytest.mark.parametrize(
    ("reason", "category"),
    [
        ("content moderation failed", ErrorCategory.CONTENT_POLICY),
        ("upstream generation error", ErrorCategory.FAILED),
    ],
)
async def test_failed_tasks_carry_the_reason(
    client: AceDataClient, fake: AceDataFake, inputs: InputServer, reason: str, category: ErrorCategory
) -> None:
    task_id = await client.submit(motion(inputs), job_id="j", callback_url=None)
    await fake.fail(task_id, reason)
    update = await client.query(task_id, kind=JobKind.MOTION)
    assert update.status is TaskStatus.FAILED
    assert update.error_category is category and update.error_message == reason


async def test_batch_query(client: AceDataClient, fake: AceDataFake, inputs: InputServer) -> None:
    ids = [await client.submit(motion(inputs), job_id=f"j{n}", callback_url=None) for n in range(3)]
    await fake.start_processing(ids[1])
    await fake.succeed(ids[2])
    updates = await client.query_many([*ids, "00000000-0000-0000-0000-000000000000"], kind=JobKind.MOTION)
    assert client.supports_batch_query
    assert {k: u.status for k, u in updates.items()} == {
        ids[0]: TaskStatus.QUEUED,
        ids[1]: TaskStatus.PROCESSING,
        ids[2]: TaskStatus.SUCCEEDED,
    }
    batch = fake.requests_to("/kling/tasks")
    assert len(batch) == 1 and batch[0].body["action"] == "retrieve_batch"


async def test_auto_mode_and_wait_for(client: AceDataClient, fake: AceDataFake, inputs: InputServer) -> None:
    fake.auto = True
    task_id = await client.submit(motion(inputs), job_id="j", callback_url=None)
    await fake.wait_for(lambda: fake.tasks[task_id].state == "succeeded")
    assert (await client.query(task_id, kind=JobKind.MOTION)).status is TaskStatus.SUCCEEDED


async def test_the_fake_offers_the_synchronous_mode(fake: AceDataFake, inputs: InputServer) -> None:
    fake.auto = True
    request = motion(inputs)
    body = {
        "image_url": request.image.url,
        "video_url": request.video.url,
        "character_orientation": "image",
        "mode": "std",
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{fake.base_url}/kling/motion", json=body, headers={"Authorization": f"Bearer {KEY}"}
        ) as resp,
    ):
        result = await resp.json()
    assert result["success"] is True and result["state"] == "succeed" and result["video_url"]


# ---- callbacks ----------------------------------------------------------------------------------


async def test_callbacks_are_parsed(
    client: AceDataClient, fake: AceDataFake, inputs: InputServer, sink: CallbackSink
) -> None:
    fake.auto = True
    task_id = await client.submit(motion(inputs), job_id="j", callback_url=sink.url)
    await fake.wait_for(lambda: len(sink.bodies) == 1)
    update = client.parse_callback(sink.bodies[0])
    assert update.task_id == task_id and update.status is TaskStatus.SUCCEEDED
    assert update.video_url == fake.tasks[task_id].result_url

    fake.auto_fail_message = "content moderation failed"
    failing = await client.submit(motion(inputs), job_id="j2", callback_url=sink.url)
    await fake.wait_for(lambda: len(sink.bodies) == 2)
    update = client.parse_callback(sink.bodies[1])
    assert update.task_id == failing and update.status is TaskStatus.FAILED
    assert update.error_category is ErrorCategory.CONTENT_POLICY


def test_callback_variants(client: AceDataClient) -> None:
    nested = {"success": True, "task_id": "t1", "data": {"video_url": "https://c/v.mp4", "state": "succeed"}}
    assert client.parse_callback(nested).status is TaskStatus.SUCCEEDED
    record = {
        "id": "t2",
        "response": {"success": False, "error": {"code": "used_up", "message": "no balance"}},
    }
    update = client.parse_callback(record)
    assert update.task_id == "t2" and update.error_category is ErrorCategory.INSUFFICIENT_CREDITS
    pending = {"success": True, "task_id": "t3"}
    assert client.parse_callback(pending).status is TaskStatus.PROCESSING


@pytest.mark.parametrize("body", [None, [], "text", {}, {"success": True}, {"task_id": {"x": 1}}])
def test_unreadable_callbacks_raise_value_error(client: AceDataClient, body: Any) -> None:
    with pytest.raises(ValueError):
        client.parse_callback(body)


# ---- statuses the docs do not list --------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "status"),
    [
        ({"state": "rendering", "success": True}, TaskStatus.PROCESSING),
        ({"state": "pending"}, TaskStatus.QUEUED),
        ({"state": "succeeded", "video_url": "https://c/v.mp4"}, TaskStatus.SUCCEEDED),
        ({"state": "completed", "data": [{"video_url": "https://c/v.mp4"}]}, TaskStatus.SUCCEEDED),
        ({"state": "cancelled"}, TaskStatus.FAILED),
        ({"success": False}, TaskStatus.FAILED),
        ({"data": []}, TaskStatus.PROCESSING),
        ({"success": True, "error": None, "state": "processing"}, TaskStatus.PROCESSING),
        ({"error": "quota exceeded"}, TaskStatus.FAILED),
        ({"state": "succeed"}, TaskStatus.FAILED),  # "done" but no video to deliver
        ({"state": "processing", "video_url": "https://c/preview.mp4"}, TaskStatus.PROCESSING),
        ({"success": True, "video_url": "https://c/v.mp4"}, TaskStatus.SUCCEEDED),
    ],
)
def test_state_vocabulary(response: dict[str, Any], status: TaskStatus) -> None:
    update = parse_result(response, "t")
    assert update.status is status
    if "state" in response:
        assert update.raw_status == response["state"]


def test_record_level_state_and_started_at() -> None:
    assert parse_task_record({"id": "t", "state": "failed"}).status is TaskStatus.FAILED
    assert parse_task_record({"id": "t", "started_at": 1.0}).status is TaskStatus.PROCESSING
    assert parse_task_record({"id": "t"}).status is TaskStatus.QUEUED


async def test_unknown_state_from_the_api_is_still_running(client: AceDataClient, fake: AceDataFake) -> None:
    fake.fail_next("/kling/tasks", 200, {"id": "t9", "response": {"success": True, "state": "upscaling"}})
    update = await client.query("t9", kind=JobKind.MOTION)
    assert update.status is TaskStatus.PROCESSING and update.raw_status == "upscaling"


# ---- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "category"),
    [
        (400, "bad_request", ErrorCategory.INVALID_REQUEST),
        (400, "token_mismatched", ErrorCategory.AUTH),
        (400, "api_not_implemented", ErrorCategory.AUTH),
        (400, "disabled", ErrorCategory.AUTH),
        (400, "no_token", ErrorCategory.AUTH),
        (401, "invalid_token", ErrorCategory.AUTH),
        (401, "token_expired", ErrorCategory.AUTH),
        (401, "token_mismatched", ErrorCategory.AUTH),
        (403, "used_up", ErrorCategory.INSUFFICIENT_CREDITS),
        (403, "forbidden", ErrorCategory.CONTENT_POLICY),
        (403, None, ErrorCategory.CONTENT_POLICY),
        (404, "no_api", ErrorCategory.AUTH),
        (429, "too_many_requests", ErrorCategory.PROVIDER_FULL),  # on a submit: no slot free
        (500, "api_error", ErrorCategory.TRANSIENT),
        (504, None, ErrorCategory.TRANSIENT),
    ],
)
async def test_error_table(
    client: AceDataClient,
    fake: AceDataFake,
    inputs: InputServer,
    status: int,
    code: str | None,
    category: ErrorCategory,
) -> None:
    body: dict[str, Any] = {"error": {"code": code, "message": "nope"}, "trace_id": "tr-1"} if code else {}
    fake.fail_next("/kling/motion", status, body, times=10)
    with pytest.raises(ProviderError) as caught:
        await client.submit(motion(inputs), job_id="j", callback_url=None)
    assert caught.value.category is category
    assert caught.value.http_status == status and caught.value.code == code
    # A submit is retried only when it was refused for its rate; anything else could double a task.
    expected_attempts = NO_WAIT.retry.attempts if category is ErrorCategory.RATE_LIMITED else 1
    assert len(fake.requests_to("/kling/motion")) == expected_attempts


async def test_real_auth_failures(fake: AceDataFake, inputs: InputServer) -> None:
    wrong = AceDataClient("not-the-key", base_url=fake.base_url, http=NO_WAIT)
    with pytest.raises(ProviderError) as caught:
        await wrong.submit(motion(inputs), job_id="j", callback_url=None)
    await wrong.close()
    assert caught.value.category is ErrorCategory.AUTH and caught.value.code == "invalid_token"


async def test_queries_retry_transient_errors(
    client: AceDataClient, fake: AceDataFake, inputs: InputServer
) -> None:
    task_id = await client.submit(motion(inputs), job_id="j", callback_url=None)
    fake.fail_next("/kling/tasks", 503, {"error": {"code": "api_error", "message": "busy"}})
    update = await client.query(task_id, kind=JobKind.MOTION)
    assert update.status is TaskStatus.QUEUED
    assert len(fake.requests_to("/kling/tasks")) == 2


async def test_unknown_task_id(client: AceDataClient) -> None:
    with pytest.raises(ProviderError) as caught:
        await client.query("no-such-task", kind=JobKind.MOTION)
    assert caught.value.category is ErrorCategory.INVALID_REQUEST and caught.value.http_status == 404


@pytest.mark.parametrize("body", [[1, 2], "just text", None, {}])
async def test_malformed_query_bodies_raise_provider_errors(
    client: AceDataClient, fake: AceDataFake, body: Any
) -> None:
    fake.fail_next("/kling/tasks", 200, body, times=NO_WAIT.retry.attempts)
    with pytest.raises(ProviderError) as caught:
        await client.query("t", kind=JobKind.MOTION)
    assert caught.value.category is ErrorCategory.TRANSIENT


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"id": 5, "response": []}, TaskStatus.QUEUED),
        ({"response": {"state": "succeed"}}, TaskStatus.FAILED),
        ({"response": {"success": True, "video_url": 42}}, TaskStatus.PROCESSING),
    ],
)
async def test_odd_records_still_give_well_formed_updates(
    client: AceDataClient, fake: AceDataFake, body: Any, status: TaskStatus
) -> None:
    fake.fail_next("/kling/tasks", 200, body)
    update = await client.query("t", kind=JobKind.MOTION)
    assert update.task_id == "t" and update.status is status


@pytest.mark.parametrize("body", [{"items": "x"}, {"count": 0}, []])
async def test_malformed_batch_bodies(client: AceDataClient, fake: AceDataFake, body: Any) -> None:
    fake.fail_next("/kling/tasks", 200, body, times=NO_WAIT.retry.attempts)
    with pytest.raises(ProviderError):
        await client.query_many(["a", "b"], kind=JobKind.MOTION)


async def test_submit_without_task_id(client: AceDataClient, fake: AceDataFake, inputs: InputServer) -> None:
    fake.fail_next("/kling/motion", 200, {"trace_id": "x"})
    with pytest.raises(ProviderError) as caught:
        await client.submit(motion(inputs), job_id="j", callback_url=None)
    assert caught.value.category is ErrorCategory.TRANSIENT


async def test_submit_reads_a_nested_task_id(
    client: AceDataClient, fake: AceDataFake, inputs: InputServer
) -> None:
    fake.fail_next("/kling/motion", 200, {"success": True, "data": {"task_id": "nested-id"}})
    assert await client.submit(motion(inputs), job_id="j", callback_url=None) == "nested-id"


async def test_there_is_no_balance_endpoint(client: AceDataClient, fake: AceDataFake) -> None:
    assert await client.account_balance() is None
    assert fake.requests == []


# ---- secrets ------------------------------------------------------------------------------------


async def test_no_key_or_signed_url_in_reprs_errors_or_logs(
    client: AceDataClient,
    fake: AceDataFake,
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
            "/kling/motion",
            500,
            {"error": {"code": "api_error", "message": f"fetch failed {request.image.url} with {KEY}"}},
        )
        with pytest.raises(ProviderError) as caught:
            await client.submit(request, job_id="j2", callback_url=None)
    result_signature = fake.tasks[task_id].result_url.split("?", 1)[1]  # type: ignore[union-attr]
    texts = [repr(client), str(client), repr(update), str(update), repr(caught.value), str(caught.value)]
    texts += [repr(request), *log_texts(caplog.records)]
    assert_no_secrets(texts, [KEY, inputs.signature, result_signature])
    assert "fetch failed <url> with ***" in caught.value.message
