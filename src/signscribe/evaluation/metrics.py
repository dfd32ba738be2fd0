"""Classification metrics from logits, with torchmetrics: top-k accuracy per instance and per class,
loss, per-class precision and recall, and the confusion matrix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch.nn import functional
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassPrecision,
    MulticlassRecall,
)

TOP_K = (1, 2, 5, 10)


@dataclass
class ClassificationReport:
    """What ``evaluate`` reports; ``to_dict`` gives the documented JSON keys."""

    samples: int
    loss: float
    top_k: dict[int, float]  # share of instances whose label is among the k best
    mean_class_top_k: dict[int, float]  # the same, averaged over classes present in the data
    per_class: list[dict[str, Any]]  # label, support, precision, recall
    confusion: list[list[int]]  # rows: true label, columns: predicted label
    labels: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "loss": self.loss,
            "top_k": {f"top{k}": value for k, value in self.top_k.items()},
            "mean_class_top_k": {f"top{k}": value for k, value in self.mean_class_top_k.items()},
            "per_class": self.per_class,
            "confusion_matrix": self.confusion,
            "labels": self.labels,
        }


def top_k_accuracy(logits: torch.Tensor, targets: torch.Tensor, k: int) -> float:
    """Share of rows whose target is among the ``k`` highest logits (0 for no rows)."""
    if len(targets) == 0:
        return 0.0
    k = min(k, logits.shape[1])
    return float((logits.topk(k, dim=1).indices == targets[:, None]).any(dim=1).float().mean())


def classification_report(logits: torch.Tensor, targets: torch.Tensor, labels: list[str]) -> ClassificationReport:
    classes = len(labels)
    ks = [k for k in TOP_K if k <= classes]
    loss = float(functional.cross_entropy(logits, targets)) if len(targets) else 0.0
    seen = torch.bincount(targets, minlength=classes) > 0
    mean_class = {}
    for k in ks:
        per_class = MulticlassAccuracy(classes, top_k=k, average="none")(logits, targets)
        mean_class[k] = float(per_class[seen].mean()) if seen.any() else 0.0
    precision = MulticlassPrecision(classes, average="none", zero_division=0)(logits, targets)
    recall = MulticlassRecall(classes, average="none", zero_division=0)(logits, targets)
    confusion = MulticlassConfusionMatrix(classes)(logits, targets)
    support = torch.bincount(targets, minlength=classes)
    return ClassificationReport(
        samples=len(targets),
        loss=loss,
        top_k={k: top_k_accuracy(logits, targets, k) for k in ks},
        mean_class_top_k=mean_class,
        per_class=[
            {"label": label, "support": int(support[i]), "precision": float(precision[i]), "recall": float(recall[i])}
            for i, label in enumerate(labels)
        ],
        confusion=confusion.tolist(),
        labels=labels,
    )
