"""What a real camera does to a clip does not change the answer: a mirrored (selfie) recording and a
browser recording converted to mp4 at a 1000 fps time base are recognised as the original is."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import write_video
from signscribe.inference import Recognizer
from signscribe.io import probe, read_frames

# Real WLASL clips of WLASL100 glosses (train split, untrimmed): basketball, signed with both hands, and dog.
CLIPS = ("65145", "69298")


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer.from_pretrained("default")


def _even(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    return np.ascontiguousarray(image[: height - height % 2, : width - width % 2])


@pytest.mark.parametrize("clip", CLIPS)
def test_a_mirrored_clip_is_recognised_as_the_original(
    clip: str, wlasl_dir: Path, tmp_path: Path, recognizer: Recognizer
) -> None:
    original = wlasl_dir / "clips" / f"{clip}.mp4"
    frames = [_even(frame.image[:, ::-1]) for frame in read_frames(original)]
    mirrored = write_video(tmp_path / f"{clip}_mirrored.mp4", frames, fps=round(probe(original).fps))
    expected, seen = recognizer.predict(original, top_k=3), recognizer.predict(mirrored, top_k=3)
    assert seen[0].gloss == expected[0].gloss, (expected, seen)
    assert seen[0].confidence == pytest.approx(expected[0].confidence, abs=0.15)


def test_a_1000_fps_recording_is_recognised_as_the_original(
    wlasl_dir: Path, tmp_path: Path, recognizer: Recognizer
) -> None:
    original = wlasl_dir / "clips" / f"{CLIPS[0]}.mp4"
    fps = probe(original).fps
    images = [_even(frame.image) for frame in read_frames(original)]
    repeated = [images[int(ms * fps / 1000)] for ms in range(int(len(images) / fps * 1000))]
    recording = write_video(tmp_path / "recording_1000fps.mp4", repeated, fps=1000)
    assert probe(recording).frame_count > 30 * len(images)
    expected, seen = recognizer.predict(original, top_k=1)[0], recognizer.predict(recording, top_k=1)[0]
    assert seen.gloss == expected.gloss and seen.confidence == pytest.approx(expected.confidence, abs=0.15)
