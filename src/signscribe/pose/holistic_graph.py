"""MediaPipe Holistic as a graph, with its face branch left out when the face is not wanted.

Holistic runs its face mesh on every frame, whether or not anyone reads the 468 points: about a fifth of
its time on a CPU. Without the face, the graph below is MediaPipe's own ``holistic_landmark_cpu``
with the two face nodes and the face output removed; the pose and hand branches do not read the face,
so their landmarks are the same, to the bit (``tests/test_extract.py`` checks it on a real clip).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from signscribe.pose.native_log import filter_native_stderr

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
