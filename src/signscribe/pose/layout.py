"""The landmark layout shared by every landmark source in signscribe.

A frame holds the MediaPipe Holistic components in this order:

========== ====== ==========================================================
component  points rows in ``PoseSequence.data``
========== ====== ==========================================================
pose       33     0-32 (MediaPipe ``PoseLandmark`` order, 11/12 = shoulders)
left_hand  21     33-53 (the signer's left hand, ``HandLandmark`` order)
right_hand 21     54-74 (the signer's right hand)
face       468    75-542, only when the face is included (off by default)
========== ====== ==========================================================

Each point has x, y, z and a confidence. x and y are pixels of the frame the landmarks
were taken from, z is MediaPipe's relative depth (same scale as x / width), as in the
``.pose`` files of pose-format. A confidence of 0 means the point is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BODY_POINTS = (
    "NOSE", "LEFT_EYE_INNER", "LEFT_EYE", "LEFT_EYE_OUTER", "RIGHT_EYE_INNER", "RIGHT_EYE",
    "RIGHT_EYE_OUTER", "LEFT_EAR", "RIGHT_EAR", "MOUTH_LEFT", "MOUTH_RIGHT", "LEFT_SHOULDER",
    "RIGHT_SHOULDER", "LEFT_ELBOW", "RIGHT_ELBOW", "LEFT_WRIST", "RIGHT_WRIST", "LEFT_PINKY",
    "RIGHT_PINKY", "LEFT_INDEX", "RIGHT_INDEX", "LEFT_THUMB", "RIGHT_THUMB", "LEFT_HIP", "RIGHT_HIP",
    "LEFT_KNEE", "RIGHT_KNEE", "LEFT_ANKLE", "RIGHT_ANKLE", "LEFT_HEEL", "RIGHT_HEEL",
    "LEFT_FOOT_INDEX", "RIGHT_FOOT_INDEX",
)  # fmt: skip
HAND_POINTS = (
    "WRIST", "THUMB_CMC", "THUMB_MCP", "THUMB_IP", "THUMB_TIP", "INDEX_FINGER_MCP", "INDEX_FINGER_PIP",
    "INDEX_FINGER_DIP", "INDEX_FINGER_TIP", "MIDDLE_FINGER_MCP", "MIDDLE_FINGER_PIP",
    "MIDDLE_FINGER_DIP", "MIDDLE_FINGER_TIP", "RING_FINGER_MCP", "RING_FINGER_PIP", "RING_FINGER_DIP",
    "RING_FINGER_TIP", "PINKY_MCP", "PINKY_PIP", "PINKY_DIP", "PINKY_TIP",
)  # fmt: skip
FACE_POINT_COUNT = 468
# The body rows down to the hips (0-24): what landmark models read of the body, without the legs.
UPPER_BODY_POINTS = BODY_POINTS.index("RIGHT_HIP") + 1

# MediaPipe's POSE_CONNECTIONS among the upper body (rows 0-24) and HAND_CONNECTIONS.
UPPER_BODY_LIMBS = (
    (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10), (11, 12), (11, 13),
    (13, 15), (15, 17), (15, 19), (15, 21), (17, 19), (12, 14), (14, 16), (16, 18), (16, 20),
    (16, 22), (18, 20), (11, 23), (12, 24), (23, 24),
)  # fmt: skip
HAND_LIMBS = (
    (0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (5, 9), (9, 10), (10, 11),
    (11, 12), (9, 13), (13, 14), (14, 15), (15, 16), (13, 17), (0, 17), (17, 18), (18, 19), (19, 20),
)  # fmt: skip

# The face mesh points a landmark model can read (``FeatureConfig(face=True)``), as in the 1st-place
# solution of Kaggle's Isolated Sign Language Recognition: the lips (outer and inner lines, 40), the
# nose (tip, base, both wings) and the outlines of both eyes (16 each), 76 of the 468.
FACE_FEATURE_POINTS = (
    61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 146, 91, 181, 84, 17, 314, 405, 321, 375,
    78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308,
    1, 2, 98, 327,
    263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398,
    33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173,
)  # fmt: skip

LEFT_SHOULDER = BODY_POINTS.index("LEFT_SHOULDER")
RIGHT_SHOULDER = BODY_POINTS.index("RIGHT_SHOULDER")

# Component names in our layout and in pose-format's MediaPipe Holistic header.
POSE_FORMAT_NAMES = {
    "pose": "POSE_LANDMARKS",
    "left_hand": "LEFT_HAND_LANDMARKS",
    "right_hand": "RIGHT_HAND_LANDMARKS",
    "face": "FACE_LANDMARKS",
}
COMPONENT_SIZES = {"pose": len(BODY_POINTS), "left_hand": len(HAND_POINTS), "right_hand": len(HAND_POINTS),
                   "face": FACE_POINT_COUNT}  # fmt: skip


@dataclass(frozen=True)
class Layout:
    """Which components a sequence holds and where each lies in the point axis."""

    include_face: bool = False

    @property
    def components(self) -> tuple[str, ...]:
        base = ("pose", "left_hand", "right_hand")
        return (*base, "face") if self.include_face else base

    @property
    def num_points(self) -> int:
        return sum(COMPONENT_SIZES[name] for name in self.components)

    def slice(self, component: str) -> slice:
        """The rows of ``component`` in the point axis."""
        start = 0
        for name in self.components:
            if name == component:
                return slice(start, start + COMPONENT_SIZES[name])
            start += COMPONENT_SIZES[name]
        raise KeyError(f"component {component!r} is not in layout {self.components}")

    def mirror_permutation(self) -> np.ndarray:
        """Row order of the horizontally mirrored frame: left and right swap everywhere."""
        body = [BODY_POINTS.index(_swap_sides(name)) for name in BODY_POINTS]
        hands = len(BODY_POINTS)
        order = body + list(range(hands + 21, hands + 42)) + list(range(hands, hands + 21))
        if self.include_face:
            from pose_format.utils.holistic import FLIPPED_FACE_POINTS

            face = self.slice("face").start
            order += [face + index for index in FLIPPED_FACE_POINTS[:FACE_POINT_COUNT]]
        return np.asarray(order)


def from_normalized(points: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe's normalised landmarks, ``(..., n, 3)`` or with visibility ``(..., n, 4)``, in our
    convention: x and y in pixels of a ``width`` x ``height`` frame, z as is; the confidence is the
    visibility, never below 1e-3 (a detected point is never "missing"), or 1 without visibility."""
    points = np.asarray(points, dtype=np.float32)
    values = points[..., :3] * np.array([width, height, 1.0], np.float32)
    if points.shape[-1] > 3:
        return values, np.clip(points[..., 3], 1e-3, 1.0)
    return values, np.ones(points.shape[:-1], np.float32)


def _swap_sides(name: str) -> str:
    return name.replace("LEFT", "\0").replace("RIGHT", "LEFT").replace("\0", "RIGHT")
