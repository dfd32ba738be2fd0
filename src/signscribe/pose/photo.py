"""Hand landmarks of a photo: MediaPipe Hands in static-image mode, as a one-frame ``PoseSequence``.

Hands, not Holistic: on the shared fingerspelling photos Holistic finds a hand in 6-9% of them, where
Hands finds one in 84% (``benchmarks/photo_hands.py``). Holistic looks for a body first, and a photo
of a hand sign is often a crop of the hand alone. On such tight crops the palm detector also misses
hands, because it sees no wrist or arm around them. So a photo where no hand is found is tried again
inside borders of its edge colour (``RETRY_BORDERS``): with them, hands are found in 95% of the
letter photos and all the digit photos.

In a photo the palm detector's threshold is 0.3, not MediaPipe's 0.5 (``PHOTO_DETECTION_CONFIDENCE``):
with the retries, 0.3 finds a hand in 96.4% of the roboflow letter photos where 0.5 finds one in
94.6%, and no more false hands in 285 crops of faces and backgrounds from the shared clips (one, a
face, at either); 0.2 finds 97.1% and three false hands (``benchmarks/photo_hands.py``). MediaPipe
blends overlapping palm boxes, so the weaker ones also move the landmarks of hands 0.5 finds: the
fingerspelling model's held-out photos are read better (its card). A video keeps 0.5: its frames
show the arm around the hand.

MediaPipe Hands names a hand as it would appear in a mirrored (selfie) image: its "Left" is the
signer's right hand in an ordinary photo, which is where the hand goes in our layout. The body rows
stay missing (confidence 0).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from signscribe.errors import NoSignerError
from signscribe.io.photos import read_image
from signscribe.native_log import filter_native_stderr
from signscribe.pose.holistic_graph import OFFLINE_MODEL_COMPLEXITY
from signscribe.pose.layout import Layout, from_normalized
from signscribe.pose.sequence import PoseSequence

# The borders a photo without a found hand is tried again in, a share of its longer side.
RETRY_BORDERS = (0.25, 0.5, 1.0)
PHOTO_FPS = 1.0  # a photo is one frame; a rate keeps every PoseSequence alike
# bumped when what a photo gives changes (cache entries are kept under it)
PHOTO_VERSION = 2
# the palm detector's threshold in a photo, and in a video's frames (see the module's docstring)
PHOTO_DETECTION_CONFIDENCE = 0.3
VIDEO_DETECTION_CONFIDENCE = 0.5
# MediaPipe's label of a hand -> the rows it takes in an unmirrored photo (see the module's docstring)
_SIDE_OF_LABEL = {"Left": "right_hand", "Right": "left_hand"}


class NoHandError(NoSignerError):
    """A photo in which no hand is found: nothing to read a hand sign from."""


class PhotoHands:
    """MediaPipe Hands on single images, with the retry in borders; open it once for many photos. One
    graph serves one photo at a time (a server's threads take turns: a photo takes milliseconds).

    With ``video``, the images are the frames of one video (a live stream of a hand spelling): Hands
    follows the hand from frame to frame instead of looking for it afresh, and there is no retry (a
    webcam's frame shows the arm around the hand)."""

    def __init__(self, max_hands: int = 2, min_detection_confidence: float | None = None, video: bool = False) -> None:
        self.max_hands = max_hands
        default = VIDEO_DETECTION_CONFIDENCE if video else PHOTO_DETECTION_CONFIDENCE
        self.min_detection_confidence = default if min_detection_confidence is None else min_detection_confidence
        self.video = video
        self._hands = None
        self._turn = threading.Lock()

    def __enter__(self) -> PhotoHands:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        with self._turn:
            if self._hands is not None:
                self._hands.close()
                self._hands = None

    def _graph(self) -> Any:  # mediapipe's Hands, imported when first needed
        if self._hands is None:
            from mediapipe.python.solutions.hands import Hands

            filter_native_stderr()
            self._hands = Hands(
                static_image_mode=not self.video,
                max_num_hands=self.max_hands,
                model_complexity=OFFLINE_MODEL_COMPLEXITY,
                min_detection_confidence=self.min_detection_confidence,
            )
        return self._hands

    def landmarks(self, image: np.ndarray, source: str = "") -> PoseSequence:
        """The one-frame landmarks of an RGB image: its hands, or none found (all missing)."""
        height, width = image.shape[:2]
        layout = Layout()
        data = np.zeros((1, layout.num_points, 3), np.float32)
        confidence = np.zeros((1, layout.num_points), np.float32)
        with self._turn:
            for border in (0.0, *(() if self.video else RETRY_BORDERS)):
                hands = self._find(image, round(border * max(height, width)))
                if hands:
                    break
        for side, (values, score) in hands.items():
            rows = layout.slice(side)
            data[0, rows], confidence[0, rows] = values, score
        return PoseSequence(data, confidence, PHOTO_FPS, width=width, height=height, source=source)

    def _find(self, image: np.ndarray, border: int) -> dict[str, tuple[np.ndarray, float]]:
        """The hands found in ``image`` inside a ``border`` of its edge colour, by side, in the image's
        pixels (the more certain of two hands given the same side)."""
        framed = np.pad(image, ((border, border), (border, border), (0, 0)), mode="edge") if border else image
        result = self._graph().process(np.ascontiguousarray(framed))
        hands: dict[str, tuple[np.ndarray, float]] = {}
        for points, handedness in zip(result.multi_hand_landmarks or [], result.multi_handedness or [], strict=True):
            label = handedness.classification[0]
            side = _SIDE_OF_LABEL[label.label]
            if side in hands and hands[side][1] >= label.score:
                continue
            normalised = [(p.x, p.y, p.z) for p in points.landmark]
            values, _ = from_normalized(normalised, framed.shape[1], framed.shape[0])
            values[:, :2] -= border
            hands[side] = (values, float(label.score))
        return hands


def photo_landmarks(path: str | Path, hands: PhotoHands | None = None) -> PoseSequence:
    """The landmarks of a photo file (JPEG, PNG, WebP; upright by its EXIF orientation), its hands
    found or not (``require_hand`` says which)."""
    image = read_image(path)
    if hands is not None:
        return hands.landmarks(image, str(path))
    with PhotoHands() as own:
        return own.landmarks(image, str(path))


def require_hand(sequence: PoseSequence) -> PoseSequence:
    """``sequence`` when a hand is found in it; else a ``NoHandError`` naming its photo."""
    if not sequence.detected("left_hand").any() and not sequence.detected("right_hand").any():
        raise NoHandError(sequence.source or "<photo>", "no hand found in this photo")
    return sequence
