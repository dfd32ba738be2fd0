"""Training samples: normalised landmark sequences turned into model input, with seeded augmentation."""

from __future__ import annotations

import numpy as np
from torch.utils.data import Dataset as TorchDataset

from signscribe.models.features import FeatureConfig, sequence_features
from signscribe.pose.augment import Augmenter
from signscribe.pose.sequence import PoseSequence


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
