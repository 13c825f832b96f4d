"""Contract tests per model row of AceData's capability table: what the table allows is built with
the right fields and accepted by the fake; what it rules out is refused by the checker and the fake."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from bot.models import (
    CameraControl,
    ErrorCategory,
    ImageToVideoRequest,
    JobKind,
    ReferenceVideo,
    Shot,
    TextToVideoRequest,
)
from bot.providers.acedata import AceDataClient
from bot.providers.base import ProviderError
from bot.providers.capabilities import ACEDATA, ModelRow
from bot.providers.capability_check import (
    DurationNotOffered,
    OptionNeedsMode,
    OptionNotOffered,
    OptionsExclusive,
    Requested,
    SoundAlwaysOn,
    TooManyReferenceImages,
    check,
)
from tests.fakes.providers.acedata import AceDataFake
from tests.providers import NO_WAIT, InputServer

KEY = "acedata-test-token"
ROWS = list(ACEDATA.models.values())


@pytest.fixture
async def inputs() -> AsyncIterator[InputServer]:
    async with InputServer() as server:
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


def richest_text_request(row: ModelRow) -> tuple[TextToVideoRequest, Requested]:
    """The most the row allows in its last mode: longest duration, sound, camera, prompt options."""
    mode_name, mode = list(row.modes.items())[-1]
    duration = row.camera_durations[-1] if mode.camera and row.camera_durations else row.durations[-1]
    sound = True if mode.sound or row.sound_always else None
    request = TextToVideoRequest(
        prompt="a lighthouse at dusk",
        model=row.name,
        mode=mode_name,
        duration=duration,
        negative_prompt="blur" if row.negative_prompt else None,
        cfg_scale=0.5 if row.cfg_scale else None,
        camera=CameraControl("simple", {"zoom": 2.0}) if mode.camera else None,
        sound=sound,
    )
    options = Requested(
        JobKind.TEXT2VIDEO,
        row.name,
        mode=mode_name,
        duration=duration,
        sound=sound,
        camera=mode.camera,
        negative_prompt=row.negative_prompt,
        cfg_scale=row.cfg_scale,
    )
    return request, options


async def refused_by_fake(client: AceDataClient, request: Any) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        await client.submit(request, job_id="j", callback_url=None)
    assert caught.value.category is ErrorCategory.INVALID_REQUEST
    assert caught.value.code == "bad_request"
    return caught.value


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
async def test_each_model_takes_what_the_table_allows(
    row: ModelRow, client: AceDataClient, fake: AceDataFake
) -> None:
    request, options = richest_text_request(row)
    assert check("acedata", options) is None
    await client.submit(request, job_id="j", callback_url=None)
    body = fake.requests_to("/kling/videos")[0].body
    assert body["model"] == row.name and body["mode"] == options.mode and body["duration"] == options.duration
    assert ("generate_audio" in body) is (options.sound is not None)
    assert ("camera_control" in body) is options.camera
    assert ("negative_prompt" in body) is row.negative_prompt
    assert ("cfg_scale" in body) is row.cfg_scale


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
async def test_each_model_takes_an_end_frame_where_the_table_says(
    row: ModelRow, client: AceDataClient, fake: AceDataFake, inputs: InputServer
) -> None:
    for mode_name, mode in row.modes.items():
        duration = (row.end_frame_durations or row.durations)[0]
        options = Requested(JobKind.IMAGE2VIDEO, row.name, mode=mode_name, duration=duration, end_frame=True)
        request = ImageToVideoRequest(
            image=inputs.image(), end_image=inputs.image(), model=row.name, mode=mode_name, duration=duration
        )
        if mode.end_frame:
            assert check("acedata", options) is None
            await client.submit(request, job_id="j", callback_url=None)
            assert fake.requests_to("/kling/videos")[-1].body["end_image_url"].startswith("http")
        else:
            assert isinstance(check("acedata", options), OptionNeedsMode | OptionNotOffered)
            await refused_by_fake(client, request)


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
async def test_each_model_makes_sound_where_the_table_says(row: ModelRow, client: AceDataClient) -> None:
    for mode_name, mode in row.modes.items():
        options = Requested(JobKind.TEXT2VIDEO, row.name, mode=mode_name, sound=True)
        request = TextToVideoRequest(prompt="p", model=row.name, mode=mode_name, duration=5, sound=True)
        if mode.sound or row.sound_always:
            assert check("acedata", options) is None
            await client.submit(request, job_id="j", callback_url=None)
        else:
            assert isinstance(check("acedata", options), OptionNeedsMode | OptionNotOffered)
            await refused_by_fake(client, request)


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
async def test_durations_outside_the_row_are_refused_by_both(row: ModelRow, client: AceDataClient) -> None:
    duration = 12 if 12 not in row.durations else 16
    options = Requested(JobKind.TEXT2VIDEO, row.name, duration=duration)
    assert check("acedata", options) == DurationNotOffered(row.name, duration, row.durations)
    await refused_by_fake(client, TextToVideoRequest(prompt="p", model=row.name, duration=duration))


@pytest.mark.parametrize("row", [r for r in ROWS if r.references], ids=lambda row: row.name)
async def test_omni_references_are_sent_as_image_list_and_video_list(
    row: ModelRow, client: AceDataClient, fake: AceDataFake, inputs: InputServer
) -> None:
    images = (inputs.image(), inputs.image())
    video = ReferenceVideo(inputs.video(4.0), refer_type="feature", keep_sound=False)
    options = Requested(
        JobKind.TEXT2VIDEO,
        row.name,
        duration=5,
        reference_images=2,
        reference_video_seconds=4.0,
        reference_video_type="feature",
    )
    assert check("acedata", options) is None
    request = TextToVideoRequest(
        prompt="<<<image_1>>> meets <<<image_2>>> in <<<video_1>>>",
        model=row.name,
        duration=5,
        reference_images=images,
        reference_video=video,
    )
    await client.submit(request, job_id="j", callback_url=None)
    body = fake.requests_to("/kling/videos")[0].body
    assert body["action"] == "text2video"
    assert body["image_list"] == [{"image_url": image.url} for image in images]
    assert body["video_list"] == [
        {"video_url": video.video.url, "refer_type": "feature", "keep_original_sound": "no"}
    ]
    assert "generate_audio" not in body
    assert len(fake.tasks[next(iter(fake.tasks))].inputs) == 3  # every reference was fetched

    too_many = replace(request, reference_images=(inputs.image(),) * 5)
    assert check("acedata", replace(options, reference_images=5)) == TooManyReferenceImages(
        row.name, 5, 4, True
    )
    await refused_by_fake(client, too_many)
    with_sound = replace(request, sound=True)
    sound_problem = check("acedata", replace(options, sound=True))
    if any(mode.sound for mode in row.modes.values()):
        assert sound_problem == OptionsExclusive(row.name, "sound", "reference_video")
    else:
        assert isinstance(sound_problem, OptionNotOffered)
    await refused_by_fake(client, with_sound)


@pytest.mark.parametrize("row", [r for r in ROWS if not r.references], ids=lambda row: row.name)
async def test_references_on_other_models_are_refused_by_both(
    row: ModelRow, client: AceDataClient, inputs: InputServer
) -> None:
    problem = check("acedata", Requested(JobKind.TEXT2VIDEO, row.name, reference_images=1))
    assert isinstance(problem, OptionNotOffered) and set(problem.models) == {"kling-v3-omni", "kling-o1"}
    request = TextToVideoRequest(prompt="<<<image_1>>>", model=row.name, reference_images=(inputs.image(),))
    await refused_by_fake(client, request)


async def test_an_edit_sends_a_base_video_and_keeps_its_sound(
    client: AceDataClient, fake: AceDataFake, inputs: InputServer
) -> None:
    video = inputs.video(6.0)
    request = TextToVideoRequest(
        prompt="make <<<video_1>>> an anime",
        model="kling-o1",
        reference_video=ReferenceVideo(video, keep_sound=True),
    )
    await client.submit(request, job_id="j", callback_url=None)
    body = fake.requests_to("/kling/videos")[0].body
    assert body["video_list"] == [
        {"video_url": video.url, "refer_type": "base", "keep_original_sound": "yes"}
    ]


async def test_a_base_video_with_frames_is_refused_by_both(
    client: AceDataClient, inputs: InputServer
) -> None:
    options = Requested(JobKind.IMAGE2VIDEO, "kling-o1", reference_video_seconds=5.0)
    assert check("acedata", options) == OptionsExclusive("kling-o1", "reference_video", "start_frame")
    request = ImageToVideoRequest(
        image=inputs.image(), model="kling-o1", reference_video=ReferenceVideo(inputs.video(5.0))
    )
    await refused_by_fake(client, request)


@pytest.mark.parametrize("model", ["kling-v3", "kling-v3-omni"])
async def test_custom_shots_are_numbered_and_timed(
    model: str, client: AceDataClient, fake: AceDataFake
) -> None:
    shots = (Shot("a door opens", 2), Shot("a cat walks in", 3), Shot("it sits", 4))
    assert check("acedata", Requested(JobKind.TEXT2VIDEO, model, duration=9, shots=shots)) is None
    await client.submit(
        TextToVideoRequest(prompt="a cat", model=model, duration=9, shots=shots),
        job_id="j",
        callback_url=None,
    )
    body = fake.requests_to("/kling/videos")[0].body
    assert body["multi_shot"] is True and body["shot_type"] == "customize"
    assert body["multi_prompt"] == [
        {"index": 1, "prompt": "a door opens", "duration": 2},
        {"index": 2, "prompt": "a cat walks in", "duration": 3},
        {"index": 3, "prompt": "it sits", "duration": 4},
    ]


async def test_intelligent_shots_and_shots_that_do_not_add_up(
    client: AceDataClient, fake: AceDataFake
) -> None:
    await client.submit(
        TextToVideoRequest(prompt="a chase", model="kling-v3", duration=10, auto_shots=True),
        job_id="j",
        callback_url=None,
    )
    body = fake.requests_to("/kling/videos")[0].body
    assert body["multi_shot"] is True and body["shot_type"] == "intelligence" and "multi_prompt" not in body
    shots = (Shot("a", 3), Shot("b", 3))
    await refused_by_fake(client, TextToVideoRequest(prompt="p", model="kling-v3", duration=5, shots=shots))


@pytest.mark.parametrize("row", [r for r in ROWS if not r.multi_shot], ids=lambda row: row.name)
async def test_shots_on_other_models_are_refused_by_both(row: ModelRow, client: AceDataClient) -> None:
    assert isinstance(
        check("acedata", Requested(JobKind.TEXT2VIDEO, row.name, auto_shots=True)), OptionNotOffered
    )
    await refused_by_fake(client, TextToVideoRequest(prompt="p", model=row.name, auto_shots=True))


async def test_4k_and_camera_are_refused_by_both(client: AceDataClient) -> None:
    assert check(
        "acedata", Requested(JobKind.TEXT2VIDEO, "kling-v3", mode="4k", camera=True)
    ) == OptionsExclusive("kling-v3", "camera", "4k")
    request = TextToVideoRequest(prompt="p", model="kling-v3", mode="4k", camera=CameraControl("down_back"))
    await refused_by_fake(client, request)


async def test_turbo_cannot_turn_sound_off(client: AceDataClient, fake: AceDataFake) -> None:
    assert check("acedata", Requested(JobKind.TEXT2VIDEO, "kling-v3-turbo", sound=False)) == SoundAlwaysOn(
        "kling-v3-turbo"
    )
    await refused_by_fake(client, TextToVideoRequest(prompt="p", model="kling-v3-turbo", sound=False))
    await client.submit(TextToVideoRequest(prompt="p", model="kling-v3-turbo"), job_id="j", callback_url=None)
    assert "generate_audio" not in fake.requests_to("/kling/videos")[-1].body  # its default: sound on
