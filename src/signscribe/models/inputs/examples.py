"""Prepared clips as indexed model examples, with seeded augmentation for training, built into
batches here or by DataLoader worker processes, and the model run over them batch by batch."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader
from torch.utils.data import Dataset as TorchDataset

from signscribe.devices import device_of, to_device
from signscribe.models.inputs.base import Augment, InputPipeline, ModelBatch


class ExampleSet(TorchDataset):
    """Prepared clips and their integer targets; with ``augment``, example ``i`` of epoch ``e`` is
    augmented with a generator seeded by ``(seed, e, i)``, so runs repeat exactly, whichever process
    builds it. With ``workers`` > 0, ``loader`` builds batches in that many DataLoader processes
    (for RGB clips, reading frames and augmenting them is most of a training step's input work)."""

    def __init__(
        self,
        pipeline: InputPipeline,
        prepared: list[Any],
        targets: list[int],
        augment: Augment | None = None,
        seed: int = 0,
        workers: int = 0,
    ) -> None:
        if workers < 0:
            raise ValueError(f"loader workers must be 0 or more, got {workers}")
        self.pipeline, self.prepared, self.targets = pipeline, prepared, targets
        self.augment, self.seed, self.epoch, self.workers = augment, seed, 0, workers

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

    def loader(self, groups: Sequence[Sequence[int]]) -> Iterator[ModelBatch]:
        """The batch of each group of indices, in order: built here, or ahead by ``workers`` processes
        (started for this pass, so they see the current epoch)."""
        if self.workers == 0 or len(groups) < 2:
            return (self.batch(rows) for rows in groups)
        batches = _GroupBatches(self, [list(rows) for rows in groups])
        # its own generator: seeding the workers must not draw from the global one (dropout uses it)
        loader = DataLoader(
            batches, batch_size=None, num_workers=self.workers, collate_fn=_as_built, generator=torch.Generator()
        )
        return iter(loader)


class _GroupBatches(TorchDataset):
    """Batch ``i`` is the examples of ``groups[i]``: what a DataLoader worker builds whole."""

    def __init__(self, examples: ExampleSet, groups: list[list[int]]) -> None:
        self.examples, self.groups = examples, groups

    def __len__(self) -> int:
        return len(self.groups)

    def __getitem__(self, index: int) -> ModelBatch:
        return self.examples.batch(self.groups[index])


def _as_built(batch: ModelBatch) -> ModelBatch:
    return batch


@torch.no_grad()
def predict_logits(model: Any, examples: ExampleSet, batch: int) -> torch.Tensor:
    """The model's outputs for every example, in order (eval mode), computed where the model is and
    returned on the CPU as float32."""
    if isinstance(model, torch.nn.Module):  # an exported model (OnnxModel) has no training mode
        model.eval()
    device = device_of(model)
    outputs = [model(*to_device(built.inputs, device)) for built in examples.loader(examples.batches(batch))]
    return torch.cat([output.float().cpu() for output in outputs])
