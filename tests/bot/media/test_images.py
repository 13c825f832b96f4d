"""bot.media.images: every accept, convert and refusal of a picture, damaged ones included."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageFile

from bot.media import ImageInfo, images, inspect_image, prepare_image, sniff_type
from tests.bot.media.helpers import GARBAGE, clip, refusal
from tests.support.media import (
    make_animated_gif,
    make_damaged_jpeg,
    make_flat_image,
    make_image,
    make_lying_png,
    make_noise_image,
    png_chunk,
)


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


def test_prepared_media_repr_does_not_leak_the_bytes() -> None:
    prepared = prepare_image(make_image(), "a.png")
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
    monkeypatch.setattr(images, "IMAGE_MAX_BYTES", len(as_png.data) - 1)
    prepared = prepare_image(data, "big.webp")
    assert sniff_type(prepared.data) == "jpeg"
    assert (prepared.filename, prepared.content_type) == ("big.jpg", "image/jpeg")
    assert "converted to JPEG" in prepared.notes[0] and "as a PNG" in prepared.notes[0]


def test_conversion_still_over_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images, "IMAGE_MAX_BYTES", 1_000)
    message = refusal(prepare_image, make_image(640, 640, "WEBP"), "big.webp")
    assert "over 0.1 MB even once converted from WebP" in message
    assert "smaller JPG or PNG" in message


def test_webp_with_too_many_pixels_to_convert_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images, "IMAGE_MAX_CONVERT_PIXELS", 500 * 500)
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
    assert len(data) > images.IMAGE_MAX_BYTES
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


# --- prepare_image: damaged ------------------------------------------------------------------------------
DAMAGED_IMAGE = (
    "The character image is damaged and could not be read; export it again as a JPG or PNG and attach it."
)


def test_jpeg_with_garbage_image_data_is_refused_as_damaged() -> None:
    data = make_damaged_jpeg()
    assert inspect_image(data) == ImageInfo(format="jpeg", width=512, height=512)  # the header is fine
    assert refusal(prepare_image, data, "me.jpg") == DAMAGED_IMAGE


def test_png_with_garbage_pixel_data_but_valid_checksums_is_refused_as_damaged() -> None:
    data = make_image(400, 400)
    start = data.index(b"IDAT") - 4
    size = int.from_bytes(data[start : start + 4], "big")
    garbage = png_chunk(b"IDAT", bytes(range(256)) * (size // 256 + 1))
    damaged = data[:start] + garbage + data[start + 12 + size :]
    assert refusal(prepare_image, damaged, "me.png", role="end image") == DAMAGED_IMAGE.replace(
        "character", "end"
    )


def test_the_damage_check_never_tolerates_truncated_files() -> None:
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


@pytest.mark.parametrize(
    "data",
    [
        make_image(640, 480, "JPEG"),
        make_image(640, 480, "JPEG") + b"trailing bytes after the end of the picture",
    ],
    ids=["plain", "trailing-bytes"],
)
def test_sound_jpegs_pass_the_damage_check(data: bytes) -> None:
    assert prepare_image(data, "me.jpg").data == data


@pytest.mark.parametrize(("mode", "params"), [("L", {}), ("CMYK", {}), ("RGB", {"progressive": True})])
def test_grey_cmyk_and_progressive_jpegs_pass_the_damage_check(mode: str, params: dict[str, bool]) -> None:
    out = io.BytesIO()
    with Image.open(io.BytesIO(make_image(640, 480, "JPEG"))) as picture:
        picture.convert(mode).save(out, format="JPEG", **params)
    assert prepare_image(out.getvalue(), "me.jpg").info.width == 640
