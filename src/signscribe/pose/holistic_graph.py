"""MediaPipe Holistic: the extraction settings, the graph (its face branch left out when the face is not
wanted) and ``HolisticStream``, one graph fed frame by frame.

Holistic runs its face mesh on every frame, whether or not anyone reads the 468 points: about a fifth of
its time on a CPU. Without the face, the graph below is MediaPipe's own ``holistic_landmark_cpu``
with the two face nodes and the face output removed; the pose and hand branches do not read the face,
so their landmarks are the same, to the bit (``tests/pose/test_pose.py`` checks it on a real clip).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from signscribe.native_log import filter_native_stderr
from signscribe.pose.layout import Layout, from_normalized

# Only model_complexity=1 ships inside the mediapipe wheel; 0 and 2 are downloaded on first use.
OFFLINE_MODEL_COMPLEXITY = 1


# Whatever rate a container declares, MediaPipe sees at most this many frames a second (by timestamps).
DEFAULT_MAX_FRAME_RATE = 30.0


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
    max_frame_rate: float | None = DEFAULT_MAX_FRAME_RATE

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


def landmark_rows(landmarks: Any, width: int, height: int, visibility: bool) -> tuple[np.ndarray, np.ndarray]:
    """A MediaPipe landmark list as rows of our layout: pixels (x, y, z as is) and confidences."""
    points = landmarks.landmark
    if visibility:
        return from_normalized(np.array([(p.x, p.y, p.z, p.visibility) for p in points]), width, height)
    return from_normalized(np.array([(p.x, p.y, p.z) for p in points]), width, height)


FACE_NODES = ("SplitNormalizedLandmarkListCalculator", "FaceLandmarksFromPoseCpu")
HOLISTIC_GRAPH = "modules/holistic_landmark/holistic_landmark_cpu.binarypb"
BODY_AND_HANDS = ("pose_landmarks", "left_hand_landmarks", "right_hand_landmarks")
# the nodes mediapipe's Holistic sets its two confidence thresholds on
DETECTION_THRESHOLD = "poselandmarkcpu__posedetectioncpu__TensorsToDetectionsCalculator.min_score_thresh"
TRACKING_THRESHOLD = (
    "poselandmarkcpu__poselandmarkbyroicpu__tensorstoposelandmarksandsegmentation__ThresholdingCalculator.threshold"
)


@cache
def graph_without_face() -> Any:
    """Holistic's ``CalculatorGraphConfig`` without the face branch (built once a process)."""
    import mediapipe
    from mediapipe.framework import calculator_pb2

    config = calculator_pb2.CalculatorGraphConfig()
    config.ParseFromString((Path(mediapipe.__file__).parent / HOLISTIC_GRAPH).read_bytes())
    nodes = [node for node in config.node if node.calculator not in FACE_NODES]
    outputs = [name for name in config.output_stream if not name.startswith("FACE_LANDMARKS:")]
    side_inputs = [name for name in config.input_side_packet if not name.startswith("REFINE_FACE_LANDMARKS:")]
    for field, kept in ((config.node, nodes), (config.output_stream, outputs), (config.input_side_packet, side_inputs)):
        del field[:]
        field.extend(kept)
    return config


def open_holistic(
    *, include_face: bool, model_complexity: int, min_detection_confidence: float, min_tracking_confidence: float
) -> Any:
    """A Holistic graph for video (tracking from frame to frame); its ``process(image)`` gives a result
    with ``pose_landmarks``, ``left_hand_landmarks``, ``right_hand_landmarks`` and, with the face,
    ``face_landmarks``. Close it when done."""
    from mediapipe.python.solution_base import SolutionBase
    from mediapipe.python.solutions.holistic import Holistic

    filter_native_stderr()
    if include_face:
        return Holistic(
            static_image_mode=False,
            model_complexity=model_complexity,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )

    class HolisticWithoutFace(SolutionBase):
        # the side inputs and thresholds are those mediapipe's Holistic sets for video
        def __init__(self) -> None:
            super().__init__(
                graph_config=graph_without_face(),
                side_inputs={
                    "model_complexity": model_complexity,
                    "smooth_landmarks": True,
                    "enable_segmentation": False,
                    "smooth_segmentation": True,
                    "use_prev_landmarks": True,
                },
                calculator_params={
                    DETECTION_THRESHOLD: min_detection_confidence,
                    TRACKING_THRESHOLD: min_tracking_confidence,
                },
                outputs=list(BODY_AND_HANDS),
            )

        def process(self, image: Any) -> Any:
            return super().process(input_data={"image": image})

    return HolisticWithoutFace()


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
                values[rows], confidence[rows] = landmark_rows(landmarks, width, height, name == "pose")
        self._last = (image.copy(), values.copy(), confidence.copy())  # the caller may reuse its buffer
        return values, confidence
