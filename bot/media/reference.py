"""An omni reference video (/video reference, /video edit): MP4 or MOV, 24-60 frames a second, its first
seconds decoded to catch damage. Its length and size are the capability table's to judge, per model."""

from __future__ import annotations

from typing import Final

from bot.media.files import CONTENT_TYPES, PreparedMedia, VideoInfo, output_name
from bot.media.motion import VIDEO_MAX_BYTES
from bot.media.probing import DECODE_CHECK_SECONDS, probe
from bot.media.sniffing import DISPLAY_NAMES, IMAGE_TYPES, MOTION_VIDEO_TYPES, SNIFF_BYTES, sniff_type
from bot.media.wording import MediaError, megabytes

# providers.md §1.3 `video_list` and §2.4 omni-video: MP4/MOV, 24-60 fps, ≤200 MB. The bot reads at most
# VIDEO_MAX_BYTES (100 MB), as for motion control.
REFERENCE_MIN_FPS: Final = 24.0
REFERENCE_MAX_FPS: Final = 60.0
FPS_TOLERANCE: Final = 0.5  # 23.976 is "24 fps"
_LABEL: Final = "The reference video"


def prepare_reference_video(data: bytes, filename: str) -> PreparedMedia:
    """Check a reference video's format, frame rate and first seconds; MediaError says what is wrong."""
    kind = _reference_container(data)
    info = probe(data, _LABEL, check_seconds=DECODE_CHECK_SECONDS)
    _check_frame_rate(info)
    name = output_name(filename, kind, "video")
    return PreparedMedia(data=data, filename=name, content_type=CONTENT_TYPES[kind], notes=[], info=info)


def _reference_container(data: bytes) -> str:
    if not data:
        raise MediaError(f"{_LABEL} is an empty file (0 bytes); attach an MP4 or MOV video.")
    kind = sniff_type(data[:SNIFF_BYTES])
    if kind in IMAGE_TYPES:
        raise MediaError(
            f"{_LABEL} is a picture ({DISPLAY_NAMES[kind]}), not a video; attach an MP4 or MOV video."
        )
    if kind is None or kind not in MOTION_VIDEO_TYPES:
        shown = (
            f"in {DISPLAY_NAMES[kind]} format" if kind in DISPLAY_NAMES else "not a video the bot recognises"
        )
        raise MediaError(
            f"{_LABEL} is {shown}; Kling takes only MP4 or MOV videos, so convert it and try again."
        )
    if len(data) > VIDEO_MAX_BYTES:
        raise MediaError(
            f"{_LABEL} is {megabytes(len(data))}; the bot accepts videos up to {megabytes(VIDEO_MAX_BYTES)}, "
            "so shorten or compress it and try again."
        )
    return kind


def _check_frame_rate(info: VideoInfo) -> None:
    if info.fps <= 0:  # the file does not say: let the provider judge
        return
    if REFERENCE_MIN_FPS - FPS_TOLERANCE <= info.fps <= REFERENCE_MAX_FPS + FPS_TOLERANCE:
        return
    raise MediaError(
        f"{_LABEL} has {info.fps:.3g} frames a second; Kling takes reference videos of "
        f"{REFERENCE_MIN_FPS:g} to {REFERENCE_MAX_FPS:g}, so export it again at 30 fps."
    )
