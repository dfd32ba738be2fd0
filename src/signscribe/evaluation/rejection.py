"""Open-set rejection: the confidence below which a recognition model answers "not one of the signs I
know", calibrated on clips of its vocabulary (validation) and of signs outside it.

A clip gets no gloss when the no-sign detector finds the signer resting, or when its best gloss's
probability is below ``min_confidence``. The operating point is the highest threshold that still
answers ``keep`` of the in-vocabulary clips (resting ones count as lost); the curve shows the
trade-off at every threshold of a grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ScoredClips:
    """What a model made of a set of clips: the best gloss's probability, whether the detector found the
    signer signing, and (in the vocabulary) whether the best gloss was right."""

    name: str
    best: np.ndarray  # (clips,) float
    signing: np.ndarray  # (clips,) bool
    correct: np.ndarray | None = None  # (clips,) bool, for clips of the vocabulary

    def answered(self, threshold: float) -> np.ndarray:
        return self.signing & (self.best >= threshold)


@dataclass(frozen=True)
class CurvePoint:
    threshold: float
    kept: float  # share of in-vocabulary clips answered with a gloss
    kept_top1: float  # top-1 among those answered
    answered_right: float  # share of all in-vocabulary clips answered with the right gloss
    rejected: dict[str, float]  # per set of outside clips, the share answered "no gloss"


def curve(inside: ScoredClips, outside: list[ScoredClips], thresholds: np.ndarray) -> list[CurvePoint]:
    """The trade-off at each threshold."""
    assert inside.correct is not None, "in-vocabulary clips need their correctness"
    points = []
    for threshold in thresholds:
        answered = inside.answered(float(threshold))
        right = answered & inside.correct
        points.append(
            CurvePoint(
                threshold=float(threshold),
                kept=float(answered.mean()),
                kept_top1=float(right.sum() / max(answered.sum(), 1)),
                answered_right=float(right.mean()),
                rejected={clips.name: float(1 - clips.answered(float(threshold)).mean()) for clips in outside},
            )
        )
    return points


def operating_point(inside: ScoredClips, keep: float = 0.9, step: float = 0.01) -> float:
    """The highest threshold (on a grid of ``step``) at which at least ``keep`` of ``inside`` is answered."""
    if inside.signing.mean() < keep:
        return 0.0
    best = 0.0
    for threshold in np.arange(0.0, 1.0 + step / 2, step):
        if inside.answered(float(threshold)).mean() >= keep:
            best = float(round(threshold, 6))
    return best
