"""The motion-control reference video: checked against the provider's rules, trimmed when a bit long."""

from __future__ import annotations

import io
import logging
import tempfile
from pathlib import Path
from typing import IO, Final

import av

from bot.media.files import CONTENT_TYPES, EXTENSIONS, PreparedMedia, VideoInfo, output_name
from bot.media.fitting import FIT_AUDIO_KBPS, transcode
from bot.media.probing import DECODE_CHECK_SECONDS, DURATION_EPSILON, probe, start_seconds
from bot.media.sniffing import (
    DISPLAY_NAMES,
    IMAGE_TYPES,
    MOTION_VIDEO_TYPES,
    OTHER_VIDEO_TYPES,
    SNIFF_BYTES,
    sniff_type,
)
from bot.media.wording import DASH, TIMES, MediaError, megabytes, seconds_past

log = logging.getLogger(__name__)

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
# Ours: a stream-copy trim may end a few frames early (it can only cut before a frame that a kept frame
# depends on); if it ends more than this short of the limit, re-encode instead.
REMUX_MAX_SHORTFALL: Final = 0.5

# PyAV muxer names for the containers the bot writes.
_MUXERS: Final = {"mp4": "mp4", "mov": "mov"}
_LABEL: Final = "The reference video"


def prepare_motion_video(data: bytes, filename: str, *, orientation: str) -> PreparedMedia:
    """Check a motion-control reference video; trim one slightly over its length limit.

    `orientation` is the request's character_orientation, "image" or "video" (a ValueError otherwise:
    that is the caller's bug, not the member's). The first seconds are decoded strictly, so a damaged
    video is refused before anything is charged.
    """
    limit = _duration_limit(orientation)
    kind = _motion_container(data)
    info = probe(data, _LABEL, check_seconds=DECODE_CHECK_SECONDS)
    _check_video_geometry(info)
    if info.duration < VIDEO_MIN_SECONDS - DURATION_EPSILON:
        shown = seconds_past(info.duration, VIDEO_MIN_SECONDS)
        raise MediaError(
            f"{_LABEL} is {shown} seconds long; motion control needs at least {VIDEO_MIN_SECONDS:g} seconds."
        )
    name = output_name(filename, kind, "video")
    if info.duration <= limit + DURATION_EPSILON:
        return PreparedMedia(data=data, filename=name, content_type=CONTENT_TYPES[kind], notes=[], info=info)
    if info.duration > limit * (1 + VIDEO_TRIM_TOLERANCE):
        raise MediaError(_too_long(info.duration, orientation))
    trimmed, trimmed_info = _trim_video(data, kind, limit, info)
    note = (
        f"Your video was {seconds_past(info.duration, limit)} s long; it was trimmed to {limit:g} s, "
        f"the limit with orientation: {orientation}."
    )
    return PreparedMedia(
        data=trimmed, filename=name, content_type=CONTENT_TYPES[kind], notes=[note], info=trimmed_info
    )


def _duration_limit(orientation: str) -> float:
    try:
        return VIDEO_MAX_SECONDS[orientation]
    except KeyError:
        choices = sorted(VIDEO_MAX_SECONDS)
        raise ValueError(f"orientation must be one of {choices}, not {orientation!r}") from None


def _motion_container(data: bytes) -> str:
    """ "mp4" or "mov" by content, whatever the file is called; anything else (or too big) is refused."""
    if not data:
        raise MediaError(
            f"{_LABEL} is an empty file (0 bytes); attach an MP4 or MOV video of "
            f"{VIDEO_MIN_SECONDS:g}{DASH}{VIDEO_MAX_SECONDS['video']:g} seconds."
        )
    kind = sniff_type(data[:SNIFF_BYTES])
    if kind in OTHER_VIDEO_TYPES:
        raise MediaError(
            f"{_LABEL} is in {DISPLAY_NAMES[kind]} format; motion control accepts only MP4 or MOV videos, "
            "so convert it to MP4 and try again."
        )
    if kind in IMAGE_TYPES:
        raise MediaError(
            f"{_LABEL} is a picture ({DISPLAY_NAMES[kind]}), not a video; attach an MP4 or MOV video."
        )
    if kind is None or kind not in MOTION_VIDEO_TYPES:
        raise MediaError(f"{_LABEL} is not a video the bot recognises; attach an MP4 or MOV video.")
    if len(data) > VIDEO_MAX_BYTES:
        raise MediaError(
            f"{_LABEL} is {megabytes(len(data))}; motion control accepts videos up to "
            f"{megabytes(VIDEO_MAX_BYTES)}, so shorten or compress it and try again."
        )
    return kind


def _check_video_geometry(info: VideoInfo) -> None:
    if all(VIDEO_MIN_SIDE <= side <= VIDEO_MAX_SIDE for side in (info.width, info.height)):
        return
    raise MediaError(
        f"{_LABEL} is {info.width}{TIMES}{info.height} px; motion control needs each side to be between "
        f"{VIDEO_MIN_SIDE} and {VIDEO_MAX_SIDE} px."
    )


def _too_long(duration: float, orientation: str) -> str:
    image_limit, video_limit = VIDEO_MAX_SECONDS["image"], VIDEO_MAX_SECONDS["video"]
    shown = seconds_past(duration, VIDEO_MAX_SECONDS[orientation])
    accepted = f"{VIDEO_MIN_SECONDS:g}{DASH}{video_limit:g} seconds"
    if orientation == "image" and duration <= video_limit * (1 + VIDEO_TRIM_TOLERANCE):
        return (
            f"{_LABEL} is {shown} seconds long, over the {image_limit:g}-second limit with orientation: "
            f"image; choose orientation: video (up to {video_limit:g} seconds) or trim it to "
            f"{image_limit:g} seconds and try again."
        )
    if orientation == "image":
        return (
            f"{_LABEL} is {shown} seconds long; motion control accepts {accepted} "
            f"(at most {image_limit:g} with orientation: image), so trim it and try again."
        )
    return (
        f"{_LABEL} is {shown} seconds long; motion control accepts {accepted}, "
        f"so trim it to {video_limit:g} seconds or less and try again."
    )


def _trim_video(data: bytes, kind: str, seconds: float, info: VideoInfo) -> tuple[bytes, VideoInfo]:
    """The first `seconds` of the video: stream copy when it cuts cleanly, otherwise a re-encode."""
    with tempfile.TemporaryDirectory(prefix="klingbot-media-") as tmp:
        out = Path(tmp) / f"trimmed{EXTENSIONS[kind]}"
        try:
            _remux_head(io.BytesIO(data), out, _MUXERS[kind], seconds)
            trimmed = probe(out, _LABEL)
            if seconds - REMUX_MAX_SHORTFALL <= trimmed.duration <= seconds + DURATION_EPSILON:
                return out.read_bytes(), trimmed
            log.info("stream-copy trim gave %.3f s for %.1f s; re-encoding", trimmed.duration, seconds)
        except (av.FFmpegError, MediaError, OSError, ValueError) as exc:
            log.info("stream-copy trim failed (%s); re-encoding", exc)
        return _reencode_head(data, kind, seconds, info, out)


def _reencode_head(
    data: bytes, kind: str, seconds: float, info: VideoInfo, out: Path
) -> tuple[bytes, VideoInfo]:
    # Keep roughly the source's bitrate so the re-encode is neither bloated nor visibly worse.
    source_kbps = max(500, int(info.size_bytes * 8 / 1000 / max(info.duration, 1.0)))
    try:
        transcode(
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
            f"{_LABEL} could not be trimmed to {seconds:g} seconds; trim it yourself and try again."
        ) from exc
    trimmed = probe(out, _LABEL)
    if trimmed.size_bytes > VIDEO_MAX_BYTES:
        raise MediaError(
            f"{_LABEL} could not be trimmed to {seconds:g} seconds within {megabytes(VIDEO_MAX_BYTES)}; "
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
        origin = start_seconds(vin)
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
