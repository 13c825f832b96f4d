"""bot.media.sniffing: a file's type from its content, against real files and crafted heads."""

from __future__ import annotations

import pytest

from bot.media import sniff_type
from bot.media.sniffing import SNIFF_BYTES
from tests.bot.media.helpers import GARBAGE, clip
from tests.support.media import make_image


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
    assert sniff_type(data[:SNIFF_BYTES]) == expected


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
