"""Frames are sampled by their timestamps, at no more than the extraction's rate: a real clip re-encoded
as a browser recording converted to mp4 (declared at 1000 fps, every frame repeated) or with a variable
frame rate costs MediaPipe no more than the clip itself, and keeps its duration."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from conftest import BOTH_HANDS_CLIP
from signscribe.io import probe, read_frames
from signscribe.pose import ExtractionSettings, HolisticExtractor
from signscribe.pose.extract import HolisticStream
from signscribe.pose.source import stream_landmarks


def _encode(path: Path, images: list[np.ndarray], times_ms: list[int]) -> Path:
    """H.264 in MP4 on a 1/1000 s time base, each image shown from its time in milliseconds."""
    height, width = images[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=1000)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        for image, time_ms in zip(images, times_ms, strict=True):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = time_ms, Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


@pytest.fixture(scope="module")
def source() -> tuple[list[np.ndarray], float]:
    if not BOTH_HANDS_CLIP.is_file():
        pytest.skip(f"real data not available: {BOTH_HANDS_CLIP} is missing (the tests read ../shared/data)")
    return [frame.image for frame in read_frames(BOTH_HANDS_CLIP)], probe(BOTH_HANDS_CLIP).fps


@pytest.fixture(scope="module")
def at_1000_fps(source: tuple[list[np.ndarray], float], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real clip declared at 1000 fps: a frame every millisecond, each source frame repeated ~33 times."""
    images, fps = source
    milliseconds = range(int(len(images) / fps * 1000))
    shown = [images[int(ms * fps / 1000)] for ms in milliseconds]
    return _encode(tmp_path_factory.mktemp("rates") / "recording_1000fps.mp4", shown, list(milliseconds))


class _CountingHolistic:
    """Counts the frames MediaPipe really runs on."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.runs = 0
        enter = HolisticStream.__enter__

        def counting_enter(stream: HolisticStream) -> HolisticStream:
            enter(stream)
            process = stream._holistic.process

            def counted(image: np.ndarray):
                self.runs += 1
                return process(image)

            stream._holistic.process = counted
            return stream

        monkeypatch.setattr(HolisticStream, "__enter__", counting_enter)


def test_a_1000_fps_recording_is_extracted_at_the_capped_rate_with_its_duration(
    at_1000_fps: Path, source: tuple[list[np.ndarray], float], monkeypatch: pytest.MonkeyPatch
) -> None:
    images, fps = source
    info = probe(at_1000_fps)
    assert info.fps == pytest.approx(1000) and info.frame_count > 30 * len(images)
    counting = _CountingHolistic(monkeypatch)
    sequence = HolisticExtractor().extract(at_1000_fps)
    assert sequence.fps == ExtractionSettings().max_frame_rate == 30.0
    assert sequence.duration == pytest.approx(len(images) / fps, abs=1 / 30)
    # MediaPipe runs once a point of the 30 fps grid at most (about 45 times), not once a stored frame (~1,400).
    assert counting.runs <= sequence.num_frames <= 30 * len(images) / fps + 1
    assert sequence.detected("right_hand").mean() > 0.5, "the signer's hands are found as in the clip"
    streamed = stream_landmarks(at_1000_fps)
    assert streamed.fps == 30.0 and sum(1 for _ in streamed.frames) == sequence.num_frames


def test_a_lower_frame_rate_and_no_cap_are_honoured(at_1000_fps: Path) -> None:
    assert HolisticExtractor(ExtractionSettings(frame_rate=12.5)).extract(at_1000_fps).fps == 12.5
    uncapped = list(read_frames(at_1000_fps, rate=None))
    assert len(uncapped) == probe(at_1000_fps).frame_count


def test_a_variable_frame_rate_clip_lands_on_a_regular_grid(
    source: tuple[list[np.ndarray], float], tmp_path: Path
) -> None:
    images, _ = source
    rng = np.random.default_rng(0)
    times_ms = np.concatenate([[0], np.cumsum(rng.choice([17, 33, 50, 120], len(images) - 1))]).tolist()
    path = _encode(tmp_path / "variable.mp4", images, times_ms)
    grid = list(read_frames(path, rate=20.0))
    real = list(read_frames(path))
    last_shown_until = real[-1].time + 1 / probe(path).fps
    rounding = min(1 / 20, 1 / probe(path).fps) / 4  # a frame starting this soon after a point counts
    times = np.array([frame.time for frame in grid])
    np.testing.assert_allclose(times, np.arange(len(grid)) / 20.0, atol=1e-9)  # a regular grid from 0
    assert times[-1] < last_shown_until <= times[-1] + 1 / 20 + rounding, "the grid covers the whole clip"
    for frame in grid:  # each point shows the real frame on screen at its time
        on_screen = max((r for r in real if r.time <= frame.time + rounding), key=lambda r: r.time)
        assert frame.index == on_screen.index
    assert len({frame.index for frame in grid}) < len(real) < len(grid), "frames in bursts left out, gaps filled"
