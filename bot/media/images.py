"""Pictures: checked against the provider's rules and decoded in full; WebP and GIF converted to PNG."""

from __future__ import annotations

import io
from typing import Final

import av
from PIL import Image

from bot.media.files import CONTENT_TYPES, ImageInfo, PreparedMedia, output_name
from bot.media.sniffing import (
    DISPLAY_NAMES,
    IMAGE_PASSTHROUGH,
    IMAGE_TYPES,
    MOTION_VIDEO_TYPES,
    OTHER_VIDEO_TYPES,
    SNIFF_BYTES,
    sniff_type,
)
from bot.media.wording import GENERIC_IMAGE_HINT, TIMES, MediaError, damaged_image, megabytes

# Motion-control character image: providers.md §5 "Motion: image formats"; PRODUCT.md §4 step 2.
IMAGE_MAX_BYTES: Final = 10_000_000  # "≤10 MB", read as decimal megabytes (the stricter reading)
IMAGE_MIN_SIDE: Final = 300  # "≥300 px" (official: 300-65536 px)
IMAGE_MAX_SIDE: Final = 65_536
IMAGE_MAX_ASPECT: Final = 2.5  # "aspect 1:2.5-2.5:1"
# Our own bound, not a provider's: the most pixels decoded at full size (≈100 MB as RGBA), to convert a
# WebP/GIF or to check a PNG. JPEG is checked at 1/8 scale, so it is not held to it; a larger PNG gets a
# walk over its chunks' checksums instead of a decode.
IMAGE_MAX_CONVERT_PIXELS: Final = 25_000_000
CONVERTED_JPEG_QUALITY: Final = 90  # used only when the PNG conversion would exceed IMAGE_MAX_BYTES

_PIL_FORMATS: Final = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP", "gif": "GIF"}
# Decoding exceptions Pillow raises for damaged or truncated files.
_DECODE_ERRORS: Final = (OSError, SyntaxError, ValueError, EOFError)


def inspect_image(data: bytes, *, role: str = "image") -> ImageInfo:
    """Format and size from the header alone; no pixels are decoded. `role` names it in messages."""
    label = f"The {role}"
    kind = sniff_type(data[:SNIFF_BYTES])
    if kind not in IMAGE_TYPES:
        raise MediaError(f"{label} is not a picture the bot can read; {GENERIC_IMAGE_HINT}.")
    with _open_image(data, kind, label) as image:
        width, height = image.size
    return ImageInfo(format=kind, width=width, height=height)


def prepare_image(data: bytes, filename: str, *, role: str = "character image") -> PreparedMedia:
    """Check a picture against the provider's rules; pass JPEG/PNG through, convert WebP/GIF to PNG.

    A picture is decoded before it is accepted, so a damaged one is refused before anything is charged.
    """
    label = f"The {role}"
    if not data:
        raise MediaError(f"{label} is an empty file (0 bytes); {GENERIC_IMAGE_HINT}.")
    _refuse_non_image(sniff_type(data[:SNIFF_BYTES]), label)
    info = inspect_image(data, role=role)
    _check_image_geometry(info, label)
    if info.format not in IMAGE_PASSTHROUGH:
        return _convert_image(data, filename, info, label)
    if len(data) > IMAGE_MAX_BYTES:
        raise MediaError(
            f"{label} is {megabytes(len(data))}; pictures may be at most {megabytes(IMAGE_MAX_BYTES)}, "
            "so attach a smaller or more compressed JPG or PNG."
        )
    _decode_in_full(data, info, label)
    return PreparedMedia(
        data=data,
        filename=output_name(filename, info.format, "image"),
        content_type=CONTENT_TYPES[info.format],
        notes=[],
        info=info,
    )


def _refuse_non_image(kind: str | None, label: str) -> None:
    if kind in MOTION_VIDEO_TYPES or kind in OTHER_VIDEO_TYPES:
        raise MediaError(f"{label} is a video ({DISPLAY_NAMES[kind]}), not a picture; {GENERIC_IMAGE_HINT}.")
    if kind not in IMAGE_TYPES:
        raise MediaError(f"{label} is not a picture the bot can read; {GENERIC_IMAGE_HINT}.")


def _open_image(data: bytes, kind: str, label: str) -> Image.Image:
    """Open lazily (header only), letting Pillow try just the sniffed format."""
    try:
        return Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[kind]])
    except Image.DecompressionBombError as exc:
        # Pillow refuses pictures of more than twice Image.MAX_IMAGE_PIXELS before decoding anything.
        raise MediaError(
            f"{label} has far too many pixels to process; attach a JPG or PNG of at most a few tens "
            "of megapixels."
        ) from exc
    except _DECODE_ERRORS as exc:
        raise MediaError(damaged_image(label)) from exc


def _check_image_geometry(info: ImageInfo, label: str) -> None:
    short, long = sorted((info.width, info.height))
    size = f"{info.width}{TIMES}{info.height} px"
    if short < IMAGE_MIN_SIDE:
        raise MediaError(
            f"{label} is {size}; its shorter side must be at least {IMAGE_MIN_SIDE} px, "
            "so attach a larger picture."
        )
    if long > IMAGE_MAX_SIDE:
        raise MediaError(f"{label} is {size}; its longer side may be at most {IMAGE_MAX_SIDE} px.")
    if long / short > IMAGE_MAX_ASPECT:
        portrait = info.height > info.width
        ratio = f"1:{long / short:.2f}" if portrait else f"{long / short:.2f}:1"
        raise MediaError(
            f"{label} is {size} ({ratio}); the aspect ratio must be between 1:{IMAGE_MAX_ASPECT:g} and "
            f"{IMAGE_MAX_ASPECT:g}:1, so crop it and try again."
        )


def _decode_in_full(data: bytes, info: ImageInfo, label: str) -> None:
    """Decode every byte of picture data, so a damaged or truncated file is refused before it is charged.

    Pillow never tolerates a truncated file here (ImageFile.LOAD_TRUNCATED_IMAGES stays off).
    """
    try:
        with _open_image(data, info.format, label) as image:
            if info.format == "jpeg":
                # Decoding at 1/8 scale still reads every byte of entropy-coded data: cheap and thorough.
                image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
                image.load()
            elif info.width * info.height <= IMAGE_MAX_CONVERT_PIXELS:
                image.load()  # PNG: inflates and unfilters every row
            else:
                image.verify()  # too large to decode here: walk every chunk and check its CRC
    except MediaError:
        raise
    except _DECODE_ERRORS as exc:
        raise MediaError(damaged_image(label)) from exc
    if info.format == "jpeg" and not _jpeg_decodes_cleanly(data):
        raise MediaError(damaged_image(label))


def _jpeg_decodes_cleanly(data: bytes) -> bool:
    """False when the JPEG's entropy-coded data is corrupt.

    libjpeg (behind Pillow) only warns about corrupt data and paints grey; FFmpeg's decoder refuses it
    when told to (err_detect=explode). lowres=3 decodes at 1/8 scale: every byte read, little memory.
    """
    context = av.CodecContext.create("mjpeg", "r")
    context.options = {"err_detect": "explode", "lowres": "3"}
    try:
        context.decode(av.Packet(data))
        context.decode(None)
    except av.error.InvalidDataError:
        return False
    except av.FFmpegError:
        return True  # a feature FFmpeg lacks (arithmetic coding, say): Pillow decoded it, so accept it
    return True


def _convert_image(data: bytes, filename: str, info: ImageInfo, label: str) -> PreparedMedia:
    source = DISPLAY_NAMES[info.format]
    if info.width * info.height > IMAGE_MAX_CONVERT_PIXELS:
        raise MediaError(
            f"{label} is a {info.width}{TIMES}{info.height} px {source}, too large to convert; "
            "attach it as a JPG or PNG instead."
        )
    picture, animated = _first_frame(data, info.format, label)
    first_frame = " (its first frame)" if animated else ""
    png = _encode_image(picture, "PNG")
    if len(png) <= IMAGE_MAX_BYTES:
        note = f"Your {source} image was converted to PNG{first_frame}."
        return _converted(png, "png", filename, note, info)
    jpeg = _encode_image(_flatten(picture), "JPEG", quality=CONVERTED_JPEG_QUALITY)
    if len(jpeg) <= IMAGE_MAX_BYTES:
        note = (
            f"Your {source} image was converted to JPEG{first_frame}, "
            f"because as a PNG it would have been over {megabytes(IMAGE_MAX_BYTES)}."
        )
        return _converted(jpeg, "jpeg", filename, note, info)
    raise MediaError(
        f"{label} is over {megabytes(IMAGE_MAX_BYTES)} even once converted from {source}; "
        "attach a smaller JPG or PNG."
    )


def _first_frame(data: bytes, kind: str, label: str) -> tuple[Image.Image, bool]:
    """The first frame, decoded in full (so damage shows here), and whether there were more."""
    try:
        with _open_image(data, kind, label) as image:
            animated = bool(getattr(image, "is_animated", False))
            image.seek(0)
            has_alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info
            return image.convert("RGBA" if has_alpha else "RGB"), animated
    except MediaError:
        raise
    except _DECODE_ERRORS as exc:
        raise MediaError(damaged_image(label)) from exc


def _flatten(picture: Image.Image) -> Image.Image:
    """JPEG has no transparency: put the picture on white, as most viewers would show it."""
    if picture.mode != "RGBA":
        return picture
    background = Image.new("RGB", picture.size, (255, 255, 255))
    background.paste(picture, mask=picture.getchannel("A"))
    return background


def _encode_image(picture: Image.Image, fmt: str, **params: int) -> bytes:
    out = io.BytesIO()
    picture.save(out, format=fmt, **params)
    return out.getvalue()


def _converted(data: bytes, kind: str, filename: str, note: str, source: ImageInfo) -> PreparedMedia:
    return PreparedMedia(
        data=data,
        filename=output_name(filename, kind, "image"),
        content_type=CONTENT_TYPES[kind],
        notes=[note],
        info=ImageInfo(format=kind, width=source.width, height=source.height),
    )
