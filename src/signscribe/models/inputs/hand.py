"""The ``hand`` input kind: the shape of the signing hand and the path of its wrist, frame by frame,
for handshape models (fingerspelled letters and digits). One frame (a photo) or many (a video, a
landmark sequence) give the same tensors, so one model reads both.

The prepared clip is its ``PoseSequence`` in pixels (training augments it as the ``landmarks`` kind
does: a camera's rotation, aspect and shear, speed). An example then takes, in every frame, the hand
found in the most frames (the signing hand):

* its 21 points relative to its wrist, in palm lengths (wrist to the middle finger's knuckle, in
  3D, so a hand turned away keeps its size), x, y and z;
* a 22nd point, the wrist relative to its mean place over the clip in the clip's median palm
  length: the motion of J and Z (zero in a photo);
* a left hand mirrored into a right one: a letter is the same letter signed with either hand.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from signscribe.errors import InputFileError
from signscribe.models.inputs.base import register_input_kind
from signscribe.models.inputs.landmarks import PointPipeline
from signscribe.pose.augment import Augmenter, resample, scale
from signscribe.pose.photo import NoHandError
from signscribe.pose.sequence import PoseSequence

HANDS = ("left_hand", "right_hand")
NUM_POINTS = 22  # the hand's 21 and the wrist's path
MIDDLE_KNUCKLE = 9  # MIDDLE_FINGER_MCP


@register_input_kind("hand")
@dataclass(frozen=True)
class HandConfig(PointPipeline):
    """How a clip becomes the signing hand's shape and path; saved in a model's ``config.json``."""

    reads_photos: ClassVar[bool] = True

    channels: int = 3  # x, y (2) or x, y, z (3)
    max_frames: int = 24  # longer clips are resampled down to this many frames

    @property
    def num_points(self) -> int:
        return NUM_POINTS

    def describe(self) -> dict[str, Any]:
        return {
            "points": "the signing hand's 21 MediaPipe hand points, then its wrist's path",
            "channels": [*["x", "y", "z"][: self.channels], "present"],
            "normalization": {
                "hand": "the hand found in the most frames; a left hand is mirrored into a right one",
                "shape": "relative to the wrist, in palm lengths (wrist to middle knuckle, 3D)",
                "path": "the wrist relative to its mean place, in the clip's median palm length",
            },
        }

    def summary(self) -> str:
        return "the signing hand's MediaPipe landmarks, from a photo or frame by frame (see `config.json`)"

    def model_config(self) -> dict[str, Any]:
        return {"num_points": NUM_POINTS, "channels": self.channels}

    def clip_statistics(self, prepared: list[PoseSequence]) -> dict[str, Any]:
        """The median frame rate and frame count of the training clips with more than one frame."""
        moving = [s for s in prepared if s.num_frames > 1] or prepared
        return {
            "fps": statistics.median(s.fps for s in moving),
            "frames": statistics.median(s.num_frames for s in moving),
        }

    def prepare(self, raw: PoseSequence) -> PoseSequence:
        """The landmarks without the face; landmarks with no hand in any frame are refused."""
        name = raw.source or "<landmarks>"
        if raw.num_frames == 0:
            raise InputFileError(name, "no frames in the landmarks")
        if raw.normalized:
            raise InputFileError(name, "the hand input reads landmarks in pixels, not normalised ones")
        if not any(raw.detected(hand).any() for hand in HANDS):
            raise NoHandError(name, f"no hand found in any of {raw.num_frames} frames")
        return raw.without_face()

    def example(self, prepared: PoseSequence) -> tuple[np.ndarray, np.ndarray]:
        if prepared.num_frames > self.max_frames:
            prepared = resample(prepared, self.max_frames)
        values, present = hand_features(prepared)
        return values[..., : self.channels], present

    def augmenter(self, mirror_probability: float = 0.0, **options: Any) -> HandAugmenter:
        """``HandAugmenter`` with ``options`` named like its fields (mirroring changes nothing here:
        a left hand is mirrored anyway)."""
        return HandAugmenter(**options)


@dataclass(frozen=True)
class HandAugmenter:
    """What a camera and a signer change: the landmarks' own augmentations (rotation, scale, shear,
    speed, lost frames), a frame stretched across by up to ``aspect_range`` (another camera's aspect
    ratio, a photo exported stretched), a photo made of one frame of a clip (``still_probability``), the hand told
    on the wrong side (``side_error_probability``, a mirrored hand in the right one's place), and
    jitter of each point (``jitter``, in palm lengths, applied as the 3D pixel noise it stands for)."""

    rotation_degrees: float = 15.0
    scale_range: float = 0.15
    shear_range: float = 0.1
    speed_range: float = 0.2
    drop_probability: float = 0.05
    aspect_range: float = 0.3
    still_probability: float = 0.3
    tilt_degrees: float = 0.0
    side_error_probability: float = 0.0
    jitter: float = 0.02

    def __call__(self, sequence: PoseSequence, rng: np.random.Generator) -> PoseSequence:
        if sequence.num_frames > 1 and rng.random() < self.still_probability:
            found = np.flatnonzero(sequence.detected("left_hand") | sequence.detected("right_hand"))
            sequence = sequence.select_frames([int(rng.choice(found))])
        if self.aspect_range:
            sequence = scale(sequence, float(np.exp(rng.uniform(-1, 1) * np.log1p(self.aspect_range))), 1.0)
        camera = Augmenter(
            self.rotation_degrees, self.scale_range, self.shear_range, self.speed_range,
            warp_strength=0.0, drop_probability=self.drop_probability, mirror_probability=0.0,
        )  # fmt: skip
        sequence = camera(sequence, rng)
        if self.tilt_degrees:
            yaw, pitch = np.radians(rng.uniform(-self.tilt_degrees, self.tilt_degrees, 2))
            sequence = tilt_hands(sequence, float(yaw), float(pitch))
        if rng.random() < self.side_error_probability:
            sequence = swap_hand_sides(sequence)
        if self.jitter:
            noise = rng.normal(0.0, self.jitter * median_palm(sequence), sequence.data.shape)
            noise[..., 2] /= max(sequence.width, 1)  # z is in widths of the frame
            noise *= sequence.confidence[..., None] > 0
            sequence = replace(sequence, data=(sequence.data + noise).astype(np.float32))
        return sequence


def tilt_hands(sequence: PoseSequence, yaw: float, pitch: float) -> PoseSequence:
    """Each hand turned in 3D about its wrist: ``yaw`` radians about the vertical axis, then ``pitch``
    about the horizontal one (z, in widths of the frame, turned as the pixels it stands for)."""
    turn_yaw = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
    turn_pitch = np.array([[1, 0, 0], [0, np.cos(pitch), -np.sin(pitch)], [0, np.sin(pitch), np.cos(pitch)]])
    turn = turn_pitch @ turn_yaw
    data, width = sequence.data.astype(np.float64), max(sequence.width, 1)
    for hand in HANDS:
        rows = sequence.layout.slice(hand)
        points = data[:, rows] * np.array([1.0, 1.0, width])
        wrist = points[:, :1]
        turned = (points - wrist) @ turn.T + wrist
        found = sequence.confidence[:, rows, None] > 0
        data[:, rows] = np.where(found, turned / np.array([1.0, 1.0, width]), data[:, rows])
    return replace(sequence, data=data.astype(np.float32))


def swap_hand_sides(sequence: PoseSequence) -> PoseSequence:
    """The hands' rows exchanged, points unmoved: a hand MediaPipe told on the wrong side."""
    data, confidence = sequence.data.copy(), sequence.confidence.copy()
    left, right = sequence.layout.slice("left_hand"), sequence.layout.slice("right_hand")
    data[:, left], data[:, right] = sequence.data[:, right], sequence.data[:, left]
    confidence[:, left], confidence[:, right] = sequence.confidence[:, right], sequence.confidence[:, left]
    return replace(sequence, data=data, confidence=confidence)


def signing_hand(sequence: PoseSequence) -> str:
    """The hand found in the most frames (the right one on a tie)."""
    left, right = (int(sequence.detected(hand).sum()) for hand in HANDS)
    return "left_hand" if left > right else "right_hand"


def _hand_pixels(sequence: PoseSequence, hand: str) -> tuple[np.ndarray, np.ndarray]:
    """The hand's points with z in pixels like x (MediaPipe gives it in widths of the frame), and the
    frames it is found in."""
    values, confidence = sequence.component(hand)
    values = values.astype(np.float64) * np.array([1.0, 1.0, max(sequence.width, 1)])
    return values, confidence[:, 0] > 0


def palm_lengths(sequence: PoseSequence, hand: str | None = None) -> np.ndarray:
    """Each frame's palm length in pixels (NaN where the hand is missing)."""
    values, found = _hand_pixels(sequence, hand or signing_hand(sequence))
    lengths = np.linalg.norm(values[:, MIDDLE_KNUCKLE] - values[:, 0], axis=-1)
    return np.where(found & (lengths > 0), lengths, np.nan)


def median_palm(sequence: PoseSequence, hand: str | None = None) -> float:
    """The clip's median palm length in pixels (1 when the hand is never found)."""
    palms = palm_lengths(sequence, hand)
    return float(np.nanmedian(palms)) if np.isfinite(palms).any() else 1.0


def hand_features(sequence: PoseSequence) -> tuple[np.ndarray, np.ndarray]:
    """``(frames, 22, 3)`` float32 features and a ``(frames, 22)`` presence mask (see the module)."""
    hand = signing_hand(sequence)
    values, _ = _hand_pixels(sequence, hand)
    palms = palm_lengths(sequence, hand)
    found = np.isfinite(palms)
    features = np.zeros((sequence.num_frames, NUM_POINTS, 3), np.float64)
    if found.any():
        wrists = values[:, 0]
        features[found, :21] = (values[found] - wrists[found, None]) / palms[found, None, None]
        features[found, 21] = (wrists[found] - wrists[found].mean(axis=0)) / np.median(palms[found])
    if hand == "left_hand":
        features[..., 0] *= -1
    present = np.repeat(found[:, None], NUM_POINTS, axis=1)
    return features.astype(np.float32), present
