"""MediaPipe Holistic landmark extraction from video, into ``PoseSequence``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from signscribe.errors import VideoReadError
from signscribe.io import BBox, Frame, probe, read_frames
from signscribe.pose.cache import PoseCache
from signscribe.pose.holistic_graph import open_holistic
from signscribe.pose.layout import Layout, from_normalized
from signscribe.pose.native_log import filter_native_stderr
from signscribe.pose.sequence import PoseSequence
from signscribe.pose.signer_search import (
    SEARCH_BELOW,
    SEARCH_FRAMES,
    box_in_sequence,
    crop_around,
    search_windows,
    to_frame,
)
from signscribe.progress import ProgressCallback

# Only model_complexity=1 ships inside the mediapipe wheel; 0 and 2 are downloaded on first use.
OFFLINE_MODEL_COMPLEXITY = 1
# bumped when the signer search changes what it gives (its results are cached under it)
SIGNER_SEARCH_VERSION = 1


@dataclass(frozen=True)
class ExtractionSettings:
    """Options that change the landmarks extracted from a video (and so the cache key)."""

    include_face: bool = False
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    max_side: int | None = None  # shrink frames before MediaPipe; None keeps the source size
    model_complexity: int = OFFLINE_MODEL_COMPLEXITY
    frame_rate: float | None = None  # frames a second kept for MediaPipe; None keeps every frame up to the cap
    # Whatever a container declares (MediaRecorder files converted to mp4 often say 1000 fps, their frames
    # repeated), MediaPipe never sees more frames a second than this; None lifts the cap.
    max_frame_rate: float | None = 30.0

    def __post_init__(self) -> None:
        if self.model_complexity != OFFLINE_MODEL_COMPLEXITY:
            raise ValueError(
                f"model_complexity={self.model_complexity} needs a model download; "
                f"only {OFFLINE_MODEL_COMPLEXITY} ships with mediapipe and works offline"
            )
        for name in ("frame_rate", "max_frame_rate"):
            if (value := getattr(self, name)) is not None and value <= 0:
                raise ValueError(f"{name} must be positive, got {value}")

    def rate_for(self, video_fps: float) -> float:
        """The frame rate of landmarks extracted from a video at ``video_fps``: the lowest of
        ``frame_rate``, ``max_frame_rate`` and the video's own."""
        return min(rate for rate in (self.frame_rate, self.max_frame_rate, video_fps) if rate is not None)

    def cache_options(self) -> dict[str, object]:
        """The settings as the pose cache keys them; an option left at ``None`` that was added after
        the first release is left out, so entries made before it still match."""
        options = dataclasses.asdict(self)
        if options["frame_rate"] is None:
            del options["frame_rate"]
        return options


def _landmarks_to_rows(landmarks: Any, width: int, height: int, visibility: bool) -> tuple[np.ndarray, np.ndarray]:
    points = landmarks.landmark
    if visibility:
        return from_normalized(np.array([(p.x, p.y, p.z, p.visibility) for p in points]), width, height)
    return from_normalized(np.array([(p.x, p.y, p.z) for p in points]), width, height)


def _reporting(frames: Iterator[Frame], expected: int, on_progress: ProgressCallback) -> Iterator[Frame]:
    for done, frame in enumerate(frames, start=1):
        yield frame
        on_progress(done, expected)


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
        on_progress: ProgressCallback | None = None,
    ) -> PoseSequence:
        """Landmarks of a video, or of a time range (seconds) or frame range (WLASL convention) of it.
        A signer found in too few frames is looked for again, zoomed in (``signer_search``), unless a
        ``bbox`` or ``max_side`` is given.

        ``on_progress(done, expected)`` is called after each frame of the first pass (``expected`` is
        the video's frame count, an estimate for a range); an exception it raises aborts the extraction."""
        video = Path(video)
        selection = {
            "start_time": start_time,
            "end_time": end_time,
            "start_frame": start_frame,
            "end_frame": end_frame,
            "bbox": list(bbox) if bbox else None,
        }
        first = self._cached(video, selection, lambda: self._extract_range(video, selection, on_progress))
        searchable = bbox is None and self.settings.max_side is None and first.num_frames > 0
        if not searchable or first.detected("pose").mean() >= SEARCH_BELOW:
            return first
        # a separate entry: what the first pass gives stays cached as it is
        searched = {**selection, "signer_search": SIGNER_SEARCH_VERSION}
        return self._cached(video, searched, lambda: self._around_signer(video, selection, first))

    def _cached(self, video: Path, selection: dict[str, Any], compute: Callable[[], PoseSequence]) -> PoseSequence:
        if self.cache is None:
            return compute()
        if not video.is_file():
            raise VideoReadError(video, "file not found")
        key = self.cache.key(video, {**self.settings.cache_options(), **selection})
        if (cached := self.cache.get(key, source=str(video))) is not None:
            return cached
        sequence = compute()
        self.cache.put(key, sequence)
        return sequence

    def _extract_range(
        self, video: Path, selection: dict[str, Any], on_progress: ProgressCallback | None
    ) -> PoseSequence:
        info = probe(video)
        rate = self.settings.rate_for(info.fps)
        frames = read_frames(video, max_side=self.settings.max_side, rate=rate, **selection)
        if on_progress is not None:
            frames = _reporting(frames, info.frames_at(rate), on_progress)
        sequence = self.extract_frames(frames, fps=rate, source=str(video))
        if sequence.num_frames == 0:
            raise VideoReadError(video, "the selected range holds no frames")
        return sequence

    def _around_signer(self, video: Path, selection: dict[str, Any], first: PoseSequence) -> PoseSequence:
        """The landmarks extracted again from a crop around a signer the first pass found in too few
        frames (``signer_search``), if that finds them in more; else the first pass."""
        box = box_in_sequence(first)
        if box is None:
            chosen = set(np.linspace(0, first.num_frames - 1, SEARCH_FRAMES).round().astype(int).tolist())
            frames = read_frames(video, rate=first.fps, **selection)
            images = [frame.image for index, frame in enumerate(frames) if index in chosen]
            with PoseFinder() as finder:
                box = search_windows(images, finder.find)
        region = None if box is None else crop_around(box, first.width, first.height)
        if region is None:
            return first
        frames = read_frames(video, rate=first.fps, **{**selection, "bbox": region})
        cropped = self.extract_frames(frames, fps=first.fps, source=str(video))
        found = to_frame(cropped, region, first.width, first.height)
        return found if found.detected("pose").mean() > first.detected("pose").mean() else first

    def extract_frames(self, frames: Iterable[Frame], fps: float, source: str = "") -> PoseSequence:
        """Landmarks of RGB frames that belong to one video, in order."""
        layout = Layout(include_face=self.settings.include_face)
        data: list[np.ndarray] = []
        confidence: list[np.ndarray] = []
        width = height = 0
        with HolisticStream(self.settings) as stream:
            for frame in frames:
                height, width = frame.image.shape[:2]
                values, conf = stream.process(frame.image)
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


class HolisticStream:
    """One MediaPipe Holistic graph fed frame by frame (tracking carries over between frames), for
    live streams. Use as a context manager; ``process`` gives one frame's rows in our layout."""

    def __init__(self, settings: ExtractionSettings | None = None) -> None:
        self.settings = settings or ExtractionSettings()
        self.layout = Layout(include_face=self.settings.include_face)
        self._holistic: Any = None
        self._last: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # image, values, confidence

    def __enter__(self) -> HolisticStream:
        self._holistic = open_holistic(
            include_face=self.settings.include_face,
            model_complexity=self.settings.model_complexity,
            min_detection_confidence=self.settings.min_detection_confidence,
            min_tracking_confidence=self.settings.min_tracking_confidence,
        )
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._holistic.close()

    def reset(self) -> None:
        """Forget the tracking state, keeping the graph and its loaded models, for the next video."""
        self._holistic.reset()
        self._last = None

    def process(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(points, 3)`` values and ``(points,)`` confidence of one RGB uint8 frame. A frame identical
        to the one before (a repeated frame of a converted recording) gets its landmarks again, unrun."""
        if self._last is not None and np.array_equal(self._last[0], image):
            return self._last[1].copy(), self._last[2].copy()
        height, width = image.shape[:2]
        result = self._holistic.process(image)
        values = np.zeros((self.layout.num_points, 3), np.float32)
        confidence = np.zeros(self.layout.num_points, np.float32)
        sources = {
            "pose": result.pose_landmarks,
            "left_hand": result.left_hand_landmarks,
            "right_hand": result.right_hand_landmarks,
            "face": getattr(result, "face_landmarks", None),  # a graph without the face has none
        }
        for name in self.layout.components:
            if (landmarks := sources[name]) is not None:
                rows = self.layout.slice(name)
                values[rows], confidence[rows] = _landmarks_to_rows(landmarks, width, height, name == "pose")
        self._last = (image.copy(), values.copy(), confidence.copy())  # the caller may reuse its buffer
        return values, confidence


class PoseFinder:
    """MediaPipe Pose on single images (no tracking), for the signer search: ``find(image)`` gives the
    body's ``(33, 2)`` pixels and visibilities, or None."""

    def __enter__(self) -> PoseFinder:
        from mediapipe.python.solutions.pose import Pose

        filter_native_stderr()
        self._pose = Pose(static_image_mode=True, model_complexity=OFFLINE_MODEL_COMPLEXITY)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._pose.close()

    def find(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        result = self._pose.process(np.ascontiguousarray(image))
        if result.pose_landmarks is None:
            return None
        height, width = image.shape[:2]
        values, confidence = _landmarks_to_rows(result.pose_landmarks, width, height, True)
        return values[:, :2], confidence
