"""Prepared clips as indexed model examples, with seeded augmentation for training, and the model run
over them batch by batch."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset as TorchDataset

from signscribe.devices import device_of, to_device
from signscribe.models.inputs.base import Augment, InputPipeline, ModelBatch


class ExampleSet(TorchDataset):
    """Prepared clips and their integer targets; with ``augment``, example ``i`` of epoch ``e`` is
    augmented with a generator seeded by ``(seed, e, i)``, so runs repeat exactly."""

    def __init__(
        self,
        pipeline: InputPipeline,
        prepared: list[Any],
        targets: list[int],
        augment: Augment | None = None,
        seed: int = 0,
    ) -> None:
        self.pipeline, self.prepared, self.targets = pipeline, prepared, targets
        self.augment, self.seed, self.epoch = augment, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.prepared)

    def __getitem__(self, index: int) -> Any:
        item = self.prepared[index]
        if self.augment is not None:
            item = self.augment(item, np.random.default_rng([self.seed, self.epoch, index]))
        return self.pipeline.example(item)

    def batch(self, indices: list[int] | range) -> ModelBatch:
        return self.pipeline.collate([self[i] for i in indices], [self.targets[i] for i in indices])

    def batches(self, size: int) -> list[range]:
        """Consecutive index ranges of at most ``size``, covering the set in order."""
        return [range(start, min(start + size, len(self))) for start in range(0, len(self), size)]


@torch.no_grad()
def predict_logits(model: torch.nn.Module, examples: ExampleSet, batch: int) -> torch.Tensor:
    """The model's outputs for every example, in order (eval mode), computed where the model is and
    returned on the CPU as float32."""
    model.eval()
    device = device_of(model)
    outputs = [model(*to_device(examples.batch(rows).inputs, device)) for rows in examples.batches(batch)]
    return torch.cat([output.float().cpu() for output in outputs])
