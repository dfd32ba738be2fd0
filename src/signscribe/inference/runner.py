"""What every inference front shares: a model loaded by ``load_pretrained`` for one task, and the
landmark extractor (with the pose cache) that feeds the model's input pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, TypeVar

import torch

from signscribe.models.inputs import ModelBatch
from signscribe.models.pretrained import LoadedModel, load_pretrained, wrong_task
from signscribe.pose.cache import PoseCache
from signscribe.pose.extract import HolisticExtractor
from signscribe.pose.sequence import PoseSequence
from signscribe.pose.source import ClipSource, load_landmarks
from signscribe.progress import ProgressCallback

RunnerType = TypeVar("RunnerType", bound="ModelRunner")


class ModelRunner:
    """A loaded model of ``task`` (in eval mode) and its extractor; subclasses add what the task answers."""

    task: ClassVar[str]

    def __init__(self, loaded: LoadedModel, extractor: HolisticExtractor | None = None) -> None:
        if loaded.task != self.task:
            raise wrong_task(loaded.path, loaded.task, self.task)
        self.loaded = loaded
        self.extractor = extractor or HolisticExtractor(cache=PoseCache())

    @classmethod
    def from_pretrained(
        cls: type[RunnerType], path_or_name: str | Path | None = None, extractor: HolisticExtractor | None = None
    ) -> RunnerType:
        """From a model folder, ``"default"`` (the model shipped in the package) or a hub id."""
        return cls(load_pretrained(path_or_name, task=cls.task), extractor)

    def landmarks(self, clip: ClipSource) -> PoseSequence:
        """The landmarks of a clip, extracted (through the pose cache) or read."""
        return load_landmarks(clip, self.extractor)

    def model_batch(self, clips: list[ClipSource], on_progress: ProgressCallback | None = None) -> ModelBatch:
        """Model input for clips, through the model's input pipeline; ``on_progress`` follows the
        loading of each clip (for a video: its frames)."""
        pipeline = self.loaded.features
        return pipeline.batch([pipeline.load(clip, self.extractor, on_progress) for clip in clips])

    @torch.no_grad()
    def outputs(self, clips: list[ClipSource], on_progress: ProgressCallback | None = None) -> torch.Tensor:
        """The model's raw output for a batch of clips."""
        return self.loaded.model(*self.model_batch(clips, on_progress).inputs)
