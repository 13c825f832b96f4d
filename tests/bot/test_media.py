"""The media layer against real files made with Pillow and PyAV: every accept, convert, trim and refusal."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import pytest
from PIL import Image

from bot import media
from bot.media import (
    ImageInfo,
    MediaError,
    PreparedMedia,
    VideoInfo,
    fit_video_to_size,
    inspect_image,
    prepare_image,
    prepare_motion_video,
    probe_video,
    sniff_type,
)
from tests.support.media import (
    make_animated_gif,
    make_audio_only,
    make_flat_image,
    make_image,
    make_lying_png,
    make_noise_image,
    make_video,
)

GARBAGE = bytes(range(256)) * 40
SIDE = 352  # just over the 340 px minimum: small frames keep the tests fast


def clip(seconds: float, fps: int = 6, **options: Any) -> bytes:
    """A small real video (cached): SIDE x SIDE H.264 at a low frame rate."""
    return make_video(seconds, SIDE, SIDE, fps=fps, **options)


def refusal(call: Callable[..., object], *args: object, **kwargs: object) -> str:
    """The member-facing message of the MediaError that `call` raises, checked to be one sentence."""
    with pytest.raises(MediaError) as caught:
        call(*args, **kwargs)
    message = str(caught.value)
    assert message[0].isupper() and message.endswith(".") and ". " not in message
    return message


def decoded_frames(data: bytes) -> int:
    """Decode every picture: proves a produced file is whole, not just that its header parses."""
    with av.open(io.BytesIO(data), mode="r") as container:
        return sum(1 for _ in container.decode(video=0))


def track_seconds(data: bytes) -> dict[str, float]:
    with av.open(io.BytesIO(data), mode="r") as container:
        return {
            stream.type: float(stream.duration * stream.time_base)
            for stream in container.streams
            if stream.duration is not None and stream.time_base is not None
        }


# --- sniff_type ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (make_image(64, 64, "PNG"), "png"),
        (make_image(64, 64, "JPEG"), "jpeg"),
        (make_image(64, 64, "WEBP"), "webp"),
        (make_image(64, 64, "GIF"), "gif"),
        (clip(1.0), "mp4"),
        (clip(1.0, container="mov"), "mov"),
        (clip(1.0, container="matroska"), "mkv"),
        (clip(1.0, container="webm", codec="libvpx"), "webm"),
        (clip(1.0, container="avi"), "avi"),
    ],
    ids=["png", "jpeg", "webp", "gif", "mp4", "mov", "mkv", "webm", "avi"],
)
def test_sniff_type_recognises_real_files(data: bytes, expected: str) -> None:
    assert sniff_type(data[: media.SNIFF_BYTES]) == expected


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", None),  # an iPhone photo, not a video
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1", None),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  ", "mov"),
        (b"\x00\x00\x00\x20ftypM4V \x00\x00\x00\x01M4V isom", "mp4"),
        (b"\x00\x01\x02\x03moov\x00\x00\x00\x6cmvhd", "mov"),  # old QuickTime without ftyp
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),
        (b"%PDF-1.7\n", None),
        (b"", None),
        (GARBAGE[:64], None),
    ],
    ids=["heic", "avif", "qt-brand", "m4v", "bare-moov", "wav", "pdf", "empty", "garbage"],
)
def test_sniff_type_on_crafted_heads(head: bytes, expected: str | None) -> None:
    assert sniff_type(head) == expected


# --- inspect_image -------------------------------------------------------------------------------------
def test_inspect_image_reads_format_and_size() -> None:
    assert inspect_image(make_image(640, 360, "WEBP")) == ImageInfo(format="webp", width=640, height=360)


def test_inspect_image_refuses_what_is_not_a_picture() -> None:
    assert "not a picture" in refusal(inspect_image, GARBAGE)


# --- prepare_image: accepted -----------------------------------------------------------------------------
@pytest.mark.parametrize(("fmt", "kind", "name"), [("PNG", "png", "me.png"), ("JPEG", "jpeg", "me.jpg")])
def test_png_and_jpeg_pass_through_unchanged(fmt: str, kind: str, name: str) -> None:
    data = make_image(512, 768, fmt)
    prepared = prepare_image(data, name)
    assert prepared.data == data
    assert prepared.filename == name
    assert prepared.content_type == f"image/{kind}"
    assert prepared.notes == []
    assert prepared.info == ImageInfo(format=kind, width=512, height=768)


def test_jpeg_named_png_is_accepted_and_named_for_what_it_is() -> None:
    data = make_image(512, 512, "JPEG")
    prepared = prepare_image(data, "selfie.png")
    assert prepared.data == data
    assert (prepared.filename, prepared.content_type) == ("selfie.jpg", "image/jpeg")


@pytest.mark.parametrize(("width", "height"), [(300, 300), (300, 750), (750, 300)])
def test_smallest_side_and_extreme_aspect_ratios_are_accepted(width: int, height: int) -> None:
    assert prepare_image(make_image(width, height), "edge.png").info.width == width


def test_filename_is_made_safe() -> None:
    assert prepare_image(make_image(), "../../my photo (1)!.webp").filename == "my_photo_1.png"
    assert prepare_image(make_image(), "....png").filename == "image.png"


def test_prepared_media_becomes_a_media_input_without_leaking_bytes_in_repr() -> None:
    prepared = prepare_image(make_image(), "a.png")
    item = prepared.as_media_input("https://example.test/a.png")
    assert (item.data, item.filename, item.content_type, item.url) == (
        prepared.data,
        "a.png",
        "image/png",
        "https://example.test/a.png",
    )
    assert "\\x89PNG" not in repr(prepared)


# --- prepare_image: converted ----------------------------------------------------------------------------
def test_webp_is_converted_to_png() -> None:
    prepared = prepare_image(make_image(640, 480, "WEBP"), "face.webp")
    assert sniff_type(prepared.data) == "png"
    assert (prepared.filename, prepared.content_type) == ("face.png", "image/png")
    assert prepared.notes == ["Your WebP image was converted to PNG."]
    assert prepared.info == ImageInfo(format="png", width=640, height=480)


def test_transparent_webp_keeps_its_transparency() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (400, 400), (255, 0, 0, 128)).save(out, format="WEBP", lossless=True)
    prepared = prepare_image(out.getvalue(), "sticker.webp")
    with Image.open(io.BytesIO(prepared.data)) as converted:
        assert converted.mode == "RGBA"
        assert converted.getpixel((10, 10)) == (255, 0, 0, 128)


def test_animated_gif_becomes_its_first_frame() -> None:
    data = make_animated_gif(400, 400, frames=3)
    prepared = prepare_image(data, "dance.gif")
    assert prepared.notes == ["Your GIF image was converted to PNG (its first frame)."]
    with Image.open(io.BytesIO(data)) as gif, Image.open(io.BytesIO(prepared.data)) as png:
        gif.seek(0)
        assert png.convert("RGB").tobytes() == gif.convert("RGB").tobytes()


def test_conversion_falls_back_to_jpeg_when_the_png_would_be_too_big(monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_image(640, 640, "WEBP")
    as_png = prepare_image(data, "big.webp")
    monkeypatch.setattr(media, "IMAGE_MAX_BYTES", len(as_png.data) - 1)
    prepared = prepare_image(data, "big.webp")
    assert sniff_type(prepared.data) == "jpeg"
    assert (prepared.filename, prepared.content_type) == ("big.jpg", "image/jpeg")
    assert "converted to JPEG" in prepared.notes[0] and "as a PNG" in prepared.notes[0]


def test_conversion_still_over_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(media, "IMAGE_MAX_BYTES", 1_000)
    message = refusal(prepare_image, make_image(640, 640, "WEBP"), "big.webp")
    assert "over 0.1 MB even once converted from WebP" in message
    assert "smaller JPG or PNG" in message


def test_webp_with_too_many_pixels_to_convert_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(media, "IMAGE_MAX_CONVERT_PIXELS", 500 * 500)
    message = refusal(prepare_image, make_image(600, 600, "WEBP"), "huge.webp")
    assert "600\u00d7600 px WebP, too large to convert" in message
    assert "JPG or PNG" in message


# --- prepare_image: refused ------------------------------------------------------------------------------
def test_mp4_named_png_is_refused() -> None:
    message = refusal(prepare_image, clip(3.0), "totally-a-picture.png")
    assert message.startswith("The character image is a video (MP4), not a picture")
    assert "JPG or PNG" in message


def test_garbage_is_refused_as_an_image() -> None:
    assert "is not a picture the bot can read" in refusal(prepare_image, GARBAGE, "x.jpg")


def test_empty_image_is_refused() -> None:
    assert "is an empty file (0 bytes)" in refusal(prepare_image, b"", "x.png")


def test_image_over_10_mb_is_refused() -> None:
    data = make_noise_image(1900, 1900)
    assert len(data) > media.IMAGE_MAX_BYTES
    message = refusal(prepare_image, data, "noise.png")
    assert "is 10.9 MB; pictures may be at most 10 MB" in message


def test_short_side_under_300_px_is_refused_and_the_role_is_named() -> None:
    message = refusal(prepare_image, make_image(299, 600), "small.png", role="end image")
    assert message.startswith("The end image is 299\u00d7600 px")
    assert "shorter side must be at least 300 px" in message


def test_long_side_over_65536_px_is_refused() -> None:
    message = refusal(prepare_image, make_flat_image(65_600, 300), "strip.png")
    assert "65600\u00d7300 px; its longer side may be at most 65536 px" in message


@pytest.mark.parametrize(("width", "height", "ratio"), [(1000, 300, "3.33:1"), (300, 1000, "1:3.33")])
def test_aspect_ratio_outside_1_to_2_5_is_refused(width: int, height: int, ratio: str) -> None:
    message = refusal(prepare_image, make_image(width, height), "banner.png")
    assert f"({ratio})" in message
    assert "between 1:2.5 and 2.5:1" in message and "crop" in message


def test_decompression_bomb_is_refused_before_decoding() -> None:
    message = refusal(prepare_image, make_lying_png(20_000, 10_000), "bomb.png")
    assert "far too many pixels" in message


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_image_is_refused(fmt: str) -> None:
    data = make_image(512, 512, fmt)
    message = refusal(prepare_image, data[: len(data) // 2], "cut.png")
    assert "could not be read" in message and "JPG or PNG" in message


# --- probe_video ---------------------------------------------------------------------------------------
def test_probe_video_describes_bytes_and_paths_alike(tmp_path: Path) -> None:
    data = clip(4.0, container="mov", audio=True)
    path = tmp_path / "clip.mov"
    path.write_bytes(data)
    expected = VideoInfo(
        container="mov",
        duration=pytest.approx(4.0, abs=0.1),  # type: ignore[arg-type]
        width=SIDE,
        height=SIDE,
        fps=6.0,
        has_audio=True,
        video_codec="h264",
        size_bytes=len(data),
    )
    assert probe_video(data) == expected
    assert probe_video(path) == expected


def test_probe_video_refuses_garbage() -> None:
    assert "could not be read" in refusal(probe_video, GARBAGE)


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
    assert_trimmed(prepared, 10.0, fps=6, shortfall=media.REMUX_MAX_SHORTFALL)


def test_trim_re_encodes_when_a_stream_copy_would_end_too_early(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(media, "REMUX_MAX_SHORTFALL", 0.01)
    prepared = prepare_motion_video(clip(11.0, bframes=3), "camera.mp4", orientation="image")
    assert_trimmed(prepared, 10.0, fps=6)


def test_slightly_long_video_is_trimmed_to_30_s_for_orientation_video() -> None:
    prepared = prepare_motion_video(clip(33.0, fps=2), "long.mp4", orientation="video")
    assert_trimmed(prepared, 30.0, fps=2)
    assert "trimmed to 30 s, the limit with orientation: video" in prepared.notes[0]


def test_trim_re_encodes_when_a_stream_copy_is_not_possible(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_stream_copy(*args: object, **kwargs: object) -> None:
        raise av.error.InvalidDataError(0, "cannot copy")

    monkeypatch.setattr(media, "_remux_head", no_stream_copy)
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
    data = clip(4.0) + bytes(media.VIDEO_MAX_BYTES)
    message = refusal(prepare_motion_video, data, "huge.mp4", orientation="video")
    assert message.startswith("The reference video is 100.")
    assert "MB; motion control accepts videos up to 100 MB" in message


def test_unknown_orientation_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="orientation"):
        prepare_motion_video(clip(4.0), "v.mp4", orientation="sideways")


# --- fit_video_to_size -----------------------------------------------------------------------------------
def write(tmp_path: Path, data: bytes, name: str = "src.mp4") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_noisy_video_is_fitted_under_the_limit(tmp_path: Path) -> None:
    src = write(tmp_path, clip(3.0, noise=True, audio=True))
    dst = tmp_path / "out.mp4"
    limit = src.stat().st_size // 3
    assert fit_video_to_size(src, dst, limit)
    assert dst.stat().st_size <= limit
    info = probe_video(dst)
    assert info.duration == pytest.approx(3.0, abs=0.1)
    assert info.has_audio and (info.width, info.height) == (SIDE, SIDE)
    assert decoded_frames(dst.read_bytes()) == 18
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4", "src.mp4"]  # no leftovers


def test_low_bitrate_fit_downscales(tmp_path: Path) -> None:
    src = write(tmp_path, make_video(2.0, 960, 540, fps=6, noise=True))
    dst = tmp_path / "out.mp4"
    assert fit_video_to_size(src, dst, 175_000)  # about 640 kbit/s: 480p on the long side
    info = probe_video(dst)
    assert (info.width, info.height) == (854, 480)
    assert info.size_bytes <= 175_000


def test_second_attempt_lowers_the_bitrate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(media, "FIT_SIZE_MARGIN", 1.6)  # the first attempt aims too high on purpose
    src = write(tmp_path, clip(3.0, noise=True))
    dst = tmp_path / "out.mp4"
    limit = src.stat().st_size // 3
    with caplog.at_level(logging.INFO, logger="bot.media"):
        assert fit_video_to_size(src, dst, limit)
    assert dst.stat().st_size <= limit
    assert "fit attempt 2" in caplog.text


def test_fitting_below_the_watchable_bitrate_returns_false(tmp_path: Path) -> None:
    src = write(tmp_path, clip(3.0, noise=True))
    dst = tmp_path / "out.mp4"
    assert not fit_video_to_size(src, dst, 40_000)  # about 100 kbit/s
    assert not dst.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["src.mp4"]


def test_a_video_that_already_fits_is_copied(tmp_path: Path) -> None:
    data = clip(3.0)
    dst = tmp_path / "out.mp4"
    assert fit_video_to_size(write(tmp_path, data), dst, len(data))
    assert dst.read_bytes() == data


def test_an_undecodable_result_returns_false(tmp_path: Path) -> None:
    dst = tmp_path / "out.mp4"
    assert not fit_video_to_size(write(tmp_path, GARBAGE * 100), dst, 1_000)
    assert not dst.exists()
