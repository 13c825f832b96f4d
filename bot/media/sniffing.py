"""What a file really is, from its first bytes: member file names and content types are not trusted."""

from __future__ import annotations

from typing import Final

SNIFF_BYTES: Final = 64  # enough of the head for every signature sniff_type knows

IMAGE_PASSTHROUGH: Final = frozenset({"jpeg", "png"})
IMAGE_CONVERTIBLE: Final = frozenset({"webp", "gif"})
IMAGE_TYPES: Final = IMAGE_PASSTHROUGH | IMAGE_CONVERTIBLE
MOTION_VIDEO_TYPES: Final = frozenset({"mp4", "mov"})
OTHER_VIDEO_TYPES: Final = frozenset({"mkv", "webm", "avi"})

DISPLAY_NAMES: Final = {
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

# ISO-BMFF brands that are pictures (HEIF/AVIF, Canon raw), not videos.
_IMAGE_FTYP_BRANDS: Final = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis", b"crx "}
)
# Old QuickTime files start with a bare atom instead of an ftyp box.
_BARE_QUICKTIME_ATOMS: Final = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})


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
