"""Model input: a normalised landmark sequence as a ``(frames, points, channels)`` array and a mask.

The points are the upper body (MediaPipe pose rows 0-24: face, arms, hips; the legs are left
out) and both hands, 67 in all. Coordinates are those of ``signscribe.pose.normalize``
(shoulder-centred, shoulder widths, hands relative to their wrist).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from signscribe.errors import InputFileError
from signscribe.pose.augment import resample
from signscribe.pose.layout import Layout
from signscribe.pose.normalize import normalize
from signscribe.pose.sequence import PoseSequence

UPPER_BODY_POINTS = 25


@dataclass(frozen=True)
class FeatureConfig:
    """How a ``PoseSequence`` becomes model input; saved in a model's ``config.json``."""

    channels: int = 2  # x, y (2) or x, y, z (3)
    hands_relative: bool = True
    max_frames: int = 64  # longer sequences are resampled down to this many frames

    def __post_init__(self) -> None:
        if self.channels not in (2, 3):
            raise ValueError(f"channels must be 2 (x, y) or 3 (x, y, z), got {self.channels}")
        if self.max_frames < 1:
            raise ValueError(f"max_frames must be positive, got {self.max_frames}")

    @property
    def rows(self) -> np.ndarray:
        layout = Layout()
        hands = np.arange(layout.slice("left_hand").start, layout.slice("right_hand").stop)
        return np.concatenate([np.arange(UPPER_BODY_POINTS), hands])

    @property
    def num_points(self) -> int:
        return len(self.rows)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def sequence_features(sequence: PoseSequence, config: FeatureConfig) -> tuple[np.ndarray, np.ndarray]:
    """``(frames, points, channels)`` float32 features and a ``(frames, points)`` bool presence mask."""
    if not sequence.normalized:
        sequence = normalize(sequence.without_face(), hands_relative=config.hands_relative)
    if sequence.num_frames > config.max_frames:
        sequence = resample(sequence, config.max_frames)
    rows = config.rows
    values = sequence.data[:, rows, : config.channels].astype(np.float32)
    present = sequence.confidence[:, rows] > 0
    return values, present


@dataclass
class Batch:
    points: torch.Tensor  # (batch, frames, points, channels)
    present: torch.Tensor  # (batch, frames, points) bool
    frames: torch.Tensor  # (batch, frames) bool, False on padding
    labels: torch.Tensor  # (batch,) long


def collate(items: list[tuple[np.ndarray, np.ndarray, int]]) -> Batch:
    """Pad to the longest sequence of the batch."""
    length = max(len(values) for values, _, _ in items)
    points = np.zeros((len(items), length, *items[0][0].shape[1:]), np.float32)
    present = np.zeros((len(items), length, items[0][1].shape[1]), bool)
    frames = np.zeros((len(items), length), bool)
    for row, (values, mask, _) in enumerate(items):
        points[row, : len(values)], present[row, : len(values)], frames[row, : len(values)] = values, mask, True
    labels = torch.tensor([label for _, _, label in items], dtype=torch.long)
    return Batch(torch.from_numpy(points), torch.from_numpy(present), torch.from_numpy(frames), labels)


def model_input(sequences: list[PoseSequence], config: FeatureConfig) -> Batch:
    """One padded batch of model input for landmark sequences (labels all 0)."""
    items = []
    for sequence in sequences:
        if sequence.num_frames == 0:
            raise InputFileError(sequence.source or "<landmarks>", "no frames in the landmarks")
        values, present = sequence_features(sequence, config)
        items.append((values, present, 0))
    return collate(items)
