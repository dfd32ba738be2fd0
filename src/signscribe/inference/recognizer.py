"""Isolated sign recognition: a clip (video, ``.pose`` file or landmarks) in, ranked glosses out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from signscribe.models.features import model_input
from signscribe.models.folder import LoadedModel, load_model_folder
from signscribe.pose.cache import PoseCache
from signscribe.pose.extract import HolisticExtractor
from signscribe.pose.posefile import load_pose
from signscribe.pose.sequence import PoseSequence


def clip_landmarks(clip: str | Path | PoseSequence, extractor: HolisticExtractor) -> PoseSequence:
    """The landmarks of a video file (through ``extractor``), a ``.pose`` file, or a ``PoseSequence`` as given."""
    if isinstance(clip, PoseSequence):
        return clip
    path = Path(clip)
    if path.suffix == ".pose":
        return load_pose(path, include_face=False)
    return extractor.extract(path)


@dataclass(frozen=True)
class Prediction:
    gloss: str
    confidence: float  # softmax probability


class Recognizer:
    """A loaded model plus the pose extractor that feeds it.

    >>> recognizer = Recognizer.from_pretrained("default")   # or a model folder, or a hub id
    >>> recognizer.predict("clip.mp4", top_k=5)
    """

    def __init__(self, loaded: LoadedModel, extractor: HolisticExtractor | None = None) -> None:
        self.loaded = loaded
        self.extractor = extractor or HolisticExtractor(cache=PoseCache())

    @classmethod
    def from_pretrained(cls, path_or_name: str | Path | None = None, extractor: HolisticExtractor | None = None):
        return cls(load_model_folder(path_or_name), extractor)

    @property
    def labels(self) -> list[str]:
        return self.loaded.labels

    def landmarks(self, clip: str | Path | PoseSequence) -> PoseSequence:
        return clip_landmarks(clip, self.extractor)

    def scores(self, sequences: list[PoseSequence]) -> torch.Tensor:
        """Class probabilities ``(clips, labels)`` for landmark sequences."""
        batch = model_input(sequences, self.loaded.features)
        with torch.no_grad():
            return self.loaded.model(batch.points, batch.present, batch.frames).softmax(dim=-1)

    def predict(self, clip: str | Path | PoseSequence, top_k: int = 5) -> list[Prediction]:
        """The ``top_k`` most likely glosses, best first."""
        probabilities = self.scores([self.landmarks(clip)])[0]
        values, indices = probabilities.topk(min(top_k, len(self.labels)))
        return [Prediction(self.labels[i], float(v)) for v, i in zip(values.tolist(), indices.tolist(), strict=True)]
