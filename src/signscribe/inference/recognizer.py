"""Isolated sign recognition: a clip (video, ``.pose`` file, MP_Data sequence or landmarks) in, ranked
glosses out."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from signscribe.inference.runner import ModelRunner
from signscribe.pose.source import ClipSource
from signscribe.progress import ProgressCallback


@dataclass(frozen=True)
class Prediction:
    gloss: str
    confidence: float  # softmax probability


class Recognizer(ModelRunner):
    """A recognition model plus the pose extractor that feeds it.

    >>> recognizer = Recognizer.from_pretrained("default")   # or a model folder, or a hub id
    >>> recognizer.predict("clip.mp4", top_k=5)
    """

    task = "recognition"

    @property
    def labels(self) -> list[str]:
        assert self.loaded.labels is not None  # load_pretrained reads them for every recognition model
        return self.loaded.labels

    def scores(self, clips: list[ClipSource], on_progress: ProgressCallback | None = None) -> torch.Tensor:
        """Class probabilities ``(clips, labels)``."""
        return self.outputs(clips, on_progress).softmax(dim=-1)

    def predict(
        self, clip: ClipSource, top_k: int = 5, on_progress: ProgressCallback | None = None
    ) -> list[Prediction]:
        """The ``top_k`` most likely glosses, best first; ``on_progress`` follows the clip's loading."""
        probabilities = self.scores([clip], on_progress)[0]
        values, indices = probabilities.topk(min(top_k, len(self.labels)))
        return [Prediction(self.labels[i], float(v)) for v, i in zip(values.tolist(), indices.tolist(), strict=True)]
