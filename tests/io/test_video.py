from __future__ import annotations

import shutil
import tracemalloc
import types
from pathlib import Path

import numpy as np
import pytest

from conftest import write_video
from signscribe.io import VideoReadError, crop, fit_size, probe, read_frames, resize


def test_probe_reports_metadata_of_a_real_wlasl_clip(wlasl_dir: Path) -> None:
    info = probe(wlasl_dir / "clips" / "01065.mp4")
    assert (info.width, info.height) == (1920, 1080)
    assert info.fps == pytest.approx(23.976, abs=0.01)
    assert info.frame_count == 34
    assert info.duration == pytest.approx(34 / info.fps, abs=0.1)
    assert info.codec == "h264"


def test_frames_come_with_indices_and_timestamps(wlasl_dir: Path) -> None:
    path = wlasl_dir / "clips" / "01065.mp4"
    frames = list(read_frames(path))
    assert len(frames) == probe(path).frame_count
    assert [f.index for f in frames] == list(range(len(frames)))
    times = np.array([f.time for f in frames])
    assert times[0] == pytest.approx(0.0, abs=1e-6) and np.all(np.diff(times) > 0)
    assert frames[0].image.shape == (1080, 1920, 3) and frames[0].image.dtype == np.uint8


def test_wlasl_frame_range_is_one_based_and_inclusive(wlasl_dir: Path) -> None:
    path = wlasl_dir / "clips" / "01065.mp4"
    assert [f.index for f in read_frames(path, start_frame=5, end_frame=10)] == [4, 5, 6, 7, 8, 9]
    assert len(list(read_frames(path, start_frame=30, end_frame=-1))) == 34 - 29


def test_time_range_selects_seconds_after_a_seek(how2sign_dir: Path) -> None:
    path = next((how2sign_dir / "clips").glob("*.mp4"))
    frames = list(read_frames(path, start_time=2.0, end_time=3.0))
    assert frames[0].time == pytest.approx(2.0, abs=1 / 23)
    assert all(2.0 - 1e-6 <= f.time < 3.0 for f in frames)
    assert len(frames) == pytest.approx(probe(path).fps, abs=1)


def test_crop_and_resize_keep_aspect(wlasl_dir: Path) -> None:
    path = wlasl_dir / "clips" / "01065.mp4"
    small = next(read_frames(path, max_side=320))
    assert small.image.shape == (180, 320, 3)
    boxed = next(read_frames(path, bbox=(100, 50, 500, 450), max_side=200))
    assert boxed.image.shape == (200, 200, 3)
    image = np.zeros((100, 200, 3), np.uint8)
    assert crop(image, (-10, -10, 50, 40)).shape == (40, 50, 3)
    assert resize(image, 50).shape == (24, 50, 3)
    assert fit_size(640, 480, 1000) == (640, 480)
    with pytest.raises(ValueError, match="does not overlap"):
        crop(image, (300, 300, 400, 400))


def test_frames_are_decoded_lazily_without_holding_the_video(how2sign_dir: Path) -> None:
    path = next((how2sign_dir / "clips").glob("*.mp4"))
    info = probe(path)
    frames = read_frames(path)
    assert isinstance(frames, types.GeneratorType)
    tracemalloc.start()
    count = sum(1 for _ in frames)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    whole_video = count * info.width * info.height * 3
    assert count >= 100
    assert peak < 8 * info.width * info.height * 3 < whole_video / 10


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda d: d / "missing.mp4", "file not found"),
        (lambda d: _write(d / "empty.mp4", b""), "file is empty"),
        (lambda d: _write(d / "notes.mp4", b"these are my notes\n" * 50), "not a readable video"),
        (lambda d: d, "is a folder"),
    ],
    ids=["missing", "empty", "text-named-mp4", "folder"],
)
def test_unreadable_input_names_file_and_cause(tmp_path: Path, make, reason: str) -> None:
    path = make(tmp_path)
    with pytest.raises(VideoReadError, match=reason) as caught:
        list(read_frames(path))
    assert caught.value.path == path and str(path) in str(caught.value)
    with pytest.raises(VideoReadError, match=reason):
        probe(path)


def test_file_without_video_stream_is_rejected(audio_only_file: Path) -> None:
    with pytest.raises(VideoReadError, match="no video stream"):
        probe(audio_only_file)


def test_truncated_real_clip_is_rejected(tmp_path: Path, wlasl_dir: Path) -> None:
    source = wlasl_dir / "clips" / "01586.mp4"
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    with pytest.raises(VideoReadError, match=str(truncated)):
        list(read_frames(truncated))


def test_truncated_streamable_mp4_reports_frames_decoded(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 255, (64, 64, 3), dtype=np.uint8) for _ in range(60)]
    whole = write_video(tmp_path / "whole.mp4", frames, faststart=True)
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert len(list(read_frames(whole))) == 60
    with pytest.raises(VideoReadError, match=r"truncated: decoded \d+ of 60 frames"):
        list(read_frames(truncated))


def test_renamed_copy_reads_the_same(tmp_path: Path, wlasl_dir: Path) -> None:
    copy = shutil.copy(wlasl_dir / "clips" / "01065.mp4", tmp_path / "odd name.MP4")
    assert probe(copy).frame_count == 34
