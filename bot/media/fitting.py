"""Re-encoding: a finished video made to fit a byte budget (Discord's upload limit), frame by frame.

Also the one transcoder the motion trim falls back to.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import IO, Final

import av

from bot.media.probing import DURATION_EPSILON, probe_video, start_seconds
from bot.media.wording import MediaError

log = logging.getLogger(__name__)

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
    part = dst.with_name(f".{dst.name}.part")
    try:
        return _fit_attempts(
            src, part, dst, max_bytes, int(budget_kbps - audio_kbps), audio_kbps, min_video_kbps
        )
    except (av.FFmpegError, OSError, ValueError) as exc:
        log.warning("re-encoding %s failed: %s", src.name, exc)
        return False
    finally:
        part.unlink(missing_ok=True)


def _fit_attempts(
    src: Path, part: Path, dst: Path, max_bytes: int, video_kbps: int, audio_kbps: int, min_video_kbps: int
) -> bool:
    for attempt in range(1, FIT_MAX_ATTEMPTS + 1):
        if video_kbps < min_video_kbps:
            log.info("fitting %s would need %d kbit/s of video; giving up", src.name, video_kbps)
            return False
        long_side = _long_side_for(video_kbps)
        transcode(src, part, "mp4", video_kbps=video_kbps, audio_kbps=audio_kbps, long_side=long_side)
        size = part.stat().st_size
        log.info("fit attempt %d: %d kbit/s, long side %d: %d B", attempt, video_kbps, long_side, size)
        if size <= max_bytes:
            os.replace(part, dst)
            return True
        video_kbps = int(video_kbps * max_bytes / size * FIT_RETRY_MARGIN)
    return False


def _long_side_for(video_kbps: int) -> int:
    return next(side for floor, side in FIT_LONG_SIDE_STEPS if video_kbps >= floor)


def _scaled_size(width: int, height: int, long_side: int | None) -> tuple[int, int]:
    """Fit within `long_side` (never upscale), keeping the aspect ratio; even sides, as yuv420p needs."""
    scale = 1.0 if long_side is None else min(1.0, long_side / max(width, height))
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def transcode(
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
        cut = None if max_seconds is None else start_seconds(vin) + max_seconds
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
