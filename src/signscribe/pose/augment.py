"""Training augmentations on landmark sequences: spatial (rotation, scale, shear, mirror) and temporal.

Spatial transforms act around the origin of a normalised sequence (the shoulder centre) or
around the frame centre of one in pixels. Missing points stay missing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from signscribe.pose.sequence import PoseSequence


def _centre(sequence: PoseSequence) -> np.ndarray:
    if sequence.normalized:
        return np.zeros(2, np.float32)
    return np.array([sequence.width / 2, sequence.height / 2], np.float32)


def _transform(
    sequence: PoseSequence, matrix: np.ndarray, pivot: np.ndarray, rows: slice = slice(None)
) -> PoseSequence:
    """Apply a 2x2 matrix to x, y of the points ``rows`` around ``pivot``; z and missing points are unchanged."""
    data = sequence.data.copy()
    data[:, rows, :2] = (sequence.data[:, rows, :2] - pivot) @ np.asarray(matrix, np.float32).T + pivot
    data = np.where(sequence.confidence[..., None] > 0, data, sequence.data)
    return sequence.replace(data=data.astype(np.float32))


def affine(sequence: PoseSequence, matrix: np.ndarray) -> PoseSequence:
    """Apply a 2x2 matrix to x, y around the centre; z and missing points are unchanged."""
    return _transform(sequence, matrix, _centre(sequence))


def _rotation(degrees: float) -> np.ndarray:
    """The 2x2 matrix of a rotation in the image plane (counter-clockwise on screen, where y points down)."""
    angle = math.radians(degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    return np.array([[cos, sin], [-sin, cos]])


def rotate(sequence: PoseSequence, degrees: float) -> PoseSequence:
    """Rotate in the image plane (positive is counter-clockwise on screen, where y points down)."""
    return affine(sequence, _rotation(degrees))


def scale(sequence: PoseSequence, x: float, y: float | None = None) -> PoseSequence:
    return affine(sequence, np.diag([x, x if y is None else y]))


def shear(sequence: PoseSequence, x: float, y: float = 0.0) -> PoseSequence:
    return affine(sequence, np.array([[1.0, x], [y, 1.0]]))


def mirror(sequence: PoseSequence) -> PoseSequence:
    """Mirror horizontally: x flips and left and right swap (body points, hands and face mesh)."""
    order = sequence.layout.mirror_permutation()
    data = sequence.data[:, order].copy()
    confidence = sequence.confidence[:, order].copy()
    if sequence.normalized:
        data[..., 0] = -data[..., 0]
    else:
        data[..., 0] = sequence.width - data[..., 0]
    data = np.where(confidence[..., None] > 0, data, 0.0)
    return sequence.replace(data=data.astype(np.float32), confidence=confidence)


def sample_at(sequence: PoseSequence, positions: np.ndarray) -> PoseSequence:
    """Resample at fractional frame ``positions``: linear between frames, missing if either side is."""
    positions = np.clip(np.asarray(positions, np.float64), 0, sequence.num_frames - 1)
    before = np.floor(positions).astype(int)
    after = np.minimum(before + 1, sequence.num_frames - 1)
    weight = (positions - before)[:, None, None].astype(np.float32)
    data = (1 - weight) * sequence.data[before] + weight * sequence.data[after]
    confidence = np.minimum(sequence.confidence[before], sequence.confidence[after])
    data = np.where(confidence[..., None] > 0, data, 0.0)
    return sequence.replace(data=data.astype(np.float32), confidence=confidence)


def resample(sequence: PoseSequence, num_frames: int) -> PoseSequence:
    """Stretch or squeeze uniformly to ``num_frames`` (fps scales so the duration is kept)."""
    if num_frames < 1:
        raise ValueError(f"num_frames must be at least 1, got {num_frames}")
    positions = np.linspace(0, sequence.num_frames - 1, num_frames)
    resampled = sample_at(sequence, positions)
    return resampled.replace(fps=sequence.fps * num_frames / max(sequence.num_frames, 1))


def time_warp(sequence: PoseSequence, rng: np.random.Generator, strength: float = 0.2) -> PoseSequence:
    """A random smooth, monotonic change of speed within the sequence (same number of frames)."""
    frames = sequence.num_frames
    knots = np.clip(1 + rng.uniform(-strength, strength, size=4), 0.1, None)
    speed = np.interp(np.linspace(0, 3, frames), np.arange(4), knots)
    elapsed = np.concatenate([[0.0], np.cumsum(speed[:-1])])
    positions = elapsed / max(elapsed[-1], 1e-9) * (frames - 1)
    return sample_at(sequence, positions)


def drop_frames(sequence: PoseSequence, rng: np.random.Generator, probability: float) -> PoseSequence:
    """Drop each frame with ``probability``, always keeping at least one."""
    keep = rng.random(sequence.num_frames) >= probability
    if not keep.any():
        keep[rng.integers(sequence.num_frames)] = True
    return sequence.select_frames(np.flatnonzero(keep))


def crop(sequence: PoseSequence, rng: np.random.Generator, crop_range: float) -> PoseSequence:
    """A random stretch of at least ``1 - crop_range`` of the frames (at least one)."""
    keep = max(1, round(sequence.num_frames * (1 - rng.uniform(0, crop_range))))
    start = int(rng.integers(0, sequence.num_frames - keep + 1))
    return sequence.select_frames(slice(start, start + keep))


def rotate_part(sequence: PoseSequence, component: str, degrees: float) -> PoseSequence:
    """Rotate one component (a hand) about its first point (the wrist) in the image plane."""
    rows = sequence.layout.slice(component)
    return _transform(sequence, _rotation(degrees), sequence.data[:, rows.start : rows.start + 1, :2], rows)


def drop_hands(sequence: PoseSequence, rng: np.random.Generator, probability: float) -> PoseSequence:
    """Mark each hand missing in each frame with ``probability``."""
    confidence = sequence.confidence.copy()
    data = sequence.data.copy()
    for hand in ("left_hand", "right_hand"):
        rows = sequence.layout.slice(hand)
        lost = rng.random(sequence.num_frames) < probability
        confidence[lost, rows] = 0.0
        data[lost, rows] = 0.0
    return sequence.replace(data=data, confidence=confidence)


@dataclass(frozen=True)
class Augmenter:
    """A random mix of the augmentations above, for training. Ranges are symmetric around no change."""

    rotation_degrees: float = 15.0
    scale_range: float = 0.15
    shear_range: float = 0.15
    speed_range: float = 0.2
    warp_strength: float = 0.2
    drop_probability: float = 0.05
    mirror_probability: float = 0.5
    # Off by default (0), so that runs made before them repeat exactly:
    crop_range: float = 0.0  # keep a random stretch of at least 1 - crop_range of the frames
    hand_rotation_degrees: float = 0.0  # turn each hand about its wrist on its own
    hand_drop_probability: float = 0.0  # lose each hand in a frame, as a missed detection does

    def __call__(self, sequence: PoseSequence, rng: np.random.Generator) -> PoseSequence:
        if self.crop_range:
            sequence = crop(sequence, rng, self.crop_range)
        if self.hand_rotation_degrees:
            for hand in ("left_hand", "right_hand"):
                angle = rng.uniform(-self.hand_rotation_degrees, self.hand_rotation_degrees)
                sequence = rotate_part(sequence, hand, angle)
        if self.hand_drop_probability:
            sequence = drop_hands(sequence, rng, self.hand_drop_probability)
        sequence = rotate(sequence, rng.uniform(-self.rotation_degrees, self.rotation_degrees))
        sequence = scale(sequence, *(1 + rng.uniform(-self.scale_range, self.scale_range, size=2)))
        sequence = shear(sequence, *rng.uniform(-self.shear_range, self.shear_range, size=2))
        if rng.random() < self.mirror_probability:
            sequence = mirror(sequence)
        speed = 1 + rng.uniform(-self.speed_range, self.speed_range)
        sequence = resample(sequence, max(1, round(sequence.num_frames / speed)))
        sequence = time_warp(sequence, rng, self.warp_strength)
        return drop_frames(sequence, rng, self.drop_probability)
