"""Contract tests of the official Kling client against the loopback Kling fake (providers.md §2)."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import jwt
import pytest

from bot.models import (
    CameraControl,
    ErrorCategory,
    ExtendRequest,
    ImageToVideoRequest,
    JobKind,
    MediaInput,
    MotionRequest,
    ReferenceVideo,
    TaskStatus,
    TextToVideoRequest,
)
from bot.providers.base import AccountBalance, ProviderError
from bot.providers.kling import KlingClient
from tests.fakes.providers.kling import KlingFake
from tests.providers import NO_WAIT, CallbackSink, InputServer, assert_no_secrets, inline_image, log_texts

AK = "AK_TEST"
SK = "SK_TEST"
T0 = 1_767_694_000.0
TEST_VECTOR = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJBS19URVNUIiwiZXhwIjoxNzY3Njk1ODAwLCJuYmYiOjE3Njc2OTM5OTV9"
    ".Dz89UkLtr6Fk96ctnMoqe3kg_gn9FVQA8UTjz8zTR4o"
)


class Clock:
    """A clock both the client and the fake read, moved by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def inputs() -> AsyncIterator[InputServer]:
    async with InputServer() as server:
        yield server


@pytest.fixture
async def sink() -> AsyncIterator[CallbackSink]:
    async with CallbackSink() as server:
        yield server


@pytest.fixture
async def fake(clock: Clock) -> AsyncIterator[KlingFake]:
    server = KlingFake(access_key=AK, secret_key=SK, clock=clock, auto=False)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def client(fake: KlingFake, clock: Clock) -> AsyncIterator[KlingClient]:
    api = KlingClient(AK, SK, base_url=fake.base_url, http=NO_WAIT, clock=clock)
    yield api
    await api.close()


def motion(inputs: InputServer, **options: Any) -> MotionRequest:
    return MotionRequest(image=inputs.image(), video=inputs.video(), **options)


# ---- the JWT ------------------------------------------------------------------------------------


def test_jwt_matches_the_test_vector() -> None:
    assert KlingClient(AK, SK, clock=lambda: T0).token() == TEST_VECTOR


@pytest.mark.filterwarnings("ignore::jwt.InsecureKeyLengthWarning")  # the §2.1 vector's key is short
def test_jwt_is_cached_then_renewed_before_expiry(clock: Clock) -> None:
    api = KlingClient(AK, SK, clock=clock)
    first = api.token()
    clock.now += 1400  # 400 s left: still good
    assert api.token() == first
    clock.now += 101  # 299 s left: renew
    second = api.token()
    assert second != first
    claims = jwt.decode(second, SK, algorithms=["HS256"], options={"verify_exp": False, "verify_nbf": False})
    assert claims == {"iss": AK, "exp": int(clock.now) + 1800, "nbf": int(clock.now) - 5}


async def test_the_fake_accepts_renewed_tokens(
    client: KlingClient, fake: KlingFake, inputs: InputServer, clock: Clock
) -> None:
    await client.submit(motion(inputs), job_id="j1", callback_url=None)
    clock.now += 1700  # the first token would have 100 s left: the client renews it
    await client.submit(motion(inputs), job_id="j2", callback_url=None)
    tokens = [r.headers["Authorization"] for r in fake.requests_to("/v1/videos/motion-control")]
    assert tokens[0] != tokens[1] and all(t.startswith("Bearer ey") for t in tokens)
    assert fake.auth_failures == []


@pytest.mark.parametrize(
    ("access_key", "secret_key", "skew", "code"),
    [
        (AK, "wrong-secret", 0.0, 1002),  # bad signature
        ("AK_OTHER", SK, 0.0, 1000),  # unknown access key
        (AK, SK, +600.0, 1003),  # client clock ahead: not yet valid
        (AK, SK, -3600.0, 1004),  # client clock behind: expired
    ],
)
async def test_the_fake_verifies_the_jwt(
    fake: KlingFake, clock: Clock, access_key: str, secret_key: str, skew: float, code: int
) -> None:
    api = KlingClient(
        access_key, secret_key, base_url=fake.base_url, http=NO_WAIT, clock=lambda: clock.now + skew
    )
    with pytest.raises(ProviderError) as caught:
        await api.query("1", kind=JobKind.MOTION)
    await api.close()
    assert caught.value.category is ErrorCategory.AUTH
    assert caught.value.code == code and caught.value.http_status == 401
    assert len(fake.requests) == 1  # auth errors are not retried


async def test_the_fake_wants_a_bearer_header(fake: KlingFake) -> None:
    async with aiohttp.ClientSession() as session:
        for headers, code in (({}, 1001), ({"Authorization": "Token abc"}, 1002)):
            async with session.get(f"{fake.base_url}/v1/videos/text2video/1", headers=headers) as resp:
                assert resp.status == 401 and (await resp.json())["code"] == code


# ---- submits ------------------------------------------------------------------------------------


async def test_motion_body_with_urls(
    client: KlingClient, fake: KlingFake, inputs: InputServer, sink: CallbackSink
) -> None:
    request = motion(
        inputs, prompt="dance", mode="pro", orientation="video", keep_sound=False, model="kling-v3"
    )
    task_id = await client.submit(request, job_id="job-42", callback_url=sink.url)
    sent = fake.requests_to("/v1/videos/motion-control")[0]
    assert sent.body == {
        "image_url": request.image.url,
        "video_url": request.video.url,
        "character_orientation": "video",
        "mode": "pro",
        "keep_original_sound": "no",
        "prompt": "dance",
        "model_name": "kling-v3",
        "callback_url": sink.url,
        "external_task_id": "job-42",
    }
    assert task_id.isdigit()
    assert fake.tasks[task_id].inputs == {
        request.image.url: request.image.data,
        request.video.url: request.video.data,
    }


async def test_motion_image_without_url_goes_as_raw_base64(
    client: KlingClient, fake: KlingFake, inputs: InputServer
) -> None:
    image = inline_image()
    task_id = await client.submit(
        MotionRequest(image=image, video=inputs.video()), job_id="j", callback_url=None
    )
    sent = fake.requests_to("/v1/videos/motion-control")[0].body
    assert sent["image_url"] == base64.b64encode(image.data).decode()
    assert fake.tasks[task_id].inputs["base64:image_url"] == image.data


async def test_motion_video_must_be_a_url(client: KlingClient, fake: KlingFake, inputs: InputServer) -> None:
    video = inputs.video()
    request = MotionRequest(
        image=inputs.image(), video=MediaInput(video.data, video.filename, video.content_type)
    )
    with pytest.raises(ProviderError) as caught:
        await client.submit(request, job_id="j", callback_url=None)
    assert caught.value.category is ErrorCategory.INVALID_REQUEST and fake.requests == []


async def test_text2video_body(client: KlingClient, fake: KlingFake) -> None:
    request = TextToVideoRequest(
        prompt="a fox",
        model="kling-v1-6",
        mode="pro",
        aspect_ratio="1:1",
        duration=10,
        negative_prompt="blur",
        cfg_scale=0.3,
        camera=CameraControl("simple", {"pan": -4.0}),
    )
    await client.submit(request, job_id="job-7", callback_url=None)
    assert fake.requests_to("/v1/videos/text2video")[0].body == {
        "prompt": "a fox",
        "mode": "pro",
        "aspect_ratio": "1:1",
        "duration": "10",
        "model_name": "kling-v1-6",
        "negative_prompt": "blur",
        "cfg_scale": 0.3,
        "camera_control": {
            "type": "simple",
            "config": {
                "horizontal": 0.0,
                "vertical": 0.0,
                "pan": -4.0,
                "tilt": 0.0,
                "roll": 0.0,
                "zoom": 0.0,
            },
        },
        "external_task_id": "job-7",
    }


async def test_image2video_body_mixes_base64_and_urls(
    client: KlingClient, fake: KlingFake, inputs: InputServer
) -> None:
    start, tail = inline_image(), inputs.image(300, 400)
    task_id = await client.submit(
        ImageToVideoRequest(image=start, end_image=tail, prompt="smiles"), job_id="job-8", callback_url=None
    )
    assert fake.requests_to("/v1/videos/image2video")[0].body == {
        "image": base64.b64encode(start.data).decode(),
        "image_tail": tail.url,
        "prompt": "smiles",
        "mode": "std",
        "duration": "5",
        "external_task_id": "job-8",
    }
    assert fake.tasks[task_id].inputs == {"base64:image": start.data, tail.url: tail.data}


async def test_extend_body_and_parent_video(client: KlingClient, fake: KlingFake) -> None:
    first = await client.submit(TextToVideoRequest(prompt="a fox"), job_id="j1", callback_url=None)
    await fake.succeed(first)
    source = await client.query(first, kind=JobKind.TEXT2VIDEO)
    assert source.video_id is not None
    task_id = await client.submit(ExtendRequest(video_id=source.video_id), job_id="j2", callback_url=None)
    assert fake.requests_to("/v1/videos/video-extend")[0].body == {
        "video_id": source.video_id,
        "external_task_id": "j2",
    }
    parent = fake.task_object(fake.tasks[task_id])["task_info"]["parent_video"]
    assert parent["id"] == source.video_id and parent["url"] == source.video_url


async def test_the_fake_validates_like_the_api(client: KlingClient, fake: KlingFake) -> None:
    with pytest.raises(ProviderError) as caught:
        await client.submit(TextToVideoRequest(prompt="p", duration=7), job_id="j", callback_url=None)
    assert caught.value.category is ErrorCategory.INVALID_REQUEST and caught.value.code == 1201
    assert "duration" in caught.value.message
    with pytest.raises(ProviderError) as caught:
        await client.submit(
            TextToVideoRequest(prompt="p", camera=CameraControl("simple")), job_id="j", callback_url=None
        )
    assert caught.value.code == 1200  # simple needs a config
    await client.submit(TextToVideoRequest(prompt="p"), job_id="dup", callback_url=None)
    with pytest.raises(ProviderError) as caught:
        await client.submit(TextToVideoRequest(prompt="p"), job_id="dup", callback_url=None)
    assert caught.value.code == 1201 and "external_task_id" in caught.value.message


# ---- polling ------------------------------------------------------------------------------------


async def test_query_lifecycle(client: KlingClient, fake: KlingFake, inputs: InputServer) -> None:
    task_id = await client.submit(motion(inputs), job_id="j", callback_url=None)
    update = await client.query(task_id, kind=JobKind.MOTION)
    assert (update.status, update.raw_status) == (TaskStatus.QUEUED, "submitted")
    await fake.start_processing(task_id)
    assert (await client.query(task_id, kind=JobKind.MOTION)).status is TaskStatus.PROCESSING
    await fake.succeed(task_id, duration=5.1)
    update = await client.query(task_id, kind=JobKind.MOTION)
    task = fake.tasks[task_id]
    assert (update.status, update.raw_status) == (TaskStatus.SUCCEEDED, "succeed")
    assert (update.video_url, update.video_id, update.duration) == (task.result_url, task.video_id, 5.1)


@pytest.mark.parametrize(
    ("reason", "category"),
    [
        ("Failure to pass the risk control system", ErrorCategory.CONTENT_POLICY),
        ("motion could not be extracted", ErrorCategory.FAILED),
    ],
)
async def test_failed_task(
    client: KlingClient, fake: KlingFake, inputs: InputServer, reason: str, category: ErrorCategory
) -> None:
    task_id = await client.submit(motion(inputs), job_id="j", callback_url=None)
    await fake.fail(task_id, reason)
    update = await client.query(task_id, kind=JobKind.MOTION)
    assert update.status is TaskStatus.FAILED and update.raw_status == "failed"
    assert update.error_category is category and update.error_message == reason


async def test_find_by_job_id(client: KlingClient, fake: KlingFake, inputs: InputServer) -> None:
    assert client.supports_lookup_by_job_id
    task_id = await client.submit(motion(inputs), job_id="job-99", callback_url=None)
    found = await client.find_by_job_id("job-99", kind=JobKind.MOTION)
    assert found is not None and found.task_id == task_id
    assert fake.requests[-1].path == "/v1/videos/motion-control/job-99"
    assert await client.find_by_job_id("job-100", kind=JobKind.MOTION) is None
    assert await client.find_by_job_id("job-99", kind=JobKind.TEXT2VIDEO) is None


def omni_request(inputs: InputServer) -> TextToVideoRequest:
    return TextToVideoRequest(
        prompt="<<<image_1>>> walks like <<<video_1>>>",
        model="kling-o1",
        duration=5,
        reference_images=(inputs.image(),),
        reference_video=ReferenceVideo(inputs.video(), "feature"),
    )


async def test_omni_requests_go_to_the_omni_endpoint(
    client: KlingClient, fake: KlingFake, inputs: InputServer
) -> None:
    request = omni_request(inputs)
    assert request.reference_video is not None
    video_url = request.reference_video.video.url
    task_id = await client.submit(request, job_id="job-omni", callback_url=None)
    [sent] = fake.requests_to("/v1/videos/omni-video")
    assert sent.body == {
        "prompt": "<<<image_1>>> walks like <<<video_1>>>",
        "mode": "std",
        "aspect_ratio": "16:9",
        "duration": "5",
        "model_name": "kling-video-o1",
        "image_list": [{"image_url": request.reference_images[0].url}],
        "video_list": [{"video_url": video_url, "refer_type": "feature"}],
        "external_task_id": "job-omni",
    }
    assert sorted(fake.tasks[task_id].inputs) == sorted([request.reference_images[0].url, video_url])


@pytest.mark.parametrize("kind", [JobKind.TEXT2VIDEO, JobKind.IMAGE2VIDEO, JobKind.EXTEND])
async def test_an_omni_task_is_found_at_the_omni_endpoint(
    client: KlingClient, fake: KlingFake, inputs: InputServer, kind: JobKind
) -> None:
    """The store knows the job by its kind; its task went to omni-video, so "not found" asks there."""
    task_id = await client.submit(omni_request(inputs), job_id="job-omni", callback_url=None)
    await fake.succeed(task_id, duration=5.0)
    update = await client.query(task_id, kind=kind)
    assert update.status is TaskStatus.SUCCEEDED and update.video_url == fake.tasks[task_id].result_url
    paths = [r.path for r in fake.requests if r.method == "GET"]
    assert paths[-2:] == [f"/v1/videos/{client_segment(kind)}/{task_id}", f"/v1/videos/omni-video/{task_id}"]
    found = await client.find_by_job_id("job-omni", kind=kind)
    assert found is not None and found.task_id == task_id


def client_segment(kind: JobKind) -> str:
    return {
        JobKind.TEXT2VIDEO: "text2video",
        JobKind.IMAGE2VIDEO: "image2video",
        JobKind.EXTEND: "video-extend",
    }[kind]


async def test_a_motion_task_is_not_looked_for_at_the_omni_endpoint(
    client: KlingClient, fake: KlingFake, inputs: InputServer
) -> None:
    task_id = await client.submit(omni_request(inputs), job_id="job-omni", callback_url=None)
    with pytest.raises(ProviderError) as caught:
        await client.query(task_id, kind=JobKind.MOTION)
    assert caught.value.code == 1203
    assert not any(r.path.endswith(f"omni-video/{task_id}") for r in fake.requests if r.method == "GET")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sound": "on"}, "sound must be off with a reference video"),
        ({"negative_prompt": "blur"}, "negative_prompt is not supported by omni-video"),
        ({"model_name": "kling-v3"}, "model_name must be one of kling-v3-omni, kling-video-o1"),
        ({"duration": "20"}, 'duration must be a string from "3" to "15"'),
    ],
)
async def test_the_fake_omni_endpoint_refuses_like_the_api(
    client: KlingClient, fake: KlingFake, inputs: InputServer, change: dict[str, Any], message: str
) -> None:
    body = {
        "prompt": "<<<video_1>>>",
        "model_name": "kling-v3-omni",
        "video_list": [{"video_url": inputs.video().url, "refer_type": "base"}],
        **change,
    }
    async with aiohttp.ClientSession() as session:
        response = await session.post(
            f"{fake.base_url}/v1/videos/omni-video",
            json=body,
            headers={"Authorization": f"Bearer {client.token()}"},
        )
        answer = await response.json()
    assert (response.status, answer["code"], answer["message"]) == (400, 1201, message)


async def test_find_by_job_id_raises_other_errors(client: KlingClient, fake: KlingFake) -> None:
    fake.fail_next("/v1/videos/motion-control/", 401, {"code": 1004, "message": "expired"})
    with pytest.raises(ProviderError) as caught:
        await client.find_by_job_id("job-1", kind=JobKind.MOTION)
    assert caught.value.category is ErrorCategory.AUTH


async def test_unknown_status_is_still_running(client: KlingClient, fake: KlingFake) -> None:
    fake.fail_next("/v1/videos/", 200, {"code": 0, "data": {"task_id": "5", "task_status": "rendering"}})
    update = await client.query("5", kind=JobKind.TEXT2VIDEO)
    assert (update.status, update.raw_status) == (TaskStatus.PROCESSING, "rendering")


async def test_success_without_video_is_a_failure(client: KlingClient, fake: KlingFake) -> None:
    fake.fail_next("/v1/videos/", 200, {"code": 0, "data": {"task_id": "5", "task_status": "succeed"}})
    update = await client.query("5", kind=JobKind.TEXT2VIDEO)
    assert update.status is TaskStatus.FAILED and update.error_category is ErrorCategory.FAILED


@pytest.mark.parametrize(
    "body",
    [
        {"code": 0, "message": "SUCCEED"},
        {"code": 0, "data": []},
        {"code": 0, "data": {"task_status": "succeed"}},
        [],
        "oops",
    ],
)
async def test_malformed_query_bodies(client: KlingClient, fake: KlingFake, body: Any) -> None:
    fake.fail_next("/v1/videos/", 200, body, times=NO_WAIT.retry.attempts)
    with pytest.raises(ProviderError) as caught:
        await client.query("5", kind=JobKind.MOTION)
    assert caught.value.category is ErrorCategory.TRANSIENT


@pytest.mark.parametrize("body", [{"code": 0, "data": {}}, {"code": 0, "data": {"task_id": None}}, {}])
async def test_submit_without_task_id(client: KlingClient, fake: KlingFake, body: Any) -> None:
    fake.fail_next("/v1/videos/text2video", 200, body)
    with pytest.raises(ProviderError) as caught:
        await client.submit(TextToVideoRequest(prompt="p"), job_id="j", callback_url=None)
    assert caught.value.category is ErrorCategory.TRANSIENT


# ---- callbacks ----------------------------------------------------------------------------------


async def test_callbacks_on_every_status(
    client: KlingClient, fake: KlingFake, inputs: InputServer, sink: CallbackSink
) -> None:
    fake.callback_on_every_status = True
    fake.auto = True
    task_id = await client.submit(motion(inputs), job_id="job-5", callback_url=sink.url)
    await fake.wait_for(lambda: len(sink.bodies) == 2)
    first, last = (client.parse_callback(body) for body in sink.bodies)
    assert "code" not in sink.bodies[0]  # bare, no envelope
    assert (first.task_id, first.status) == (task_id, TaskStatus.PROCESSING)
    assert (last.task_id, last.status) == (task_id, TaskStatus.SUCCEEDED)
    assert last.video_url == fake.tasks[task_id].result_url
    assert sink.bodies[1]["task_info"]["external_task_id"] == "job-5"


async def test_wrapped_and_failed_callbacks(
    client: KlingClient, fake: KlingFake, inputs: InputServer, sink: CallbackSink
) -> None:
    fake.wrapped_callbacks = True
    fake.auto = True
    fake.auto_fail_message = "content security policy"
    task_id = await client.submit(motion(inputs), job_id="j", callback_url=sink.url)
    await fake.wait_for(lambda: len(sink.bodies) == 1)
    assert sink.bodies[0]["code"] == 0
    update = client.parse_callback(sink.bodies[0])
    assert (update.task_id, update.status) == (task_id, TaskStatus.FAILED)
    assert update.error_category is ErrorCategory.CONTENT_POLICY


@pytest.mark.parametrize("body", [None, [], {}, {"task_status": "succeed"}, {"code": 0, "data": "x"}])
def test_unreadable_callbacks(client: KlingClient, body: Any) -> None:
    with pytest.raises(ValueError):
        client.parse_callback(body)


def test_submitted_callback_is_queued(client: KlingClient) -> None:
    update = client.parse_callback({"task_id": 123, "task_status": "submitted"})
    assert (update.task_id, update.status) == ("123", TaskStatus.QUEUED)


# ---- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "category"),
    [
        (401, 1000, ErrorCategory.AUTH),
        (401, 1001, ErrorCategory.AUTH),
        (401, 1002, ErrorCategory.AUTH),
        (401, 1003, ErrorCategory.AUTH),
        (401, 1004, ErrorCategory.AUTH),
        (429, 1100, ErrorCategory.AUTH),
        (429, 1101, ErrorCategory.INSUFFICIENT_CREDITS),
        (429, 1102, ErrorCategory.INSUFFICIENT_CREDITS),
        (403, 1103, ErrorCategory.AUTH),
        (400, 1200, ErrorCategory.INVALID_REQUEST),
        (400, 1201, ErrorCategory.INVALID_REQUEST),
        (404, 1202, ErrorCategory.INVALID_REQUEST),
        (404, 1203, ErrorCategory.INVALID_REQUEST),
        (400, 1300, ErrorCategory.CONTENT_POLICY),
        (400, 1301, ErrorCategory.CONTENT_POLICY),
        (429, 1302, ErrorCategory.RATE_LIMITED),
        (429, 1303, ErrorCategory.PROVIDER_FULL),
        (429, 1304, ErrorCategory.AUTH),
        (500, 5000, ErrorCategory.TRANSIENT),
        (503, 5001, ErrorCategory.TRANSIENT),
        (504, 5002, ErrorCategory.TRANSIENT),
        (200, 1201, ErrorCategory.INVALID_REQUEST),  # an error code under HTTP 200
        (502, None, ErrorCategory.TRANSIENT),  # a proxy's error page, no Kling code
    ],
)
async def test_error_table(
    client: KlingClient, fake: KlingFake, status: int, code: int | None, category: ErrorCategory
) -> None:
    body = {"code": code, "message": "refused", "request_id": "r-1"} if code else {}
    fake.fail_next("/v1/videos/text2video", status, body, times=10)
    with pytest.raises(ProviderError) as caught:
        await client.submit(TextToVideoRequest(prompt="p"), job_id="j", callback_url=None)
    assert (caught.value.category, caught.value.code, caught.value.http_status) == (category, code, status)
    expected_attempts = NO_WAIT.retry.attempts if category is ErrorCategory.RATE_LIMITED else 1
    assert len(fake.requests) == expected_attempts


async def test_concurrency_limit_is_not_retried_the_job_waits_for_a_slot(
    client: KlingClient, fake: KlingFake
) -> None:
    fake.fail_next(
        "/v1/videos/text2video",
        429,
        {"code": 1303, "message": "parallel task over resource pack limit"},
        times=2,
    )
    with pytest.raises(ProviderError) as caught:
        await client.submit(TextToVideoRequest(prompt="p"), job_id="j", callback_url=None)
    assert (caught.value.category, caught.value.code) == (ErrorCategory.PROVIDER_FULL, 1303)
    assert len(fake.requests) == 1 and fake.tasks == {}


async def test_a_plain_rate_limit_is_retried_then_accepted(client: KlingClient, fake: KlingFake) -> None:
    fake.fail_next("/v1/videos/text2video", 429, {"code": 1302, "message": "rate limit"}, times=2)
    task_id = await client.submit(TextToVideoRequest(prompt="p"), job_id="j", callback_url=None)
    assert task_id in fake.tasks and len(fake.requests) == 3


async def test_queries_retry_server_errors(client: KlingClient, fake: KlingFake) -> None:
    task_id = await client.submit(TextToVideoRequest(prompt="p"), job_id="j", callback_url=None)
    fake.fail_next("/v1/videos/text2video/", 500, {"code": 5000, "message": "internal error"})
    assert (await client.query(task_id, kind=JobKind.TEXT2VIDEO)).status is TaskStatus.QUEUED


# ---- account balance ----------------------------------------------------------------------------


async def test_balance_counts_the_units_left_in_online_resource_packs(
    client: KlingClient, fake: KlingFake, clock: Clock
) -> None:
    balance = await client.account_balance()
    assert balance == AccountBalance(remaining=742.5, unit="units")  # runOut and expired packs excluded
    (asked,) = fake.requests_to("/account/costs", "GET")
    end = int(clock.now * 1000)
    assert asked.query == {"start_time": str(end - 400 * 86_400_000), "end_time": str(end)}
    assert fake.auth_failures == []


async def test_balance_leaves_out_packs_bought_before_the_window(
    client: KlingClient, fake: KlingFake, clock: Clock
) -> None:
    fake.resource_packs[0]["purchase_time"] = int(clock.now * 1000) - 500 * 86_400_000
    assert await client.account_balance() == AccountBalance(remaining=0.0, unit="units")


async def test_balance_with_wrong_keys_is_an_auth_error(fake: KlingFake, clock: Clock) -> None:
    api = KlingClient(AK, "wrong-secret", base_url=fake.base_url, http=NO_WAIT, clock=clock)
    with pytest.raises(ProviderError) as caught:
        await api.account_balance()
    await api.close()
    assert caught.value.category is ErrorCategory.AUTH and caught.value.code == 1002


async def test_balance_in_an_unreadable_answer_is_transient(client: KlingClient, fake: KlingFake) -> None:
    fake.fail_next("/account/costs", 200, {"code": 0, "message": "SUCCEED", "data": {}})
    with pytest.raises(ProviderError) as caught:
        await client.account_balance()
    assert caught.value.category is ErrorCategory.TRANSIENT


# ---- secrets ------------------------------------------------------------------------------------


async def test_no_keys_tokens_or_signed_urls_leak(
    client: KlingClient,
    fake: KlingFake,
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
        token = client.token()
        fake.fail_next(
            "/v1/videos/",
            400,
            {"code": 1201, "message": f"bad token {token} for {AK} at {request.video.url}"},
        )
        with pytest.raises(ProviderError) as caught:
            await client.query(task_id, kind=JobKind.MOTION)
    signature = fake.tasks[task_id].result_url.split("?", 1)[1]  # type: ignore[union-attr]
    texts = [repr(client), str(client), repr(update), repr(caught.value), str(caught.value)]
    texts += log_texts(caplog.records)
    assert_no_secrets(texts, [AK, SK, token, inputs.signature, signature])
    assert caught.value.message == "bad token *** for *** at <url>"
