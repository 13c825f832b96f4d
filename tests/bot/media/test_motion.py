"""bot.media.motion: the reference video accepted, trimmed or refused, against real files."""

from __future__ import annotations

import av
import pytest

from bot.media import PreparedMedia, VideoInfo, motion, prepare_motion_video
from tests.bot.media.helpers import GARBAGE, clip, decoded_frames, refusal, track_seconds
from tests.support.media import make_audio_only, make_damaged_video, make_image, make_video


# --- prepare_motion_video: accepted ----------------------------------------------------------------------
def test_video_within_its_limits_passes_through_unchanged() -> None:
    data = clip(4.0)
    prepared = prepare_motion_video(data, "dance.mp4", orientation="image")
    assert prepared.data == data
    assert (prepared.filename, prepared.content_type, prepared.notes) == ("dance.mp4", "video/mp4", [])
    assert isinstance(prepared.info, VideoInfo) and prepared.info.duration == pytest.approx(4.0)


def test_mov_is_accepted_and_named_for_what_it_is() -> None:
    prepared = prepare_motion_video(clip(3.0, container="mov"), "clip.mp4", orientation="video")
    assert (prepared.filename, prepared.content_type) == ("clip.mov", "video/quicktime")


@pytest.mark.parametrize(("seconds", "orientation"), [(3.0, "image"), (10.0, "image"), (30.0, "video")])
def test_durations_exactly_at_the_limits_are_accepted(seconds: float, orientation: str) -> None:
    data = clip(seconds, fps=2)
    assert prepare_motion_video(data, "v.mp4", orientation=orientation).data == data


# --- prepare_motion_video: trimmed -----------------------------------------------------------------------
def assert_trimmed(
    prepared: PreparedMedia, limit: float, fps: int, shortfall: float | None = None
) -> VideoInfo:
    """At most `limit` seconds, short of it by at most one frame (or `shortfall`), and fully decodable."""
    info = prepared.info
    assert isinstance(info, VideoInfo)
    assert limit - (shortfall or 1 / fps) - 0.001 <= info.duration <= limit
    assert decoded_frames(prepared.data) == round(info.duration * fps)
    assert all(seconds <= limit for seconds in track_seconds(prepared.data).values())
    return info


def test_slightly_long_video_is_trimmed_to_10_s_for_orientation_image() -> None:
    prepared = prepare_motion_video(clip(11.4, fps=5), "long.mp4", orientation="image")
    assert_trimmed(prepared, 10.0, fps=5)
    assert prepared.notes == [
        "Your video was 11.4 s long; it was trimmed to 10 s, the limit with orientation: image."
    ]
    assert (prepared.filename, prepared.content_type) == ("long.mp4", "video/mp4")


def test_trim_keeps_the_sound_and_the_container() -> None:
    prepared = prepare_motion_video(clip(11.0, container="mov", audio=True), "talk.mov", orientation="image")
    info = assert_trimmed(prepared, 10.0, fps=6)
    assert info.has_audio and info.container == "mov"
    assert track_seconds(prepared.data)["audio"] > 9.5


def test_stream_copy_trim_of_a_video_with_b_frames_ends_a_little_early_but_whole() -> None:
    # Reordered frames can only be cut before the next reference frame, so a few frames go too.
    prepared = prepare_motion_video(clip(11.0, bframes=3), "camera.mp4", orientation="image")
    assert_trimmed(prepared, 10.0, fps=6, shortfall=motion.REMUX_MAX_SHORTFALL)


def test_trim_re_encodes_when_a_stream_copy_would_end_too_early(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(motion, "REMUX_MAX_SHORTFALL", 0.01)
    prepared = prepare_motion_video(clip(11.0, bframes=3), "camera.mp4", orientation="image")
    assert_trimmed(prepared, 10.0, fps=6)


def test_slightly_long_video_is_trimmed_to_30_s_for_orientation_video() -> None:
    prepared = prepare_motion_video(clip(33.0, fps=2), "long.mp4", orientation="video")
    assert_trimmed(prepared, 30.0, fps=2)
    assert "trimmed to 30 s, the limit with orientation: video" in prepared.notes[0]


def test_trim_re_encodes_when_a_stream_copy_is_not_possible(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_stream_copy(*args: object, **kwargs: object) -> None:
        raise av.error.InvalidDataError(0, "cannot copy")

    monkeypatch.setattr(motion, "_remux_head", no_stream_copy)
    prepared = prepare_motion_video(clip(11.0, audio=True), "long.mp4", orientation="image")
    info = assert_trimmed(prepared, 10.0, fps=6)
    assert info.has_audio and info.video_codec == "h264"


# --- prepare_motion_video: refused -----------------------------------------------------------------------
def test_too_long_for_orientation_image_suggests_orientation_video() -> None:
    message = refusal(prepare_motion_video, clip(13.0, fps=2), "v.mp4", orientation="image")
    assert "is 13.0 seconds long, over the 10-second limit with orientation: image" in message
    assert "choose orientation: video (up to 30 seconds)" in message


def test_too_long_for_either_orientation_is_refused() -> None:
    data = clip(42.0, fps=1)
    message = refusal(prepare_motion_video, data, "v.mp4", orientation="image")
    assert message == (
        "The reference video is 42.0 seconds long; motion control accepts 3\u201330 seconds "
        "(at most 10 with orientation: image), so trim it and try again."
    )
    message = refusal(prepare_motion_video, data, "v.mp4", orientation="video")
    assert "accepts 3\u201330 seconds, so trim it to 30 seconds or less" in message


def test_too_short_is_refused() -> None:
    message = refusal(prepare_motion_video, clip(2.0), "v.mp4", orientation="video")
    assert message == ("The reference video is 2.0 seconds long; motion control needs at least 3 seconds.")


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (clip(1.0, container="matroska"), "MKV"),
        (clip(1.0, container="webm", codec="libvpx"), "WebM"),
        (clip(1.0, container="avi"), "AVI"),
    ],
    ids=["mkv", "webm", "avi"],
)
def test_other_containers_are_refused_naming_mp4_and_mov(data: bytes, name: str) -> None:
    message = refusal(prepare_motion_video, data, "clip.mp4", orientation="video")
    assert f"is in {name} format; motion control accepts only MP4 or MOV videos" in message


def test_picture_is_refused_as_a_video() -> None:
    message = refusal(prepare_motion_video, make_image(), "clip.mp4", orientation="video")
    assert "is a picture (PNG), not a video; attach an MP4 or MOV video" in message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "is an empty file (0 bytes)"),
        (GARBAGE, "is not a video the bot recognises"),
        (clip(4.0)[:20_000], "could not be read"),  # cut short: the index at the end is gone
        (make_audio_only(4.0), "has no picture track"),
    ],
    ids=["empty", "garbage", "truncated", "audio-only"],
)
def test_unusable_files_are_refused(data: bytes, expected: str) -> None:
    message = refusal(prepare_motion_video, data, "clip.mp4", orientation="video")
    assert expected in message and "MP4" in message


@pytest.mark.parametrize(("width", "height"), [(320, 240), (3_900, 400)], ids=["too-small", "too-wide"])
def test_sides_outside_340_to_3850_px_are_refused(width: int, height: int) -> None:
    data = make_video(1.0, width, height, fps=1)  # sides are checked before length
    message = refusal(prepare_motion_video, data, "clip.mp4", orientation="video")
    assert (
        f"is {width}\u00d7{height} px; motion control needs each side to be between 340 and 3850 px"
        in message
    )


def test_video_over_100_mb_is_refused_before_it_is_parsed() -> None:
    data = clip(4.0) + bytes(motion.VIDEO_MAX_BYTES)
    message = refusal(prepare_motion_video, data, "huge.mp4", orientation="video")
    assert message.startswith("The reference video is 100.")
    assert "MB; motion control accepts videos up to 100 MB" in message


def test_unknown_orientation_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="orientation"):
        prepare_motion_video(clip(4.0), "v.mp4", orientation="sideways")


# --- prepare_motion_video: damaged -----------------------------------------------------------------------
DAMAGED_VIDEO = (
    "The reference video is damaged (its first seconds could not be decoded); "
    "export it again as an MP4 (H.264) and attach it."
)


@pytest.mark.parametrize("intact_frames", [0, 1], ids=["from-the-start", "after-the-first-picture"])
def test_video_with_garbage_picture_data_is_refused_as_damaged(intact_frames: int) -> None:
    data = make_damaged_video(4.0, 352, 352, fps=6, intact_frames=intact_frames)
    assert refusal(prepare_motion_video, data, "dance.mp4", orientation="image") == DAMAGED_VIDEO
