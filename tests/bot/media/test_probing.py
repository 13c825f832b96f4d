"""bot.media.probing: a video described from bytes or a path, and damage found in its first seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.media import VideoInfo, probe_video, probing
from bot.media.probing import probe
from tests.bot.media.helpers import GARBAGE, SIDE, clip, refusal
from tests.support.media import make_damaged_video


# --- probe_video ---------------------------------------------------------------------------------------
def test_probe_video_describes_bytes_and_paths_alike(tmp_path: Path) -> None:
    data = clip(4.0, container="mov", audio=True)
    path = tmp_path / "clip.mov"
    path.write_bytes(data)
    expected = VideoInfo(
        container="mov",
        duration=pytest.approx(4.0, abs=0.1),  # type: ignore[arg-type]
        width=SIDE,
        height=SIDE,
        fps=6.0,
        has_audio=True,
        video_codec="h264",
        size_bytes=len(data),
    )
    assert probe_video(data) == expected
    assert probe_video(path) == expected


def test_probe_video_refuses_garbage() -> None:
    assert "could not be read" in refusal(probe_video, GARBAGE)


def test_probe_video_alone_does_not_decode_past_the_first_picture() -> None:
    # Cheap for results being fitted; the strict check of the first seconds is the motion path's.
    assert probe_video(make_damaged_video(4.0, SIDE, SIDE, fps=6)).width == SIDE


def test_a_strict_probe_refuses_damage_in_the_first_seconds() -> None:
    data = make_damaged_video(4.0, SIDE, SIDE, fps=6)
    message = refusal(probe, data, "The reference video", check_seconds=2.0)
    assert message == (
        "The reference video is damaged (its first seconds could not be decoded); "
        "export it again as an MP4 (H.264) and attach it."
    )


def test_a_strict_probe_stops_after_its_frame_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    # Damage after the budget is not looked for: the check stays cheap whatever the frame rate.
    monkeypatch.setattr(probing, "DECODE_CHECK_MAX_FRAMES", 3)
    data = make_damaged_video(4.0, SIDE, SIDE, fps=6, intact_frames=4)
    assert probe(data, "The reference video", check_seconds=2.0).width == SIDE


def test_a_strict_probe_accepts_sound_videos_with_b_frames_and_sound() -> None:
    for data in (clip(4.0, bframes=3), clip(4.0, container="mov", audio=True)):
        assert probe(data, "The reference video", check_seconds=2.0).duration == pytest.approx(4.0, abs=0.1)
