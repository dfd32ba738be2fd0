"""What every inference front shares: a model loaded by ``load_pretrained`` for one task, and the
landmark extractor (with the pose cache) that feeds the model's input pipeline."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np

from signscribe.errors import InputFileError
from signscribe.io.limits import ClipLimits
from signscribe.models.onnx_model import OnnxModel
from signscribe.models.pretrained import VLM_PREFIX, LoadedModel, load_pretrained, wrong_task
from signscribe.pose.cache import PoseCache
from signscribe.pose.extract import HolisticExtractor
from signscribe.pose.sequence import PoseSequence
from signscribe.pose.source import ClipSource, as_clip, load_landmarks
from signscribe.progress import ProgressCallback

if TYPE_CHECKING:
    import torch

    from signscribe.models.inputs import ModelBatch

RunnerType = TypeVar("RunnerType", bound="ModelRunner")


class ModelRunner:
    """A loaded model of ``task`` (in eval mode) and its extractor; subclasses add what the task answers."""

    task: ClassVar[str]

    def __init__(
        self, loaded: LoadedModel, extractor: HolisticExtractor | None = None, device: str | None = None
    ) -> None:
        """``extractor`` defaults to the model's own extraction settings, with the pose cache; with
        ``device`` (``auto``, ``cpu``, ``cuda``, ``mps``) the model moves there."""
        if loaded.task != self.task:
            raise wrong_task(loaded.path, loaded.task, self.task)
        self.loaded = loaded
        self.extractor = extractor or HolisticExtractor(loaded.extraction, cache=PoseCache())
        # set by the CLI and the server: a longer video is refused from its header, before decoding
        self.limits: ClipLimits | None = None
        if device is not None and not loaded.placed:
            from signscribe.devices import resolve_device

            loaded.model.to(resolve_device(device))

    @classmethod
    def from_pretrained(
        cls: type[RunnerType],
        path_or_name: str | Path | None = None,
        extractor: HolisticExtractor | None = None,
        frame_rate: float | None = None,
        device: str | None = None,
        vlm: dict[str, Any] | None = None,
        extraction_workers: int = 1,
        cluster: str | None = None,
    ) -> RunnerType:
        """From a model folder, a bundled model's name (``"default"``) or a hub id; ``frame_rate``
        overrides the model's extraction frame rate, ``device`` says where the model runs, and
        ``extraction_workers`` above 1 extracts a clip's landmarks in that many parts at once (a pool
        of warm graphs, ``pose/parts.py``); ``cluster`` (a Ray address) extracts a dataset's clips on
        that Ray cluster (``batch.warm_cache``). A video language model (``vlm:<id or folder>``) takes
        ``vlm`` options and is placed as it loads."""
        if str(path_or_name).startswith(VLM_PREFIX):
            return cls(load_pretrained(path_or_name, cls.task, {**(vlm or {}), "device": device}), extractor)
        loaded = load_pretrained(path_or_name, task=cls.task, vlm=vlm)
        if extractor is None and (frame_rate is not None or extraction_workers > 1 or cluster is not None):
            settings = loaded.extraction if frame_rate is None else replace(loaded.extraction, frame_rate=frame_rate)
            extractor = HolisticExtractor(settings, cache=PoseCache(), workers=extraction_workers, cluster=cluster)
        return cls(loaded, extractor, device)

    def landmarks(self, clip: ClipSource) -> PoseSequence:
        """The landmarks of a clip, extracted (through the pose cache) or read."""
        return load_landmarks(clip, self.extractor)

    def check_limits(self, clip: ClipSource) -> None:
        """Raise ``ClipTooLongError`` for a video longer than ``limits`` (landmarks pass as they are)."""
        if self.limits is not None and not isinstance(clip, PoseSequence) and as_clip(clip).media == "video":
            self.limits.check_file(as_clip(clip).path)

    def check_media(self, clip: ClipSource) -> None:
        """Refuse a photo for a model that reads signs in motion, saying which model reads photos."""
        if not is_photo(clip) or self.loaded.features.reads_photos:
            return
        raise InputFileError(
            as_clip(clip).path,
            f"a photo holds one hand shape, and the model {self.loaded.path.name} reads signs that move, in video; "
            "for a photo of a letter or a digit use --model fingerspelling",
        )

    def check_in_time(self, clip: ClipSource) -> None:
        """Refuse a photo where signing is followed over time (a transcript, spelled words), and a video
        past ``limits``: a photo is one moment, with nothing to follow."""
        self.check_limits(clip)
        if is_photo(clip):
            raise InputFileError(as_clip(clip).path, "a photo is one moment, nothing to transcribe: recognise it")

    def prepare(self, clips: list[ClipSource], on_progress: ProgressCallback | None = None) -> list[Any]:
        """Each clip loaded and prepared by the model's input pipeline; ``on_progress`` follows the
        loading of each (for a video: its frames). Every clip is checked against ``limits`` and its
        kind of media against the model's (``check_media``) first."""
        for clip in clips:
            self.check_limits(clip)
            self.check_media(clip)
        pipeline = self.loaded.features
        return [pipeline.prepare(pipeline.load(clip, self.extractor, on_progress)) for clip in clips]

    def model_batch(self, prepared: list[Any]) -> ModelBatch:
        pipeline = self.loaded.features
        return pipeline.collate([pipeline.example(item) for item in prepared], [0] * len(prepared))

    def model_inputs(self, prepared: list[Any]) -> tuple[torch.Tensor, ...]:
        """The batch of prepared clips as the model is called with it, where the model is."""
        from signscribe.devices import device_of, to_device

        return to_device(self.model_batch(prepared).inputs, device_of(self.loaded.model))

    def outputs(self, prepared: list[Any]) -> torch.Tensor:
        """The model's raw output for prepared clips (computed where the model is, returned on the CPU)."""
        import torch

        with torch.no_grad():
            return self.loaded.model(*self.model_inputs(prepared)).float().cpu()

    def logits(self, prepared: list[Any]) -> np.ndarray:
        """The model's raw output for prepared clips as a numpy array: an exported model is given the
        input pipeline's arrays and runs with onnxruntime alone (torch is never imported)."""
        model = self.loaded.model
        if isinstance(model, OnnxModel):
            pipeline = self.loaded.features
            return model.run(pipeline.arrays([pipeline.example(item) for item in prepared])).astype(np.float32)
        return self.outputs(prepared).numpy()


def is_photo(clip: ClipSource) -> bool:
    """Whether the clip is a photo file (landmarks in memory never are)."""
    return not isinstance(clip, PoseSequence) and as_clip(clip).media == "photo"
