"""Landmarks of dataset samples as padded tensor batches, with seeded augmentation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset as TorchDataset

from signscribe.data import sample_pose
from signscribe.data.dataset import Sample
from signscribe.errors import SignscribeError
from signscribe.models.features import FeatureConfig, sequence_features
from signscribe.pose.augment import Augmenter
from signscribe.pose.extract import HolisticExtractor
from signscribe.pose.normalize import normalize
from signscribe.pose.sequence import PoseSequence


@dataclass
class Batch:
    points: torch.Tensor  # (batch, frames, points, channels)
    present: torch.Tensor  # (batch, frames, points) bool
    frames: torch.Tensor  # (batch, frames) bool, False on padding
    labels: torch.Tensor  # (batch,) long


def load_sequences(
    samples: list[Sample],
    extractor: HolisticExtractor,
    hands_relative: bool,
    on_progress: Callable[[], None] | None = None,
) -> tuple[list[PoseSequence], list[Sample], list[tuple[Sample, str]]]:
    """Normalised landmarks of each sample; samples that fail are returned with the reason."""
    sequences, kept, failed = [], [], []
    for sample in samples:
        try:
            sequence = sample_pose(sample, extractor)
            if sequence.num_frames == 0:
                raise SignscribeError(f"{sample.path}: no frames")
            sequences.append(normalize(sequence.without_face(), hands_relative=hands_relative))
            kept.append(sample)
        except SignscribeError as error:
            failed.append((sample, str(error)))
        if on_progress is not None:
            on_progress()
    return sequences, kept, failed


class SequenceDataset(TorchDataset):
    """Normalised sequences and label indices; ``set_epoch`` reseeds the augmentation."""

    def __init__(
        self,
        sequences: list[PoseSequence],
        labels: list[int],
        features: FeatureConfig,
        augmenter: Augmenter | None = None,
        seed: int = 0,
    ) -> None:
        self.sequences, self.labels, self.features = sequences, labels, features
        self.augmenter, self.seed, self.epoch = augmenter, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray, int]:
        sequence = self.sequences[index]
        if self.augmenter is not None:
            sequence = self.augmenter(sequence, np.random.default_rng([self.seed, self.epoch, index]))
        values, present = sequence_features(sequence, self.features)
        return values, present, self.labels[index]


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
