"""The confusion matrix a person reads: glosses on the axes, the classes present, the most confused
when there are many, every class in the HTML table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from signscribe.evaluation.confusion import (
    MOST_IN_PICTURE,
    confusion_html,
    most_confused,
    plot_confusion,
    present_classes,
)


def _confusion(classes: int, present: list[int], mistakes: dict[tuple[int, int], int]) -> np.ndarray:
    matrix = np.zeros((classes, classes), dtype=int)
    for index in present:
        matrix[index, index] = 3
    for (true, predicted), count in mistakes.items():
        matrix[true, predicted] += count
    return matrix


def test_only_the_classes_present_are_shown_and_named(tmp_path: Path) -> None:
    labels = [f"gloss{i}" for i in range(100)]
    matrix = _confusion(100, list(range(0, 42, 2)), {(0, 51): 2})  # 21 true glosses, one predicted outside
    assert present_classes(matrix).tolist() == [*range(0, 42, 2), 51]
    page = confusion_html(matrix.tolist(), labels, tmp_path / "c.html").read_text()
    assert page.split("<tbody>")[1].count("<tr>") == 22 and "gloss51" in page and "gloss1<" not in page
    assert 'title="true gloss0, predicted gloss51: 2"' in page
    with Image.open(plot_confusion(matrix.tolist(), labels, tmp_path / "c.png")) as image:
        assert max(image.size) < 1200  # 22 labelled glosses, not 100 numbered ones


def test_past_the_limit_the_picture_keeps_the_most_confused(tmp_path: Path) -> None:
    labels = [f"<g{i}>" for i in range(100)]
    mistakes = {(i, i + 1): i for i in range(90, 99)}  # the most errors between 90 and 99
    matrix = _confusion(100, list(range(100)), mistakes)
    chosen = most_confused(matrix, present_classes(matrix), MOST_IN_PICTURE)
    assert len(chosen) == MOST_IN_PICTURE and set(range(90, 100)) <= set(chosen.tolist())
    assert chosen.tolist() == sorted(chosen.tolist())
    page = confusion_html(matrix.tolist(), labels, tmp_path / "c.html").read_text()
    assert page.split("<tbody>")[1].count("<tr>") == 100 and "&lt;g5&gt;" in page and "<g5>" not in page
