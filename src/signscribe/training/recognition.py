"""Training sign classifiers (``signscribe train``): class-weighted cross-entropy, top-1/top-5 per epoch,
and the model folder of the best epoch (or the last, for honest leave-one-signer-out runs)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional

from signscribe.data.dataset import Sample
from signscribe.devices import device_of, to_device
from signscribe.errors import SignscribeError
from signscribe.evaluation.metrics import classification_report, top_k_accuracy
from signscribe.evaluation.plots import CLASSIFIER_PANELS
from signscribe.models.inputs import ExampleSet, ModelBatch, PreparedSamples, predict_logits
from signscribe.models.pretrained import LABELS, labels_json
from signscribe.training.config import TrainConfig
from signscribe.training.distributed import unwrapped
from signscribe.training.loop import EpochHandlers, TrainResult
from signscribe.training.outline import TrainingData, TrainingTask, train_model

HISTORY_COLUMNS = ("epoch", "lr", "train_loss", "train_top1", "train_top5", "val_loss", "val_top1", "val_top5")


def _class_weights(labels: list[int], classes: int) -> torch.Tensor:
    counts = np.bincount(labels, minlength=classes).astype(np.float32)
    weights = np.where(counts > 0, len(labels) / (classes * np.maximum(counts, 1)), 0.0)
    return torch.from_numpy(weights / weights[counts > 0].mean())


class RecognitionTask(TrainingTask):
    task = "recognition"
    stratify = True
    history_columns = HISTORY_COLUMNS
    panels = CLASSIFIER_PANELS
    config: TrainConfig

    def __init__(self, config: TrainConfig, data: TrainingData, out: Path, saved_state: dict[str, Any] | None) -> None:
        super().__init__(config, data, out, saved_state)
        self.index = {label: i for i, label in enumerate(data.labels)}

    @classmethod
    def check_split(cls, config: TrainConfig, labels: list[str], samples: list[Sample]) -> None:
        unknown = sorted({s.label for s in samples if s.label not in labels}, key=str)
        if unknown:
            raise SignscribeError(f"{config.val or config.data}: labels {unknown[:5]} are not in the label list")

    @property
    def num_outputs(self) -> int:
        return len(self.data.labels)

    def targets(self, part: PreparedSamples) -> list[int]:
        return [self.index[s.label] for s in part.samples]

    def folder_files(self) -> dict[str, str]:
        return {LABELS: labels_json(self.data.labels)}

    def card(self, epoch: int, row: dict[str, float], params: int) -> str:
        config, data = self.config, self.data
        return f"""# {config.model} trained with signscribe

- Data: `{config.data}`{f" (validation: `{config.val}`)" if config.val else ""}
- Labels: {len(data.labels)}; training sequences {len(data.train.items)}, validation sequences {len(data.val.items)}
- Split: {config.split_by}{f", held-out signer {config.holdout_signer}" if config.holdout_signer else ""}
- Parameters: {params:,}{f"; started from the encoder of `{config.init_from}`" if config.init_from else ""}
- {"Best" if config.select_best else "Last"} epoch {epoch}: validation top-1 {row["val_top1"]:.1%}, \
top-5 {row["val_top5"]:.1%}, loss {row["val_loss"]:.3f}
- Trained {datetime.now(timezone.utc):%Y-%m-%d} with `signscribe train` (options in `train_config.json`).

Input: {data.input_summary}.
"""

    def describe_epoch(self, row: dict[str, float]) -> str:
        return (
            f"epoch {row['epoch']}: train loss {row['train_loss']:.3f} top-1 {row['train_top1']:.1%} | "
            f"val loss {row['val_loss']:.3f} top-1 {row['val_top1']:.1%} top-5 {row['val_top5']:.1%}"
        )

    def describe_result(self, result: TrainResult) -> str:
        stop = " (stopped early)" if result.stopped_early else ""
        last = result.history[-1]["epoch"]
        kept = f"epoch {result.best_epoch}" if self.config.select_best else f"the last epoch, {last}"
        return (
            f"best epoch {result.best_epoch}{stop}: val top-1 {result.best['val_top1']:.1%}, "
            f"top-5 {result.best['val_top5']:.1%}; model folder {result.out} holds {kept}"
        )

    def handlers(
        self,
        model: torch.nn.Module,
        train_set: ExampleSet,
        val_set: ExampleSet,
        save_folder: Callable[[int, dict[str, float]], None],
    ) -> EpochHandlers:
        config, labels = self.config, self.data.labels
        device = device_of(model)
        weights = _class_weights(train_set.targets, len(labels)).to(device) if config.class_weighting else None

        def step(indices: list[int], batch: ModelBatch) -> tuple[torch.Tensor, dict[str, float]]:
            logits = model(*to_device(batch.inputs, device)).float()
            targets = batch.labels.to(device)
            loss = functional.cross_entropy(logits, targets, weight=weights, label_smoothing=config.label_smoothing)
            accuracy = {f"train_top{k}": top_k_accuracy(logits.detach().cpu(), batch.labels, k) for k in (1, 5)}
            return loss, accuracy

        def evaluate(epoch: int) -> dict[str, float]:
            logits = predict_logits(unwrapped(model), val_set, config.batch)
            report = classification_report(logits, torch.tensor(val_set.targets), labels)
            top5 = report.top_k.get(5, report.top_k[max(report.top_k)])
            return {"val_loss": report.loss, "val_top1": report.top_k[1], "val_top5": top5}

        def publish(epoch: int, row: dict[str, float], improved: bool, history: list[dict[str, float]]) -> None:
            if improved or not config.select_best:
                save_folder(epoch, row)

        return EpochHandlers(step, evaluate, lambda row: (row["val_top1"], -row["val_loss"]), publish)


def train(config: TrainConfig, out: Path, **options: Any) -> TrainResult:
    """Train a classifier on ``config.data`` and write a model folder (the best epoch) plus
    ``history.csv``, ``curves.png`` and a checkpoint into ``out``. ``options`` are those of
    ``train_model``: ``resume``, ``hook``, ``extractor``, ``on_epoch``, ``workers``, ``log``."""
    return train_model(RecognitionTask, config, out, **options)
