"""The confusion matrix of an evaluation, for a person: glosses on both axes, only the classes the
evaluated samples hold, and for many classes the most confused of them in the PNG, with every class in
an HTML table (each cell names its true and predicted gloss on hover)."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from signscribe.evaluation.plots import plt, save_figure
from signscribe.files import write_text_atomic

MOST_IN_PICTURE = 40  # more classes than this and the labels no longer fit: the most confused are drawn


def present_classes(confusion: np.ndarray) -> np.ndarray:
    """The indices of the classes that are a sample's true label or a prediction."""
    return np.flatnonzero(confusion.sum(axis=0) + confusion.sum(axis=1))


def most_confused(confusion: np.ndarray, classes: np.ndarray, most: int) -> np.ndarray:
    """The ``most`` of ``classes`` with the most errors, as true label or as prediction, in label order."""
    errors = confusion - np.diag(np.diag(confusion))
    weight = errors.sum(axis=0) + errors.sum(axis=1)
    chosen = classes[np.argsort(-weight[classes], kind="stable")[:most]]
    return np.sort(chosen)


def row_shares(confusion: np.ndarray) -> np.ndarray:
    rows = confusion.sum(axis=1, keepdims=True)
    return np.divide(confusion, rows, out=np.zeros_like(confusion, dtype=float), where=rows > 0)


def plot_confusion(confusion: list[list[int]], labels: list[str], path: Path) -> Path:
    """Row-normalised confusion matrix (true gloss down, prediction across) of the classes present;
    past ``MOST_IN_PICTURE`` of them, of the most confused, as the title says."""
    matrix = np.asarray(confusion, dtype=float)
    classes = present_classes(matrix)
    shown = classes if len(classes) <= MOST_IN_PICTURE else most_confused(matrix, classes, MOST_IN_PICTURE)
    shares = row_shares(matrix)[np.ix_(shown, shown)]
    names = [labels[index] for index in shown]
    size = max(4.0, 0.3 * len(names) + 2.5)
    figure, axis = plt.subplots(figsize=(size, size))
    image = axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    axis.set_xticks(range(len(names)), names, rotation=90, fontsize=8)
    axis.set_yticks(range(len(names)), names, fontsize=8)
    which = f"the {len(shown)} most confused of {len(classes)} glosses" if len(shown) < len(classes) else "glosses"
    axis.set(xlabel="predicted", ylabel="true", title=f"Confusion matrix: share of each true gloss ({which})")
    figure.colorbar(image, ax=axis, fraction=0.046)
    return save_figure(figure, path)


def confusion_html(confusion: list[list[int]], labels: list[str], path: Path) -> Path:
    """Every class present as a table of counts, shaded by the share of its true gloss."""
    matrix = np.asarray(confusion, dtype=float)
    classes = present_classes(matrix)
    shares = row_shares(matrix)
    names = [html.escape(labels[index]) for index in classes]
    head = "".join(f"<th class=p>{name}</th>" for name in names)
    rows = []
    for row, name in zip(classes, names, strict=True):
        cells = []
        for column, predicted in zip(classes, names, strict=True):
            count, share = int(matrix[row, column]), shares[row, column]
            tip = f"true {name}, predicted {predicted}: {count}"
            style = f"background:rgba(31,119,180,{share:.2f})" + (";color:#fff" if share > 0.5 else "")
            cells.append(f'<td title="{tip}" style="{style}">{count or ""}</td>')
        rows.append(f"<tr><th>{name}</th>{''.join(cells)}</tr>")
    page = f"""<!doctype html><meta charset="utf-8"><title>Confusion matrix</title>
<style>body{{font:13px system-ui,sans-serif}}table{{border-collapse:collapse}}td,th{{border:1px solid #ddd;
padding:2px 4px;text-align:right}}th{{background:#f6f6f6;position:sticky;left:0}}thead th{{top:0;z-index:1}}
th.p{{writing-mode:vertical-rl}}</style>
<h1>Confusion matrix</h1><p>{len(classes)} glosses; rows: the true gloss, columns: the prediction.
Shading: the share of the row. Hover a cell for its glosses.</p>
<table><thead><tr><th>true \\ predicted</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>
"""
    write_text_atomic(path, page)
    return path
