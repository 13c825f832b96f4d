"""What the bot knows about a checked file, and how a provider-ready file is named and typed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

EXTENSIONS: Final = {"png": ".png", "jpeg": ".jpg", "mp4": ".mp4", "mov": ".mov"}
CONTENT_TYPES: Final = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
}


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

    def __repr__(self) -> str:  # never print the bytes
        return f"PreparedMedia({self.filename!r}, {self.content_type}, {len(self.data)} bytes, {self.info})"


def output_name(filename: str, kind: str, fallback: str) -> str:
    """The member's file name, made safe, with the extension of what the file really is."""
    stem = Path(filename.replace("\\", "/")).stem
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-")[:80] or fallback
    return f"{stem}{EXTENSIONS[kind]}"
