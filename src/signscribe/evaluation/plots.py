"""PNG plots: training curves and confusion matrices (matplotlib, no display needed)."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from signscribe.files import atomic_write


def _save(figure: plt.Figure, path: Path) -> Path:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    with atomic_write(path) as file:
        file.write(buffer.getvalue())
    return path


def plot_curves(history: list[dict[str, float]], path: Path) -> Path:
    """Loss and top-1/top-5 accuracy per epoch, training and validation."""
    epochs = [row["epoch"] for row in history]
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(10, 4))
    for key, style in (("train_loss", "-"), ("val_loss", "--")):
        loss_axis.plot(epochs, [row[key] for row in history], style, label=key.replace("_", " "))
    for key, style in (("train_top1", "-"), ("val_top1", "--"), ("val_top5", ":")):
        accuracy_axis.plot(epochs, [row[key] for row in history], style, label=key.replace("_", " "))
    loss_axis.set(xlabel="epoch", ylabel="cross-entropy", title="Loss")
    accuracy_axis.set(xlabel="epoch", ylabel="accuracy", title="Accuracy", ylim=(0, 1.02))
    for axis in (loss_axis, accuracy_axis):
        axis.legend()
        axis.grid(alpha=0.3)
    return _save(figure, path)


def plot_confusion(confusion: list[list[int]], labels: list[str], path: Path) -> Path:
    """Row-normalised confusion matrix (true label down, prediction across)."""
    matrix = np.asarray(confusion, dtype=float)
    rows = matrix.sum(axis=1, keepdims=True)
    shares = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    size = max(4.0, 0.35 * len(labels) + 2)
    figure, axis = plt.subplots(figsize=(size, size))
    image = axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    if len(labels) <= 60:
        axis.set_xticks(range(len(labels)), labels, rotation=90, fontsize=8)
        axis.set_yticks(range(len(labels)), labels, fontsize=8)
    axis.set(xlabel="predicted", ylabel="true", title="Confusion matrix (share of each true label)")
    figure.colorbar(image, ax=axis, fraction=0.046)
    return _save(figure, path)
