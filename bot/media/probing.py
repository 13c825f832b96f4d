"""Videos described with PyAV: container, length, size, tracks; and whether their first seconds decode."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Final

import av

from bot.media.files import VideoInfo
from bot.media.sniffing import MOTION_VIDEO_TYPES, OTHER_VIDEO_TYPES, SNIFF_BYTES, sniff_type
from bot.media.wording import MediaError, damaged_video, unreadable_video

# Ours: container durations are floats from rationals; ignore differences smaller than this.
DURATION_EPSILON: Final = 0.001
# Ours: how much of a member's video is decoded to catch damage before anything is charged; bounded in
# frames as well, so a high frame rate or a huge picture keeps the check cheap.
DECODE_CHECK_SECONDS: Final = 2.0
DECODE_CHECK_MAX_FRAMES: Final = 60

_OPEN_ERRORS: Final = (av.FFmpegError, OSError, ValueError, EOFError, IndexError)


def probe_video(source: bytes | str | os.PathLike[str]) -> VideoInfo:
    """Describe a video (bytes or a path); MediaError if it has no decodable video track."""
    return probe(source, "The video")


def probe(source: bytes | str | os.PathLike[str], label: str, *, check_seconds: float = 0.0) -> VideoInfo:
    """`probe_video` naming the file `label` in messages; with `check_seconds`, the video frames of that
    many first seconds are decoded strictly, and any decoding error refuses the file as damaged."""
    if isinstance(source, bytes):
        head, size = source[:SNIFF_BYTES], len(source)
        target: IO[bytes] | str = io.BytesIO(source)  # shares the buffer: no copy
    else:
        path = Path(source)
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
        target = str(path)
    try:
        with av.open(target, mode="r") as container:
            return _describe(container, sniff_type(head), size, label, check_seconds)
    except MediaError:
        raise
    except _OPEN_ERRORS as exc:
        raise MediaError(unreadable_video(label)) from exc


def _describe(
    container: av.container.InputContainer, kind: str | None, size: int, label: str, check_seconds: float
) -> VideoInfo:
    if not container.streams.video:
        raise MediaError(f"{label} has no picture track; attach a video with moving pictures (MP4 or MOV).")
    stream = container.streams.video[0]
    if check_seconds > 0:
        # FFmpeg conceals damage (grey blocks, smeared frames) and carries on unless told to report it.
        stream.codec_context.options = {"err_detect": "explode"}
    duration = _duration(container, stream)
    # A readable header can still hide broken or undecodable pictures: decode the first one to be sure.
    frames = container.decode(stream)
    first = _decoded_until(frames, 0.0, 1, label)
    if first is None:
        raise MediaError(f"{label} has no pictures that can be decoded; export it again as an MP4 (H.264).")
    if check_seconds > 0:
        _decoded_until(frames, start_seconds(stream) + check_seconds, DECODE_CHECK_MAX_FRAMES - 1, label)
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


def _decoded_until(
    frames: Iterator[av.VideoFrame], cut: float, max_frames: int, label: str
) -> av.VideoFrame | None:
    """Decode frames until one is shown at `cut` seconds or `max_frames` were decoded; the first one.

    A decoding error means the pictures are damaged: the container around them can still be fine.
    """
    first = None
    try:
        for count, frame in enumerate(frames, start=1):
            if first is None:
                first = frame
            if count >= max_frames or (frame.time is not None and frame.time >= cut):
                break
    except av.error.InvalidDataError as exc:
        raise MediaError(damaged_video(label)) from exc
    return first


def start_seconds(stream: av.VideoStream | av.AudioStream) -> float:
    if stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)
