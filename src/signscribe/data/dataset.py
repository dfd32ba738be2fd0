"""The sample and dataset types every reader returns."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from signscribe.io import BBox
from signscribe.pose.source import Clip


@dataclass(frozen=True)
class Sample:
    """One labelled piece of signing.

    ``path`` is a video, a ``.pose`` file, an MP_Data sequence folder or an ``.npy`` of embeddings. A
    time range (seconds, How2Sign) or a frame range (1-based inclusive, ``end_frame=-1`` to the end,
    WLASL) selects part of it; ``clip`` is that part, as ``signscribe.pose.load_landmarks`` takes it.
    Samples of one ``group`` (the visual variants of one clip) are never split between training and
    validation.
    """

    id: str
    path: Path
    label: str | None
    split: str | None = None
    signer: str | None = None
    start_time: float | None = None
    end_time: float | None = None
    start_frame: int = 1
    end_frame: int = -1
    bbox: BBox | None = None
    group: str | None = None

    @property
    def clip(self) -> Clip:
        return Clip(self.path, self.start_time, self.end_time, self.start_frame, self.end_frame, self.bbox)


@dataclass
class Dataset:
    """Samples whose media exist, those whose media are missing, and the label list."""

    kind: str
    source: Path
    samples: list[Sample]
    missing: list[Sample] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the reader decided about the data, for the user

    def __len__(self) -> int:
        return len(self.samples)

    def split_counts(self) -> dict[str | None, int]:
        return dict(Counter(sample.split for sample in self.samples))

    def select(self, split: str) -> Dataset:
        """The samples (and missing ones) of one split."""
        return Dataset(
            kind=self.kind,
            source=self.source,
            samples=[s for s in self.samples if s.split == split],
            missing=[s for s in self.missing if s.split == split],
            labels=self.labels,
            notes=self.notes,
        )


def partition(kind: str, source: Path, samples: list[Sample], labels: list[str] | None = None) -> Dataset:
    """Split samples into those whose file exists and the missing ones."""
    present = [sample for sample in samples if sample.path.exists()]
    missing = [sample for sample in samples if not sample.path.exists()]
    if labels is None:
        labels = sorted({sample.label for sample in samples if sample.label is not None})
    return Dataset(kind=kind, source=source, samples=present, missing=missing, labels=labels)
