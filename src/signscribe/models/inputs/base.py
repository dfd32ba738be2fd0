"""Input pipelines: how clips become a model's tensors, one pipeline per input kind.

A model family declares its input kind in the registry; the model folder saves the pipeline's
settings as the ``features`` entry of ``config.json``. Every caller (training, evaluation,
recognition, transcription, the live stream) goes through the same four steps:

1. ``load(clip, extractor)``: the raw input of a clip (for ``landmarks``, a ``PoseSequence``), with
   the landmark extractor for kinds that need landmarks (to extract them, or to find the signer);
2. ``prepare(raw)``: the per-clip work done once (normalisation); training keeps these in memory;
3. ``example(prepared)``: one model example (training augments ``prepared`` first, per epoch);
4. ``collate(examples, targets)``: a padded ``Batch`` whose ``inputs`` the model is called with.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

import numpy as np

from signscribe.errors import SignscribeError
from signscribe.pose.extract import HolisticExtractor
from signscribe.pose.source import Clip, ClipSource
from signscribe.progress import ProgressCallback

if TYPE_CHECKING:
    import torch

    from signscribe.data.dataset import Sample

PipelineType = TypeVar("PipelineType", bound="type[InputPipeline]")
Augment = Callable[[Any, np.random.Generator], Any]
"""A training augmentation: a prepared clip and a seeded generator to a changed prepared clip."""


class ModelBatch(Protocol):
    """A padded batch: the model is called as ``model(*batch.inputs)``; ``labels`` are the targets."""

    @property
    def inputs(self) -> tuple[torch.Tensor, ...]: ...
    @property
    def labels(self) -> torch.Tensor: ...


class InputPipeline(ABC):
    """Turns clips into model input for one input kind (see the module's docstring)."""

    kind: ClassVar[str]
    # The names of the model's input tensors and the axis of each that is time (None: a fixed
    # length), for export (no names: the kind cannot be exported); every tensor's axis 0 is the batch.
    tensor_names: ClassVar[tuple[str, ...]] = ()
    time_axes: ClassVar[tuple[int | None, ...]] = ()
    # Whether a photo is an input of this kind (a hand shape is; a sign, which moves, is not).
    reads_photos: ClassVar[bool] = False

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> InputPipeline:
        """The pipeline saved as ``to_dict()`` in a model's ``config.json``."""
        return cls(**values)

    @abstractmethod
    def to_dict(self) -> dict[str, Any]: ...

    def describe(self) -> dict[str, Any]:
        """Human-readable entries for ``config.json`` (layout, normalisation, ...)."""
        return {}

    def summary(self) -> str:
        """What the model reads, in a phrase for its model card."""
        return f"input kind {self.kind} (see `config.json`)"

    def model_config(self) -> dict[str, Any]:
        """What the model's constructor must know of the input (sizes)."""
        return {}

    def example_length(self, prepared: Any) -> int:
        """About how many rows an example of ``prepared`` has along time, before augmentation (what
        batching by length sorts on); 1 for an input without a time axis."""
        return 1

    @property
    def needs_face(self) -> bool:
        """Whether the landmarks this pipeline loads must be extracted with the face."""
        return False

    def clip_statistics(self, prepared: list[Any]) -> dict[str, Any]:
        """What training clips were like (the ``input`` entry of ``config.json``; for clips with time,
        ``fps`` and ``frames``, from which transcription and live streams size their windows)."""
        return {}

    @abstractmethod
    def load(
        self, clip: ClipSource, extractor: HolisticExtractor, on_progress: ProgressCallback | None = None
    ) -> Any: ...

    @abstractmethod
    def prepare(self, raw: Any) -> Any: ...

    @abstractmethod
    def example(self, prepared: Any) -> Any: ...

    @abstractmethod
    def collate(self, examples: list[Any], targets: list[int]) -> ModelBatch: ...

    def row_times(self, prepared: Any, rows: int) -> np.ndarray | None:
        """The time in seconds of each of the ``rows`` an example of ``prepared`` has (what attention
        weighs), or ``None`` when the input does not tell."""
        return None

    def fitted(self, prepared: list[Any]) -> InputPipeline:
        """The pipeline with what the training data tells it (the embeddings' width), before the model
        is built from ``model_config``; as it is by default."""
        return self

    def longest_example(self) -> int | None:
        """The most rows an example has along its time axis (``None``: no time axis, or no bound):
        what a fixed-shape export (TFLite) pads every clip to."""
        return None

    def arrays(self, examples: list[Any]) -> tuple[np.ndarray, ...]:
        """The model's inputs for ``examples`` as numpy arrays, in ``tensor_names`` order: what an
        exported model reads (onnxruntime, no torch); ``collate`` makes the same tensors."""
        raise SignscribeError(f"input kind {self.kind} has no array form: it does not run as an exported model")

    def made_up_example(self, rng: np.random.Generator) -> Any | None:
        """An example of the longest shape with random values, to trace a model for export when no
        clip is at hand (a model's graph depends on the shapes of its inputs, not on their values);
        ``None``: this kind needs a real clip."""
        return None

    def augmenter(self, mirror_probability: float = 0.0, **options: Any) -> Augment | None:
        """The training augmentation of this kind (``options`` tune it), or ``None``."""
        return None

    def prefetch(  # noqa: B027  (optional: a no-op unless overridden)
        self,
        clips: Sequence[Clip],
        extractor: HolisticExtractor,
        workers: int,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        """Make ``load`` cheap for these clips with ``workers`` processes (a cache), if the kind can."""


_PIPELINES: dict[str, type[InputPipeline]] = {}
# the kinds signscribe ships and their modules, imported when first asked for
BUILTIN_KINDS = {
    "landmarks": "landmarks",
    "hand": "hand",
    "frames": "frames",
    "embeddings": "embeddings",
    "video+prompt": "video_prompt",
}


def _pipelines() -> dict[str, type[InputPipeline]]:
    for kind, module in BUILTIN_KINDS.items():
        if kind not in _PIPELINES:
            importlib.import_module(f"signscribe.models.inputs.{module}")
    return _PIPELINES


def register_input_kind(kind: str) -> Callable[[PipelineType], PipelineType]:
    """Register the pipeline class of an input kind."""

    def register(pipeline: PipelineType) -> PipelineType:
        if kind in _PIPELINES:
            raise ValueError(f"input kind {kind!r} is registered twice")
        pipeline.kind = kind
        _PIPELINES[kind] = pipeline
        return pipeline

    return register


def input_kinds() -> list[str]:
    return sorted(_pipelines())


def input_pipeline(kind: str, settings: dict[str, Any] | None = None) -> InputPipeline:
    """The pipeline of an input kind with saved ``settings`` (defaults when ``None``); a built-in
    kind's module is imported only when asked for."""
    if kind in BUILTIN_KINDS and kind not in _PIPELINES:
        importlib.import_module(f"signscribe.models.inputs.{BUILTIN_KINDS[kind]}")
    if kind not in _PIPELINES:
        raise ValueError(f"no input pipeline for input kind {kind!r}; available: {', '.join(input_kinds())}")
    pipeline = _PIPELINES[kind]
    return pipeline.from_dict(settings) if settings is not None else pipeline()


@dataclass
class PreparedSamples:
    """Prepared inputs of the samples that loaded, those samples, and the ones that failed with why."""

    items: list[Any] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    failed: list[tuple[Sample, str]] = field(default_factory=list)


def prepare_samples(
    pipeline: InputPipeline,
    samples: Sequence[Sample],
    extractor: HolisticExtractor,
    on_progress: ProgressCallback | None = None,
) -> PreparedSamples:
    """Load and prepare each sample's clip; a sample that fails is kept with its reason."""
    prepared = PreparedSamples()
    for done, sample in enumerate(samples, start=1):
        try:
            prepared.items.append(pipeline.prepare(pipeline.load(sample.clip, extractor)))
            prepared.samples.append(sample)
        except SignscribeError as error:
            prepared.failed.append((sample, str(error)))
        if on_progress is not None:
            on_progress(done, len(samples))
    return prepared
