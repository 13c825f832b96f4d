"""How media problems are worded: `MediaError` and the pieces its sentences share.

Every `MediaError` carries one member-facing sentence: what is wrong and what would be accepted.
"""

from __future__ import annotations

import math
from typing import Final

# Member-facing typography, spelled as escapes so the source stays plain ASCII.
TIMES: Final = "\u00d7"  # multiplication sign: 1080 x 1920 px
DASH: Final = "\u2013"  # en dash: 3-30 seconds

GENERIC_IMAGE_HINT: Final = "attach a JPG or PNG picture (WebP and GIF are converted)"


class MediaError(Exception):
    """An attachment the bot cannot use; str() is one sentence a member can act on."""


def megabytes(size: int) -> str:
    """Rounded up, so a file just over a limit never reads as being at it."""
    return f"{math.ceil(size / 100_000) / 10:g} MB"


def seconds_past(value: float, bound: float) -> str:
    """Seconds with the fewest decimals (1 to 3) that still show which side of `bound` the value is on,
    so a 10.04 s video is not described as "10.0 seconds" in a sentence about a 10-second limit."""
    for decimals in (1, 2):
        text = f"{value:.{decimals}f}"
        if (float(text) > bound) == (value > bound) and float(text) != bound:
            return text
    return f"{value:.3f}"


def damaged_image(label: str) -> str:
    return f"{label} is damaged and could not be read; export it again as a JPG or PNG and attach it."


def unreadable_video(label: str) -> str:
    return (
        f"{label} could not be read (it may be damaged or use a codec the bot cannot decode); "
        "export it again as an MP4 (H.264) and try again."
    )


def damaged_video(label: str) -> str:
    return (
        f"{label} is damaged (its first seconds could not be decoded); "
        "export it again as an MP4 (H.264) and attach it."
    )
