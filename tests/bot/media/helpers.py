"""Shared by the media tests: small real videos and a check that a refusal is one sentence."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import av
import pytest

from bot.media import MediaError
from tests.support.media import make_video

GARBAGE = bytes(range(256)) * 40
SIDE = 352  # just over the 340 px minimum: small frames keep the tests fast


def clip(seconds: float, fps: int = 6, **options: Any) -> bytes:
    """A small real video (cached): SIDE x SIDE H.264 at a low frame rate."""
    return make_video(seconds, SIDE, SIDE, fps=fps, **options)


def refusal(call: Callable[..., object], *args: object, **kwargs: object) -> str:
    """The member-facing message of the MediaError that `call` raises, checked to be one sentence."""
    with pytest.raises(MediaError) as caught:
        call(*args, **kwargs)
    message = str(caught.value)
    assert message[0].isupper() and message.endswith(".") and ". " not in message
    return message


def decoded_frames(data: bytes) -> int:
    """Decode every picture: proves a produced file is whole, not just that its header parses."""
    with av.open(io.BytesIO(data), mode="r") as container:
        return sum(1 for _ in container.decode(video=0))


def track_seconds(data: bytes) -> dict[str, float]:
    with av.open(io.BytesIO(data), mode="r") as container:
        return {
            stream.type: float(stream.duration * stream.time_base)
            for stream in container.streams
            if stream.duration is not None and stream.time_base is not None
        }
