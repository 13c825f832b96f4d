"""Media checks and conversions: member attachments in, provider-ready files out; big results made to fit.

Everything here is a plain blocking function with no Discord or store knowledge. Callers run the slow ones
(`prepare_motion_video`, `fit_video_to_size`) in a worker thread with `asyncio.to_thread`.

Every `MediaError` carries one member-facing sentence: what is wrong and what would be accepted.
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import IO, Final

import av
from PIL import Image

from bot.models import MediaInput

log = logging.getLogger(__name__)

# --- Limits ------------------------------------------------------------------------------------------
# Motion-control character image: providers.md §5 "Motion: image formats"; PRODUCT.md §4 step 2.
IMAGE_MAX_BYTES: Final = 10_000_000  # "≤10 MB", read as decimal megabytes (the stricter reading)
IMAGE_MIN_SIDE: Final = 300  # "≥300 px" (official: 300-65536 px)
IMAGE_MAX_SIDE: Final = 65_536
IMAGE_MAX_ASPECT: Final = 2.5  # "aspect 1:2.5-2.5:1"
# Our own bound, not a provider's: the most pixels decoded to convert a WebP/GIF (≈100 MB as RGBA).
# JPEG and PNG pass through without a full decode, so they are not held to it.
IMAGE_MAX_CONVERT_PIXELS: Final = 25_000_000
CONVERTED_JPEG_QUALITY: Final = 90  # used only when the PNG conversion would exceed IMAGE_MAX_BYTES

# Motion-control reference video: providers.md §5 "Motion: video formats" and "Motion: video duration";
# PRODUCT.md §4 step 2.
VIDEO_MAX_BYTES: Final = 100_000_000  # "≤100 MB", decimal as for images
VIDEO_MIN_SIDE: Final = 340  # "340-3850 px" (official)
VIDEO_MAX_SIDE: Final = 3_850
VIDEO_MIN_SECONDS: Final = 3.0  # "≥3 s"
VIDEO_MAX_SECONDS: Final[dict[str, float]] = {
    "image": 10.0,  # "≤10 s if character_orientation=image"
    "video": 30.0,  # "≤30 s if video"
}
# Ours: PRODUCT.md §4 step 2 lets "a video that is a bit long" be trimmed. Up to 20 % over the limit
# (12 s for orientation image, 36 s for video) is trimmed to the limit; anything longer is refused,
# because cutting more than a fifth would change the motion the member chose.
VIDEO_TRIM_TOLERANCE: Final = 0.20
# Ours: container durations are floats from rationals; ignore differences smaller than this.
DURATION_EPSILON: Final = 0.001
# Ours: a stream-copy trim may end a few frames early (it can only cut before a frame that a kept frame
# depends on); if it ends more than this short of the limit, re-encode instead.
REMUX_MAX_SHORTFALL: Final = 0.5

# Delivery: PRODUCT.md §4 step 7 and discord.md §1 (10 MiB default upload limit, 50/100 MiB boosted).
DISCORD_DEFAULT_UPLOAD_LIMIT: Final = 10 * 1024 * 1024
# Ours: the share of the byte budget given to the streams; the rest covers container overhead and
# single-pass rate-control overshoot.
FIT_SIZE_MARGIN: Final = 0.92
FIT_RETRY_MARGIN: Final = 0.90  # second attempt: scale the bitrate by the overshoot, then by this
FIT_MAX_ATTEMPTS: Final = 2
FIT_AUDIO_KBPS: Final = 96
FIT_AUDIO_KBPS_LOW: Final = 64  # when the whole budget is under FIT_LOW_BUDGET_KBPS
FIT_LOW_BUDGET_KBPS: Final = 1_000
# Ours: long-side caps by video bitrate. Fewer pixels at a low bitrate look better than many starved
# ones: 1080p at 2.5 Mbit/s and up, 720p from 1 Mbit/s, 480p below.
FIT_LONG_SIDE_STEPS: Final = ((2_500, 1_920), (1_000, 1_280), (0, 854))
X264_PRESET: Final = "veryfast"  # small lookahead (flat memory) and quick on two cores

SNIFF_BYTES: Final = 64  # enough of the head for every signature sniff_type knows

# --- Types -------------------------------------------------------------------------------------------
IMAGE_PASSTHROUGH: Final = frozenset({"jpeg", "png"})
IMAGE_CONVERTIBLE: Final = frozenset({"webp", "gif"})
MOTION_VIDEO_TYPES: Final = frozenset({"mp4", "mov"})
OTHER_VIDEO_TYPES: Final = frozenset({"mkv", "webm", "avi"})

_DISPLAY_NAMES: Final = {
    "png": "PNG",
    "jpeg": "JPEG",
    "webp": "WebP",
    "gif": "GIF",
    "mp4": "MP4",
    "mov": "MOV",
    "mkv": "MKV",
    "webm": "WebM",
    "avi": "AVI",
}
_EXTENSIONS: Final = {"png": ".png", "jpeg": ".jpg", "mp4": ".mp4", "mov": ".mov"}
_CONTENT_TYPES: Final = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
}
_PIL_FORMATS: Final = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP", "gif": "GIF"}
# PyAV muxer names for the containers the bot writes.
_MUXERS: Final = {"mp4": "mp4", "mov": "mov"}

# ISO-BMFF brands that are pictures (HEIF/AVIF, Canon raw), not videos.
_IMAGE_FTYP_BRANDS: Final = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis", b"crx "}
)
# Old QuickTime files start with a bare atom instead of an ftyp box.
_BARE_QUICKTIME_ATOMS: Final = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})

# Member-facing typography, spelled as escapes so the source stays plain ASCII.
_TIMES: Final = "\u00d7"  # multiplication sign: 1080 x 1920 px
_DASH: Final = "\u2013"  # en dash: 3-30 seconds

_GENERIC_IMAGE_HINT: Final = "attach a JPG or PNG picture (WebP and GIF are converted)"


class MediaError(Exception):
    """An attachment the bot cannot use; str() is one sentence a member can act on."""


@dataclass(frozen=True, slots=True)
class ImageInfo:
    format: str  # a sniff_type() name: "png", "jpeg", "webp", "gif"
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class VideoInfo:
    container: str  # a sniff_type() name when known ("mp4", "mov", ...), else FFmpeg's demuxer name
    duration: float  # seconds
    width: int
    height: int
    fps: float  # 0.0 when the file does not say
    has_audio: bool
    video_codec: str
    size_bytes: int


@dataclass(frozen=True, slots=True)
class PreparedMedia:
    """A file ready for a provider, with what was done to it in sentences for the member."""

    data: bytes
    filename: str
    content_type: str
    notes: list[str]
    info: ImageInfo | VideoInfo

    def as_media_input(self, url: str | None = None) -> MediaInput:
        return MediaInput(data=self.data, filename=self.filename, content_type=self.content_type, url=url)

    def __repr__(self) -> str:  # never print the bytes
        return f"PreparedMedia({self.filename!r}, {self.content_type}, {len(self.data)} bytes, {self.info})"


# --- Sniffing ----------------------------------------------------------------------------------------
def sniff_type(head: bytes) -> str | None:
    """The file type from its first bytes (SNIFF_BYTES is enough), or None when it is none we know."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF":
        return {b"WEBP": "webp", b"AVI ": "avi"}.get(head[8:12])
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: the DocType element names the flavour
        return "webm" if b"webm" in head[:SNIFF_BYTES] else "mkv"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            return "mov"
        return None if brand in _IMAGE_FTYP_BRANDS else "mp4"
    if head[4:8] in _BARE_QUICKTIME_ATOMS:
        return "mov"
    return None


# --- Images ------------------------------------------------------------------------------------------
def inspect_image(data: bytes, *, role: str = "image") -> ImageInfo:
    """Format and size from the header alone; no pixels are decoded. `role` names it in messages."""
    label = f"The {role}"
    kind = sniff_type(data[:SNIFF_BYTES])
    if kind not in _PIL_FORMATS:
        raise MediaError(f"{label} is not a picture the bot can read; {_GENERIC_IMAGE_HINT}.")
    with _open_image(data, kind, label) as image:
        width, height = image.size
    return ImageInfo(format=kind, width=width, height=height)


def prepare_image(data: bytes, filename: str, *, role: str = "character image") -> PreparedMedia:
    """Check a picture against the provider's rules; pass JPEG/PNG through, convert WebP/GIF to PNG."""
    label = f"The {role}"
    if not data:
        raise MediaError(f"{label} is an empty file (0 bytes); {_GENERIC_IMAGE_HINT}.")
    kind = sniff_type(data[:SNIFF_BYTES])
    _refuse_non_image(kind, label)
    info = inspect_image(data, role=role)
    _check_image_geometry(info, label)
    if info.format in IMAGE_PASSTHROUGH:
        if len(data) > IMAGE_MAX_BYTES:
            raise MediaError(
                f"{label} is {_megabytes(len(data))}; pictures may be at most {_megabytes(IMAGE_MAX_BYTES)}, "
                "so attach a smaller or more compressed JPG or PNG."
            )
        _verify_image(data, info.format, label)
        return PreparedMedia(
            data=data,
            filename=_output_name(filename, info.format, "image"),
            content_type=_CONTENT_TYPES[info.format],
            notes=[],
            info=info,
        )
    return _convert_image(data, filename, info, label)


def _refuse_non_image(kind: str | None, label: str) -> None:
    if kind in MOTION_VIDEO_TYPES or kind in OTHER_VIDEO_TYPES:
        raise MediaError(
            f"{label} is a video ({_DISPLAY_NAMES[kind]}), not a picture; {_GENERIC_IMAGE_HINT}."
        )
    if kind not in _PIL_FORMATS:
        raise MediaError(f"{label} is not a picture the bot can read; {_GENERIC_IMAGE_HINT}.")


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
    except (OSError, SyntaxError, ValueError) as exc:
        raise MediaError(_damaged_image(label)) from exc


def _damaged_image(label: str) -> str:
    return (
        f"{label} could not be read (the file may be damaged or cut short); "
        "save it again as a JPG or PNG and try again."
    )


def _check_image_geometry(info: ImageInfo, label: str) -> None:
    short, long = sorted((info.width, info.height))
    size = f"{info.width}{_TIMES}{info.height} px"
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


def _verify_image(data: bytes, kind: str, label: str) -> None:
    """Catch damaged or truncated files before a provider does, without a full-size decode."""
    try:
        with _open_image(data, kind, label) as image:
            if kind == "jpeg":
                # Decoding at 1/8 scale still reads every byte of entropy-coded data: cheap and thorough.
                image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
                image.load()
            else:
                image.verify()  # PNG: walks every chunk and checks its CRC
    except MediaError:
        raise
    except (OSError, SyntaxError, ValueError) as exc:
        raise MediaError(_damaged_image(label)) from exc


def _convert_image(data: bytes, filename: str, info: ImageInfo, label: str) -> PreparedMedia:
    source = _DISPLAY_NAMES[info.format]
    if info.width * info.height > IMAGE_MAX_CONVERT_PIXELS:
        raise MediaError(
            f"{label} is a {info.width}{_TIMES}{info.height} px {source}, too large to convert; "
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
            f"because as a PNG it would have been over {_megabytes(IMAGE_MAX_BYTES)}."
        )
        return _converted(jpeg, "jpeg", filename, note, info)
    raise MediaError(
        f"{label} is over {_megabytes(IMAGE_MAX_BYTES)} even once converted from {source}; "
        "attach a smaller JPG or PNG."
    )


def _first_frame(data: bytes, kind: str, label: str) -> tuple[Image.Image, bool]:
    try:
        with _open_image(data, kind, label) as image:
            animated = bool(getattr(image, "is_animated", False))
            image.seek(0)
            has_alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info
            return image.convert("RGBA" if has_alpha else "RGB"), animated
    except MediaError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise MediaError(_damaged_image(label)) from exc


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
        filename=_output_name(filename, kind, "image"),
        content_type=_CONTENT_TYPES[kind],
        notes=[note],
        info=ImageInfo(format=kind, width=source.width, height=source.height),
    )


# --- Videos: probing ---------------------------------------------------------------------------------
def probe_video(source: bytes | str | os.PathLike[str]) -> VideoInfo:
    """Describe a video (bytes or a path); MediaError if it has no decodable video track."""
    return _probe(source, "The video")


def _probe(source: bytes | str | os.PathLike[str], label: str) -> VideoInfo:
    if isinstance(source, bytes):
        head, size = source[:SNIFF_BYTES], len(source)
        target: IO[bytes] | str = io.BytesIO(source)  # shares the buffer: no copy
    else:
        path = Path(source)
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
        target = str(path)
    unreadable = (
        f"{label} could not be read (it may be damaged or use a codec the bot cannot decode); "
        "export it again as an MP4 (H.264) and try again."
    )
    try:
        with av.open(target, mode="r") as container:
            return _describe(container, sniff_type(head), size, label)
    except MediaError:
        raise
    except (av.FFmpegError, OSError, ValueError, EOFError, IndexError) as exc:
        raise MediaError(unreadable) from exc


def _describe(container: av.container.InputContainer, kind: str | None, size: int, label: str) -> VideoInfo:
    if not container.streams.video:
        raise MediaError(f"{label} has no picture track; attach a video with moving pictures (MP4 or MOV).")
    stream = container.streams.video[0]
    duration = _duration(container, stream)
    # A readable header can still hide broken or undecodable pictures: decode the first one to be sure.
    first = next(iter(container.decode(stream)), None)
    if first is None:
        raise MediaError(f"{label} has no pictures that can be decoded; export it again as an MP4 (H.264).")
    if duration is None:
        raise MediaError(f"{label} does not say how long it is; export it again as an MP4 and try again.")
    rate = stream.average_rate or stream.guessed_rate
    known_containers = MOTION_VIDEO_TYPES | OTHER_VIDEO_TYPES
    return VideoInfo(
        container=kind if kind in known_containers else container.format.name.split(",")[0],
        duration=duration,
        width=stream.codec_context.width or first.width,
        height=stream.codec_context.height or first.height,
        fps=float(rate) if rate else 0.0,
        has_audio=bool(container.streams.audio),
        video_codec=stream.codec_context.name,
        size_bytes=size,
    )


def _duration(container: av.container.InputContainer, stream: av.VideoStream) -> float | None:
    """Seconds, from the container, else the video stream, else the last packet's end."""
    if container.duration:
        return float(container.duration) / av.time_base
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    end: float | None = None
    start = float(stream.start_time * stream.time_base) if stream.start_time and stream.time_base else 0.0
    for packet in container.demux(stream):
        if packet.pts is None or packet.time_base is None:
            continue
        packet_end = float((packet.pts + (packet.duration or 0)) * packet.time_base) - start
        end = packet_end if end is None else max(end, packet_end)
    container.seek(0)  # the caller decodes the first frame next
    return end


# --- Videos: the motion reference --------------------------------------------------------------------
def prepare_motion_video(data: bytes, filename: str, *, orientation: str) -> PreparedMedia:
    """Check a motion-control reference video; trim one slightly over its length limit.

    `orientation` is the request's character_orientation, "image" or "video" (a ValueError otherwise:
    that is the caller's bug, not the member's).
    """
    limit = _duration_limit(orientation)
    label = "The reference video"
    if not data:
        raise MediaError(
            f"{label} is an empty file (0 bytes); attach an MP4 or MOV video of "
            f"{VIDEO_MIN_SECONDS:g}{_DASH}{VIDEO_MAX_SECONDS['video']:g} seconds."
        )
    kind = _motion_container(data, label)
    if len(data) > VIDEO_MAX_BYTES:
        raise MediaError(
            f"{label} is {_megabytes(len(data))}; motion control accepts videos up to "
            f"{_megabytes(VIDEO_MAX_BYTES)}, so shorten or compress it and try again."
        )
    info = _probe(data, label)
    _check_video_geometry(info, label)
    if info.duration < VIDEO_MIN_SECONDS - DURATION_EPSILON:
        shown = _seconds_past(info.duration, VIDEO_MIN_SECONDS)
        raise MediaError(
            f"{label} is {shown} seconds long; motion control needs at least {VIDEO_MIN_SECONDS:g} seconds."
        )
    name = _output_name(filename, kind, "video")
    if info.duration <= limit + DURATION_EPSILON:
        return PreparedMedia(data=data, filename=name, content_type=_CONTENT_TYPES[kind], notes=[], info=info)
    if info.duration > limit * (1 + VIDEO_TRIM_TOLERANCE):
        raise MediaError(_too_long(info.duration, orientation, label))
    trimmed, trimmed_info = _trim_video(data, kind, limit, info, label)
    note = (
        f"Your video was {_seconds_past(info.duration, limit)} s long; it was trimmed to {limit:g} s, "
        f"the limit with orientation: {orientation}."
    )
    return PreparedMedia(
        data=trimmed, filename=name, content_type=_CONTENT_TYPES[kind], notes=[note], info=trimmed_info
    )


def _duration_limit(orientation: str) -> float:
    try:
        return VIDEO_MAX_SECONDS[orientation]
    except KeyError:
        choices = sorted(VIDEO_MAX_SECONDS)
        raise ValueError(f"orientation must be one of {choices}, not {orientation!r}") from None


def _motion_container(data: bytes, label: str) -> str:
    """ "mp4" or "mov" by content, whatever the file is called; anything else is refused."""
    kind = sniff_type(data[:SNIFF_BYTES])
    if kind is not None and kind in MOTION_VIDEO_TYPES:
        return kind
    if kind in OTHER_VIDEO_TYPES:
        raise MediaError(
            f"{label} is in {_DISPLAY_NAMES[kind]} format; motion control accepts only MP4 or MOV videos, "
            "so convert it to MP4 and try again."
        )
    if kind in _PIL_FORMATS:
        raise MediaError(
            f"{label} is a picture ({_DISPLAY_NAMES[kind]}), not a video; attach an MP4 or MOV video."
        )
    raise MediaError(f"{label} is not a video the bot recognises; attach an MP4 or MOV video.")


def _check_video_geometry(info: VideoInfo, label: str) -> None:
    if all(VIDEO_MIN_SIDE <= side <= VIDEO_MAX_SIDE for side in (info.width, info.height)):
        return
    raise MediaError(
        f"{label} is {info.width}{_TIMES}{info.height} px; motion control needs each side to be between "
        f"{VIDEO_MIN_SIDE} and {VIDEO_MAX_SIDE} px."
    )


def _too_long(duration: float, orientation: str, label: str) -> str:
    image_limit, video_limit = VIDEO_MAX_SECONDS["image"], VIDEO_MAX_SECONDS["video"]
    shown = _seconds_past(duration, VIDEO_MAX_SECONDS[orientation])
    accepted = f"{VIDEO_MIN_SECONDS:g}{_DASH}{video_limit:g} seconds"
    if orientation == "image" and duration <= video_limit * (1 + VIDEO_TRIM_TOLERANCE):
        return (
            f"{label} is {shown} seconds long, over the {image_limit:g}-second limit with orientation: "
            f"image; choose orientation: video (up to {video_limit:g} seconds) or trim it to "
            f"{image_limit:g} seconds and try again."
        )
    if orientation == "image":
        return (
            f"{label} is {shown} seconds long; motion control accepts {accepted} "
            f"(at most {image_limit:g} with orientation: image), so trim it and try again."
        )
    return (
        f"{label} is {shown} seconds long; motion control accepts {accepted}, "
        f"so trim it to {video_limit:g} seconds or less and try again."
    )


def _trim_video(
    data: bytes, kind: str, seconds: float, info: VideoInfo, label: str
) -> tuple[bytes, VideoInfo]:
    """The first `seconds` of the video: stream copy when it cuts cleanly, otherwise a re-encode."""
    with tempfile.TemporaryDirectory(prefix="klingbot-media-") as tmp:
        out = Path(tmp) / f"trimmed{_EXTENSIONS[kind]}"
        try:
            _remux_head(io.BytesIO(data), out, _MUXERS[kind], seconds)
            trimmed = _probe(out, label)
            if seconds - REMUX_MAX_SHORTFALL <= trimmed.duration <= seconds + DURATION_EPSILON:
                return out.read_bytes(), trimmed
            log.info("stream-copy trim gave %.3f s for %.1f s; re-encoding", trimmed.duration, seconds)
        except (av.FFmpegError, MediaError, OSError, ValueError) as exc:
            log.info("stream-copy trim failed (%s); re-encoding", exc)
        # Keep roughly the source's bitrate so the re-encode is neither bloated nor visibly worse.
        source_kbps = max(500, int(info.size_bytes * 8 / 1000 / max(info.duration, 1.0)))
        try:
            _transcode(
                io.BytesIO(data),
                out,
                _MUXERS[kind],
                video_kbps=source_kbps,
                audio_kbps=FIT_AUDIO_KBPS,
                long_side=None,
                max_seconds=seconds,
            )
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise MediaError(
                f"{label} could not be trimmed to {seconds:g} seconds; trim it yourself and try again."
            ) from exc
        trimmed = _probe(out, label)
        if trimmed.size_bytes > VIDEO_MAX_BYTES:
            raise MediaError(
                f"{label} could not be trimmed to {seconds:g} seconds within {_megabytes(VIDEO_MAX_BYTES)}; "
                "trim it yourself and try again."
            )
        return out.read_bytes(), trimmed


def _remux_head(source: IO[bytes], dst: Path, muxer: str, seconds: float) -> None:
    """Copy packets (no decoding) of the first video and audio tracks up to `seconds`.

    In decode order, every packet depends only on earlier ones, so stopping at the first video packet
    shown at or after the cut keeps a decodable prefix; with B-frames it may end a few frames early.
    Audio packets are kept only if they end by the cut, so no track outlasts the limit.
    """
    with (
        av.open(source, mode="r") as inp,
        av.open(str(dst), mode="w", format=muxer, container_options={"movflags": "+faststart"}) as out,
    ):
        vin = inp.streams.video[0]
        ain = inp.streams.audio[0] if inp.streams.audio else None
        vout = out.add_stream_from_template(vin)
        # PyAV resets the tag for remuxing; keep it (same container family), or HEVC's "hvc1" that
        # Apple players need would become "hev1".
        vout.codec_context.codec_tag = vin.codec_context.codec_tag
        aout = out.add_stream_from_template(ain) if ain is not None else None
        origin = _start_seconds(vin)
        video_done, audio_done = False, ain is None
        for packet in inp.demux([vin] if ain is None else [vin, ain]):
            if packet.dts is None or packet.time_base is None:
                continue  # end-of-stream marker
            start = float((packet.pts if packet.pts is not None else packet.dts) * packet.time_base) - origin
            if packet.stream is vin:
                video_done = video_done or start >= seconds - DURATION_EPSILON
                if not video_done:
                    packet.stream = vout
                    out.mux(packet)
            else:
                end = start + float((packet.duration or 0) * packet.time_base)
                audio_done = audio_done or end > seconds + DURATION_EPSILON
                if not audio_done and aout is not None:
                    packet.stream = aout
                    out.mux(packet)
            if video_done and audio_done:
                break


def _start_seconds(stream: av.VideoStream | av.AudioStream) -> float:
    if stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)


# --- Videos: re-encoding -----------------------------------------------------------------------------
def fit_video_to_size(src: Path, dst: Path, max_bytes: int, *, min_video_kbps: int = 200) -> bool:
    """Re-encode `src` (H.264/AAC MP4) into `dst` so that it is at most `max_bytes`; blocking.

    The bitrate comes from the byte budget over the duration, with a margin; at lower bitrates the
    picture is downscaled (FIT_LONG_SIDE_STEPS). If the first attempt lands over, a second one runs at a
    bitrate lowered by the overshoot. Returns False, leaving no `dst`, when that would take a video
    bitrate under `min_video_kbps` (not watchable), when two attempts did not fit, or when `src` cannot
    be decoded: the caller then posts a link instead. A `src` that already fits is copied as it is.
    Frames stream from disk to disk, so memory stays flat whatever the file size.
    """
    if src.stat().st_size <= max_bytes:
        shutil.copyfile(src, dst)
        return True
    try:
        info = probe_video(src)
    except MediaError:
        log.warning("cannot decode %s to fit it under %d bytes", src.name, max_bytes)
        return False
    budget_kbps = max_bytes * 8 / 1000 / max(info.duration, 0.1) * FIT_SIZE_MARGIN
    audio_kbps = 0
    if info.has_audio:
        audio_kbps = FIT_AUDIO_KBPS if budget_kbps >= FIT_LOW_BUDGET_KBPS else FIT_AUDIO_KBPS_LOW
    video_kbps = int(budget_kbps - audio_kbps)
    part = dst.with_name(f".{dst.name}.part")
    try:
        for attempt in range(1, FIT_MAX_ATTEMPTS + 1):
            if video_kbps < min_video_kbps:
                log.info("fitting %s would need %d kbit/s of video; giving up", src.name, video_kbps)
                return False
            long_side = _long_side_for(video_kbps)
            _transcode(src, part, "mp4", video_kbps=video_kbps, audio_kbps=audio_kbps, long_side=long_side)
            size = part.stat().st_size
            log.info("fit attempt %d: %d kbit/s, long side %d: %d B", attempt, video_kbps, long_side, size)
            if size <= max_bytes:
                os.replace(part, dst)
                return True
            video_kbps = int(video_kbps * max_bytes / size * FIT_RETRY_MARGIN)
        return False
    except (av.FFmpegError, OSError, ValueError) as exc:
        log.warning("re-encoding %s failed: %s", src.name, exc)
        return False
    finally:
        part.unlink(missing_ok=True)


def _long_side_for(video_kbps: int) -> int:
    return next(side for floor, side in FIT_LONG_SIDE_STEPS if video_kbps >= floor)


def _scaled_size(width: int, height: int, long_side: int | None) -> tuple[int, int]:
    """Fit within `long_side` (never upscale), keeping the aspect ratio; even sides, as yuv420p needs."""
    scale = 1.0 if long_side is None else min(1.0, long_side / max(width, height))
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def _transcode(
    src: Path | IO[bytes],
    dst: Path,
    muxer: str,
    *,
    video_kbps: int,
    audio_kbps: int,
    long_side: int | None,
    max_seconds: float | None = None,
) -> None:
    """Decode the first video (and audio) track and encode H.264 (and AAC) into `dst`, frame by frame."""
    with (
        av.open(str(src) if isinstance(src, Path) else src, mode="r") as inp,
        av.open(str(dst), mode="w", format=muxer, container_options={"movflags": "+faststart"}) as out,
    ):
        vin = inp.streams.video[0]
        vin.thread_type = "AUTO"
        ain = inp.streams.audio[0] if inp.streams.audio and audio_kbps > 0 else None
        width, height = _scaled_size(vin.codec_context.width, vin.codec_context.height, long_side)
        vout = _add_h264(out, vin, width, height, video_kbps)
        aout = _add_aac(out, ain, audio_kbps) if ain is not None else None
        cut = None if max_seconds is None else _start_seconds(vin) + max_seconds
        for frame in _decoded(inp, vin, ain, cut):
            if isinstance(frame, av.VideoFrame):
                out.mux(vout.encode(frame.reformat(width=width, height=height, format="yuv420p")))
            elif aout is not None:
                out.mux(aout.encode(frame))
        out.mux(vout.encode(None))
        if aout is not None:
            out.mux(aout.encode(None))


def _add_h264(
    out: av.container.OutputContainer, vin: av.VideoStream, width: int, height: int, kbps: int
) -> av.VideoStream:
    rate = vin.average_rate or vin.guessed_rate or Fraction(30)
    # VBV at the target rate keeps single-pass x264 from overshooting the byte budget on hard content.
    stream = out.add_stream(
        "libx264",
        rate=rate,
        options={"preset": X264_PRESET, "maxrate": f"{kbps}k", "bufsize": f"{2 * kbps}k"},
    )
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.bit_rate = kbps * 1000
    if vin.time_base is not None:
        stream.codec_context.time_base = vin.time_base  # keep the source's timestamps (variable frame rate)
    return stream


def _add_aac(out: av.container.OutputContainer, ain: av.AudioStream, kbps: int) -> av.AudioStream:
    stream = out.add_stream("aac", rate=ain.rate or 44_100)
    stream.layout = "mono" if ain.channels == 1 else "stereo"
    stream.bit_rate = kbps * 1000
    return stream


def _decoded(
    inp: av.container.InputContainer,
    vin: av.VideoStream,
    ain: av.AudioStream | None,
    cut: float | None,
) -> Iterator[av.VideoFrame | av.AudioFrame]:
    """Decoded frames in file order; with a `cut` (seconds), only what ends by it, then stop reading."""
    video_done, audio_done = False, ain is None
    for packet in inp.demux([vin] if ain is None else [vin, ain]):
        for frame in packet.decode():
            if not isinstance(frame, av.VideoFrame | av.AudioFrame):
                continue
            if cut is None or frame.time is None:
                yield frame
            elif isinstance(frame, av.VideoFrame):
                video_done = video_done or frame.time >= cut - DURATION_EPSILON
                if not video_done:
                    yield frame
            else:
                end = frame.time + frame.samples / frame.sample_rate
                audio_done = audio_done or end > cut + DURATION_EPSILON
                if not audio_done:
                    yield frame
        if video_done and audio_done:
            return


# --- Wording and names -------------------------------------------------------------------------------
def _megabytes(size: int) -> str:
    """Rounded up, so a file just over a limit never reads as being at it."""
    return f"{math.ceil(size / 100_000) / 10:g} MB"


def _seconds_past(value: float, bound: float) -> str:
    """Seconds with the fewest decimals (1 to 3) that still show which side of `bound` the value is on,
    so a 10.04 s video is not described as "10.0 seconds" in a sentence about a 10-second limit."""
    for decimals in (1, 2):
        text = f"{value:.{decimals}f}"
        if (float(text) > bound) == (value > bound) and float(text) != bound:
            return text
    return f"{value:.3f}"


def _output_name(filename: str, kind: str, fallback: str) -> str:
    """The member's file name, made safe, with the extension of what the file really is."""
    stem = Path(filename.replace("\\", "/")).stem
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-")[:80] or fallback
    return f"{stem}{_EXTENSIONS[kind]}"
