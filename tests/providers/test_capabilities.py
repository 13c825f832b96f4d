"""The capability table per family, its helpers, and the official API's bodies for the newer fields."""

from __future__ import annotations

import pytest

from bot.models import ImageToVideoRequest, JobKind, MediaInput, ReferenceVideo, Shot, TextToVideoRequest
from bot.providers.capabilities import (
    FAMILIES,
    FEATURE_EXTEND_MODEL,
    capabilities,
    extends_natively,
    makes_sound,
    model_choices,
    reference_models,
    shot_models,
)
from bot.providers.capability_check import (
    KindNotInFamily,
    ModelNotOffered,
    ModeNotOffered,
    OptionNeedsDuration,
    OptionsExclusive,
    ReferenceVideoLength,
    ReferenceVideoSize,
    Requested,
    ShotPromptTooLong,
    ShotTooShort,
    TooManyShots,
    check,
)
from bot.providers.kling_shapes import build_request_body

NEW_MODELS = ("kling-v2-6", "kling-v3", "kling-v3-omni", "kling-v3-turbo", "kling-o1")
IMAGE = MediaInput(b"png", "a.png", "image/png", "https://inputs.example/a.png")
VIDEO = MediaInput(b"mp4", "v.mp4", "video/mp4", "https://inputs.example/v.mp4")


def test_acedata_offers_every_new_model_with_its_documented_durations() -> None:
    models = capabilities("acedata").models
    assert set(NEW_MODELS) <= set(models)
    assert models["kling-v3"].durations == models["kling-v3-turbo"].durations == tuple(range(3, 16))
    assert models["kling-v3-omni"].durations == tuple(range(3, 16))
    assert models["kling-o1"].durations == (5,)
    assert models["kling-v2-6"].durations == (5, 10)
    assert [name for name, row in models.items() if "4k" in row.modes] == ["kling-v3", "kling-v3-omni"]


def test_model_choices_per_family_and_kind() -> None:
    assert model_choices("kie", JobKind.TEXT2VIDEO) == ()
    assert model_choices("kie", JobKind.MOTION) == ("kling-v2-6", "kling-v3")
    assert model_choices("acedata", JobKind.EXTEND) == ("kling-v1", "kling-v1-5", "kling-v1-6")
    assert "kling-v3-turbo" in model_choices("acedata", JobKind.IMAGE2VIDEO)
    assert "kling-v3-turbo" not in model_choices("kling", JobKind.TEXT2VIDEO)
    assert model_choices("gateway", JobKind.TEXT2VIDEO) == model_choices("kling", JobKind.TEXT2VIDEO)
    assert reference_models("acedata") == ("kling-v3-omni", "kling-o1")
    assert shot_models("acedata") == ("kling-v3", "kling-v3-omni")
    with pytest.raises(ValueError, match="unknown provider family"):
        capabilities("nowhere")


def test_the_official_api_has_no_4k_and_spells_o1_its_own_way() -> None:
    assert check("kling", Requested(JobKind.TEXT2VIDEO, "kling-v3", mode="4k")) == ModeNotOffered(
        "kling-v3", "4k", ("std", "pro")
    )
    assert capabilities("kling").wire_name("kling-o1") == "kling-video-o1"


def test_families_without_a_kind_say_so() -> None:
    assert check("kie", Requested(JobKind.IMAGE2VIDEO)) == KindNotInFamily(
        "kie", JobKind.IMAGE2VIDEO, (JobKind.MOTION,)
    )
    assert check("kie", Requested(JobKind.MOTION, "kling-v3")) is None
    assert check("acedata", Requested(JobKind.MOTION, "kling-v9")) == ModelNotOffered(
        "acedata", "kling-v9", ("kling-v2-6", "kling-v3"), JobKind.MOTION
    )
    assert isinstance(check("kling", Requested(JobKind.TEXT2VIDEO, "kling-v3-turbo")), ModelNotOffered)
    assert all(check(family, Requested(JobKind.TEXT2VIDEO)) is None for family in FAMILIES if family != "kie")


def test_extend_goes_native_only_for_the_v1_family() -> None:
    assert extends_natively("acedata", "kling-v1-6") and extends_natively("acedata", None)
    assert not extends_natively("acedata", "kling-v3")
    assert FEATURE_EXTEND_MODEL in reference_models("acedata")
    options = Requested(
        JobKind.TEXT2VIDEO, FEATURE_EXTEND_MODEL, reference_video_seconds=10.0, reference_video_type="feature"
    )
    assert check("acedata", options) is None


def test_sound_follows_the_model() -> None:
    assert makes_sound("acedata", "kling-v3-turbo", None)
    assert makes_sound("acedata", "kling-v3", True) and not makes_sound("acedata", "kling-v3", None)
    assert not makes_sound("acedata", "kling-v1", True)


def test_duration_bound_options() -> None:
    assert check("acedata", Requested(JobKind.TEXT2VIDEO, "kling-v1", duration=10, camera=True)) == (
        OptionNeedsDuration("kling-v1", "camera", (5,))
    )
    assert check(
        "acedata", Requested(JobKind.IMAGE2VIDEO, "kling-v2-6", mode="pro", duration=10, end_frame=True)
    ) == (OptionNeedsDuration("kling-v2-6", "end_frame", (5,)))
    assert check(
        "acedata", Requested(JobKind.IMAGE2VIDEO, "kling-v1", duration=5, end_frame=True, camera=True)
    ) == (OptionsExclusive("kling-v1", "camera", "end_frame"))


def test_reference_video_limits_per_model() -> None:
    def video(model: str, seconds: float, size: tuple[int, int] | None = None) -> object:
        return check(
            "acedata",
            Requested(JobKind.TEXT2VIDEO, model, reference_video_seconds=seconds, reference_video_size=size),
        )

    assert video("kling-o1", 10.0) is None and video("kling-v3-omni", 15.5) is None
    assert video("kling-o1", 10.5) == ReferenceVideoLength("kling-o1", 10.5, 3.0, 10.0)
    assert video("kling-v3-omni", 2.0) == ReferenceVideoLength("kling-v3-omni", 2.0, 3.0, 15.5)
    assert video("kling-o1", 5.0, (1920, 1080)) is None
    assert video("kling-o1", 5.0, (3840, 2160)) == ReferenceVideoSize(
        "kling-o1", 3840, 2160, (700, 2160), None, None
    )
    assert isinstance(video("kling-v3-omni", 5.0, (4000, 4000)), ReferenceVideoSize)  # too many pixels
    assert isinstance(video("kling-v3-omni", 5.0, (2100, 700)), ReferenceVideoSize)  # wider than 2:1
    assert check(
        "acedata", Requested(JobKind.TEXT2VIDEO, "kling-v3-omni", mode="4k", reference_images=1)
    ) == (OptionsExclusive("kling-v3-omni", "reference_images", "4k"))


def test_shot_limits() -> None:
    def shots(*items: Shot, duration: int | None = None) -> object:
        return check("acedata", Requested(JobKind.TEXT2VIDEO, "kling-v3", duration=duration, shots=items))

    assert shots(*(Shot("s", 2),) * 5, duration=10) is None
    assert shots(*(Shot("s", 2),) * 6) == TooManyShots("kling-v3", 6, 5)
    assert shots(Shot("a", 4), Shot("b", 0)) == ShotTooShort(2, 0, 1)
    assert shots(Shot("a" * 513, 5)) == ShotPromptTooLong(1, 513, 512)
    assert shots(Shot("a", 5), duration=5) is None


def test_official_bodies_for_sound_references_and_shots() -> None:
    segment, body = build_request_body(
        TextToVideoRequest(
            prompt="p", model="kling-v3", duration=9, sound=True, shots=(Shot("a", 4), Shot("b", 5))
        ),
        job_id="j",
        callback_url=None,
    )
    assert segment == "text2video"
    assert body["sound"] == "on" and body["duration"] == "9"
    assert body["multi_prompt"] == [
        {"index": 1, "prompt": "a", "duration": "4"},
        {"index": 2, "prompt": "b", "duration": "5"},
    ]
    segment, body = build_request_body(
        ImageToVideoRequest(
            image=IMAGE,
            model="kling-o1",
            reference_images=(IMAGE,),
            reference_video=ReferenceVideo(VIDEO, "feature"),
        ),
        job_id="j",
        callback_url=None,
    )
    assert segment == "omni-video" and body["model_name"] == "kling-video-o1"
    assert body["image_list"] == [{"image_url": IMAGE.url}, {"image_url": IMAGE.url, "type": "first_frame"}]
    assert body["video_list"] == [{"video_url": VIDEO.url, "refer_type": "feature"}]
    assert "image" not in body
