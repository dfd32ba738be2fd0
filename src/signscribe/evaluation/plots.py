"""PNG plots of training curves and attention heatmaps (matplotlib, no display needed); the confusion
matrix is ``confusion.py``'s."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from signscribe.files import atomic_write
from signscribe.inference.clips import Recognition, clip_name


def save_figure(figure: plt.Figure, path: Path) -> Path:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    with atomic_write(path) as file:
        file.write(buffer.getvalue())
    return path


Panel = tuple[str, str, tuple[str, ...], "tuple[float, float] | None"]
"""One plot of ``plot_curves``: title, y-axis label, history keys drawn, y limits (or ``None``)."""
CLASSIFIER_PANELS: tuple[Panel, ...] = (
    ("Loss", "cross-entropy", ("train_loss", "val_loss"), None),
    ("Accuracy", "accuracy", ("train_top1", "val_top1", "val_top5"), (0, 1.02)),
)
STYLES = ("-", "--", ":", "-.")


def plot_curves(history: list[dict[str, float]], path: Path, panels: tuple[Panel, ...] = CLASSIFIER_PANELS) -> Path:
    """Per-epoch curves side by side; by default loss and top-1/top-5 accuracy, training and validation."""
    epochs = [row["epoch"] for row in history]
    figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for axis, (title, label, keys, limits) in zip(axes[0], panels, strict=True):
        for key, style in zip(keys, STYLES * len(keys), strict=False):
            axis.plot(epochs, [row[key] for row in history], style, label=key.replace("_", " "))
        axis.set(xlabel="epoch", ylabel=label, title=title)
        if limits is not None:
            axis.set_ylim(*limits)
        axis.legend()
        axis.grid(alpha=0.3)
    return save_figure(figure, path)


def plot_attention(weights: list[float], times: list[float] | None, title: str, path: str | Path) -> Path:
    """A heatmap strip of attention over a clip: a cell per row the model pooled over, at its time
    (seconds) when known, darker where the model looked more."""
    values = np.asarray(weights, dtype=np.float32)[None]
    figure, axis = plt.subplots(figsize=(8, 1.6))
    if times is not None and len(times) > 1:
        step = (times[-1] - times[0]) / (len(times) - 1)
        extent = (times[0] - step / 2, times[-1] + step / 2, 0, 1)
        axis.set_xlabel("seconds")
    else:
        extent = (-0.5, len(weights) - 0.5, 0, 1)
        axis.set_xlabel("row")
    image = axis.imshow(
        values, aspect="auto", cmap="magma_r", extent=extent, vmin=0, vmax=max(float(values.max()), 1e-9)
    )
    axis.set_yticks([])
    axis.set_title(title, fontsize=10)
    figure.colorbar(image, ax=axis, pad=0.01, label="weight")
    return save_figure(figure, Path(path))


def plot_recognition_attention(recognition: Recognition, folder: str | Path) -> list[Path]:
    """An attention heatmap per explained clip of ``recognize --explain``: ``<clip>_attention.png``."""
    written = []
    for result in recognition.results:
        if result.attention is not None and result.predictions:
            name = clip_name(result.clip, recognition.base)
            best = result.predictions[0]
            title = f"{name}: {best.gloss} ({best.confidence:.0%}), attention over the clip"
            path = Path(folder) / f"{Path(name).with_suffix('').as_posix().replace('/', '_')}_attention.png"
            written.append(plot_attention(result.attention.weights, result.attention.times, title, path))
    return written
