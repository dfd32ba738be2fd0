"""MediaPipe Holistic landmark extraction from video, into ``PoseSequence``."""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from signscribe.errors import VideoReadError
from signscribe.io import BBox, Frame, probe, read_frames
from signscribe.pose.cache import PoseCache
from signscribe.pose.layout import Layout
from signscribe.pose.sequence import PoseSequence

# Only model_complexity=1 ships inside the mediapipe wheel; 0 and 2 are downloaded on first use.
OFFLINE_MODEL_COMPLEXITY = 1


@dataclass(frozen=True)
class ExtractionSettings:
    """Options that change the landmarks extracted from a video (and so the cache key)."""

    include_face: bool = False
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    max_side: int | None = None  # shrink frames before MediaPipe; None keeps the source size
    model_complexity: int = OFFLINE_MODEL_COMPLEXITY

    def __post_init__(self) -> None:
        if self.model_complexity != OFFLINE_MODEL_COMPLEXITY:
            raise ValueError(
                f"model_complexity={self.model_complexity} needs a model download; "
                f"only {OFFLINE_MODEL_COMPLEXITY} ships with mediapipe and works offline"
            )


def _landmarks_to_rows(landmarks: Any, width: int, height: int, visibility: bool) -> tuple[np.ndarray, np.ndarray]:
    points = landmarks.landmark
    values = np.array([(p.x * width, p.y * height, p.z) for p in points], dtype=np.float32)
    if visibility:
        confidence = np.array([p.visibility for p in points], dtype=np.float32)
        confidence = np.clip(confidence, 1e-3, 1.0)  # a detected point is never "missing"
    else:
        confidence = np.ones(len(points), dtype=np.float32)
    return values, confidence


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """MediaPipe's C++ side logs warnings straight to file descriptor 2 as its models load (some on
    the first frame with a hand), past Python's logging and any environment switch; mute it while
    a graph runs so progress bars and summaries stay readable."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class HolisticExtractor:
    """Run MediaPipe Holistic over video frames.

    A new Holistic graph is made for every video so tracking state never leaks from one
    video to the next. With a ``cache``, a video already extracted with the same settings
    and range is read back instead of processed again.
    """

    def __init__(self, settings: ExtractionSettings | None = None, cache: PoseCache | None = None) -> None:
        self.settings = settings or ExtractionSettings()
        self.cache = cache

    def extract(
        self,
        video: str | Path,
        *,
        start_time: float | None = None,
        end_time: float | None = None,
        start_frame: int = 1,
        end_frame: int = -1,
        bbox: BBox | None = None,
    ) -> PoseSequence:
        """Landmarks of a video, or of a time range (seconds) or frame range (WLASL convention) of it."""
        video = Path(video)
        selection = {
            "start_time": start_time,
            "end_time": end_time,
            "start_frame": start_frame,
            "end_frame": end_frame,
            "bbox": list(bbox) if bbox else None,
        }
        key = None
        if self.cache is not None:
            if not video.is_file():
                raise VideoReadError(video, "file not found")
            key = self.cache.key(video, {**dataclasses.asdict(self.settings), **selection})
            if (cached := self.cache.get(key, source=str(video))) is not None:
                return cached
        info = probe(video)
        frames = read_frames(video, max_side=self.settings.max_side, **selection)
        sequence = self.extract_frames(frames, fps=info.fps, source=str(video))
        if sequence.num_frames == 0:
            raise VideoReadError(video, "the selected range holds no frames")
        if key is not None:
            self.cache.put(key, sequence)
        return sequence

    def extract_frames(self, frames: Iterable[Frame], fps: float, source: str = "") -> PoseSequence:
        """Landmarks of RGB frames that belong to one video, in order."""
        from mediapipe.python.solutions.holistic import Holistic

        layout = Layout(include_face=self.settings.include_face)
        data: list[np.ndarray] = []
        confidence: list[np.ndarray] = []
        width = height = 0
        with (
            _native_stderr_silenced(),
            Holistic(
                static_image_mode=False,
                model_complexity=self.settings.model_complexity,
                min_detection_confidence=self.settings.min_detection_confidence,
                min_tracking_confidence=self.settings.min_tracking_confidence,
            ) as holistic,
        ):
            for frame in frames:
                height, width = frame.image.shape[:2]
                result = holistic.process(frame.image)
                values, conf = self._frame_rows(result, layout, width, height)
                data.append(values)
                confidence.append(conf)
        points = layout.num_points
        return PoseSequence(
            data=np.stack(data) if data else np.zeros((0, points, 3), np.float32),
            confidence=np.stack(confidence) if confidence else np.zeros((0, points), np.float32),
            fps=fps,
            width=width,
            height=height,
            include_face=layout.include_face,
            source=source,
        )

    @staticmethod
    def _frame_rows(result: Any, layout: Layout, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        values = np.zeros((layout.num_points, 3), np.float32)
        confidence = np.zeros(layout.num_points, np.float32)
        sources = {
            "pose": result.pose_landmarks,
            "left_hand": result.left_hand_landmarks,
            "right_hand": result.right_hand_landmarks,
            "face": result.face_landmarks,
        }
        for name in layout.components:
            if (landmarks := sources[name]) is not None:
                rows = layout.slice(name)
                values[rows], confidence[rows] = _landmarks_to_rows(landmarks, width, height, name == "pose")
        return values, confidence
