"""bot.media.fitting: a finished video re-encoded under a byte limit, or given up on cleanly."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.media import fit_video_to_size, fitting, probe_video
from tests.bot.media.helpers import GARBAGE, SIDE, clip, decoded_frames
from tests.support.media import make_video


# --- fit_video_to_size -----------------------------------------------------------------------------------
def write(tmp_path: Path, data: bytes, name: str = "src.mp4") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_noisy_video_is_fitted_under_the_limit(tmp_path: Path) -> None:
    src = write(tmp_path, clip(3.0, noise=True, audio=True))
    dst = tmp_path / "out.mp4"
    limit = src.stat().st_size // 3
    assert fit_video_to_size(src, dst, limit)
    assert dst.stat().st_size <= limit
    info = probe_video(dst)
    assert info.duration == pytest.approx(3.0, abs=0.1)
    assert info.has_audio and (info.width, info.height) == (SIDE, SIDE)
    assert decoded_frames(dst.read_bytes()) == 18
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4", "src.mp4"]  # no leftovers


def test_low_bitrate_fit_downscales(tmp_path: Path) -> None:
    src = write(tmp_path, make_video(2.0, 960, 540, fps=6, noise=True))
    dst = tmp_path / "out.mp4"
    assert fit_video_to_size(src, dst, 175_000)  # about 640 kbit/s: 480p on the long side
    info = probe_video(dst)
    assert (info.width, info.height) == (854, 480)
    assert info.size_bytes <= 175_000


def test_second_attempt_lowers_the_bitrate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(fitting, "FIT_SIZE_MARGIN", 1.6)  # the first attempt aims too high on purpose
    src = write(tmp_path, clip(3.0, noise=True))
    dst = tmp_path / "out.mp4"
    limit = src.stat().st_size // 3
    with caplog.at_level(logging.INFO, logger="bot.media"):
        assert fit_video_to_size(src, dst, limit)
    assert dst.stat().st_size <= limit
    assert "fit attempt 2" in caplog.text


def test_fitting_below_the_watchable_bitrate_returns_false(tmp_path: Path) -> None:
    src = write(tmp_path, clip(3.0, noise=True))
    dst = tmp_path / "out.mp4"
    assert not fit_video_to_size(src, dst, 40_000)  # about 100 kbit/s
    assert not dst.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["src.mp4"]


def test_a_video_that_already_fits_is_copied(tmp_path: Path) -> None:
    data = clip(3.0)
    dst = tmp_path / "out.mp4"
    assert fit_video_to_size(write(tmp_path, data), dst, len(data))
    assert dst.read_bytes() == data


def test_an_undecodable_result_returns_false(tmp_path: Path) -> None:
    dst = tmp_path / "out.mp4"
    assert not fit_video_to_size(write(tmp_path, GARBAGE * 100), dst, 1_000)
    assert not dst.exists()
