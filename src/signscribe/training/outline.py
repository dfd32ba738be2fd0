"""The one outline every training command follows, whatever the task:

check the family's task, make the run deterministic, check ``--out`` and ``--resume``, split the
data, prepare every clip once (in parallel into the pose cache first, with ``workers``), build the
model and its optimiser, write ``train_config.json``, then run the shared epoch loop
(``signscribe.training.loop``). A ``TrainingTask`` supplies what differs: targets, the loss and
validation metrics, the files of the model folder and the logs written each epoch.
"""

from __future__ import annotations

import dataclasses
import json
import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch

from signscribe.data.dataset import Sample
from signscribe.devices import check_precision, resolve_device
from signscribe.errors import SignscribeError
from signscribe.evaluation.plots import Panel, plot_curves
from signscribe.files import write_csv_atomic, write_text_atomic
from signscribe.models.inputs import ExampleSet, InputPipeline, PreparedSamples, input_pipeline, prepare_samples
from signscribe.models.pretrained import LoadedModel, load_pretrained, model_config_json, save_model_folder
from signscribe.models.registry import ModelFamily, create_model, model_family
from signscribe.models.weights import encoder_of, head_name, load_state, load_weights
from signscribe.pose.cache import PoseCache
from signscribe.pose.extract import ExtractionSettings, HolisticExtractor
from signscribe.progress import ProgressCallback, ProgressHook
from signscribe.training.checkpoint import resumable_state
from signscribe.training.config import TrainingOptions
from signscribe.training.distributed import Distributed
from signscribe.training.loop import CHECKPOINT, EpochHandlers, TrainResult, run_epochs
from signscribe.training.splits import split_samples

RESUMABLE_CHANGES = {"epochs", "patience", "device", "loader_workers", "frame_cache"}  # a resumed run may change
TRAIN_COMMANDS = {"recognition": "train", "translation": "train-translation"}


@dataclass
class TrainingData:
    """The data's labels and the prepared training and validation clips (with their samples)."""

    labels: list[str]
    train: PreparedSamples
    val: PreparedSamples
    input_summary: str = ""  # what the model reads, for its card

    @property
    def failed(self) -> list[tuple[Sample, str]]:
        return self.train.failed + self.val.failed


class TrainingTask(ABC):
    """What one task adds to the outline. Built once the data is prepared (and, on ``--resume``, with
    the checkpoint's state), before the model."""

    task: ClassVar[str]
    stratify: ClassVar[bool]  # whether a random split keeps each label's share
    history_columns: ClassVar[tuple[str, ...]]  # of history.csv, written every epoch
    panels: ClassVar[tuple[Panel, ...]]  # of curves.png, drawn from curve_rows(history) every epoch

    def __init__(self, config: Any, data: TrainingData, out: Path, saved_state: dict[str, Any] | None) -> None:
        self.config, self.data, self.out = config, data, out

    @classmethod  # noqa: B027  (optional: a no-op unless overridden)
    def check_split(cls, config: Any, labels: list[str], samples: list[Sample]) -> None:
        """Refuse a split the task cannot train on, before any clip is prepared."""

    @property
    @abstractmethod
    def num_outputs(self) -> int:
        """Classes, or the size of the token vocabulary."""

    @abstractmethod
    def targets(self, part: PreparedSamples) -> list[int]:
        """The integer target of each prepared clip of a part."""

    def model_options(self) -> dict[str, Any]:
        """Model configuration the task fixes (before the user's ``model_config``)."""
        return {}

    def task_info(self) -> dict[str, Any]:
        """Extra entries of the model folder's ``config.json``."""
        return {}

    @abstractmethod
    def folder_files(self) -> dict[str, str]:
        """The task's files in the model folder, name to text."""

    @abstractmethod
    def card(self, epoch: int, row: dict[str, float], params: int) -> str:
        """The model card of the folder saved at ``epoch``."""

    @abstractmethod
    def describe_epoch(self, row: dict[str, float]) -> str:
        """One log line for an epoch's history row."""

    @abstractmethod
    def describe_result(self, result: TrainResult) -> str:
        """The line that ends a run (``TrainResult.summary``)."""

    def curve_rows(self, history: list[dict[str, float]]) -> list[dict[str, float]]:
        """The history as ``curves.png`` draws it."""
        return history

    @abstractmethod
    def handlers(
        self,
        model: torch.nn.Module,
        train_set: ExampleSet,
        val_set: ExampleSet,
        save_folder: Callable[[int, dict[str, float]], None],
    ) -> EpochHandlers:
        """The loss, validation, ranking, and what each epoch publishes besides ``history.csv`` and
        ``curves.png`` (``save_folder`` writes the model folder)."""


def pipeline_for(config: TrainingOptions, family: ModelFamily) -> InputPipeline:
    """The input pipeline of the family's input kind configured by the options named like its
    settings, then by the family's own defaults, then by ``config.features``."""
    kind = family.input_kind
    default = input_pipeline(kind)
    names = [item.name for item in fields(default)] if is_dataclass(default) else []
    settings = {name: getattr(config, name) for name in names if hasattr(config, name)}
    try:
        return input_pipeline(kind, {**settings, **family.input_defaults, **config.features})
    except TypeError as error:
        raise ValueError(f"features: {error}; the {kind} input takes {', '.join(names)}") from error


def _each(advance: Callable[[], None] | None) -> ProgressCallback | None:
    return None if advance is None else lambda done, total: advance()


def run_input(config: TrainingOptions, source: LoadedModel | None) -> tuple[InputPipeline, ExtractionSettings]:
    """What a run reads and how its landmarks are extracted: those of the model it starts from (a
    start keeps its input), else of ``config.model``'s family with ``config``'s settings."""
    if source is not None:
        return source.features, source.extraction
    pipeline = pipeline_for(config, model_family(config.model))
    return pipeline, ExtractionSettings(frame_rate=config.frame_rate, include_face=pipeline.needs_face)


def fill_pose_cache(
    task_type: type[TrainingTask],
    config: TrainingOptions,
    workers: int = 1,
    cluster: str | None = None,
    hook: ProgressHook | None = None,
) -> None:
    """Extract every clip a run of ``config`` reads into the pose cache, with ``workers`` processes or
    on the Ray ``cluster``, so that several runs of one data (ensemble members) read them back rather
    than each extracting them."""
    source = load_pretrained(config.init_from, task=task_type.task) if config.init_from else None
    pipeline, extraction = run_input(config, source)
    _, train_samples, val_samples = split_samples(config, task_type.stratify)
    extractor = HolisticExtractor(extraction, cache=PoseCache(), cluster=cluster)
    _prefetch(pipeline, train_samples + val_samples, extractor, workers, hook)


def _prefetch(
    pipeline: InputPipeline,
    samples: list[Sample],
    extractor: HolisticExtractor,
    workers: int,
    hook: ProgressHook | None,
) -> None:
    """Extract the samples' clips into the pose cache ahead of loading them, in parallel (``workers``
    processes, or the extractor's Ray cluster); a bar only where that happens."""
    every = [sample.clip for sample in samples]
    parallel = workers > 1 or extractor.cluster is not None
    extracting = hook(f"extracting {pipeline.kind}", len(every)) if hook and parallel else None
    pipeline.prefetch(every, extractor, workers, _each(extracting))


def prepare_data(
    task_type: type[TrainingTask],
    config: TrainingOptions,
    pipeline: InputPipeline,
    extractor: HolisticExtractor,
    workers: int,
    hook: ProgressHook | None,
) -> TrainingData:
    """Split the data, then prepare every clip once (first in parallel with ``workers``)."""
    labels, train_samples, val_samples = split_samples(config, task_type.stratify)
    task_type.check_split(config, labels, train_samples + val_samples)
    _prefetch(pipeline, train_samples + val_samples, extractor, workers, hook)
    parts = {}
    for name, samples in (("train", train_samples), ("val", val_samples)):
        advance = hook(f"loading {name} {pipeline.kind}", len(samples)) if hook else None
        parts[name] = prepare_samples(pipeline, samples, extractor, _each(advance))
        if not parts[name].items:
            source = config.data if name == "train" else config.val or config.data
            raise SignscribeError(f"{source}: no usable {pipeline.kind} in the {name} part")
    return TrainingData(labels, parts["train"], parts["val"])


def train_model(
    task_type: type[TrainingTask],
    config: TrainingOptions,
    out: Path,
    resume: bool = False,
    hook: ProgressHook | None = None,
    extractor: HolisticExtractor | None = None,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
    workers: int = 1,
    log: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train a model of ``task_type``'s task on ``config.data``; the model folder (see the task) and the
    logs go into ``out``. Landmarks are extracted through the pose cache unless ``extractor`` says
    otherwise, ``workers`` processes at a time. ``on_epoch`` sees each epoch's history row, ``log``
    gets a line for each; the result's ``summary`` is the line that ends the run."""
    source = load_pretrained(config.init_from, task=task_type.task) if config.init_from else None
    architecture, start_config, start_state = encoder_of(source) if source else (config.model, {}, None)
    family = model_family(architecture)
    if family.task != task_type.task:
        raise SignscribeError(f"{architecture} is a {family.task} model; train it with {TRAIN_COMMANDS[family.task]}")
    parallel = Distributed.from_environment()
    device = parallel.start(resolve_device(config.device))
    check_precision(device, config.precision)
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # what deterministic cuBLAS needs
    # exact repeats on the CPU; some GPU kernels have no deterministic version, so there it only warns
    torch.use_deterministic_algorithms(True, warn_only=device.type != "cpu")
    defaults = type(config)().to_dict()
    saved_state = resumable_state(out / CHECKPOINT, config.to_dict(), resume, RESUMABLE_CHANGES, defaults)
    pipeline, extraction = run_input(config, source)
    extractor = extractor or HolisticExtractor(extraction, cache=PoseCache())
    with parallel.first_main():  # rank 0 extracts into the pose cache, the others read it
        data = prepare_data(task_type, config, pipeline, extractor, workers, hook if parallel.main else None)
    pipeline = pipeline.fitted(data.train.items + data.val.items)
    data.input_summary = pipeline.summary()
    task = task_type(config, data, out, saved_state)

    torch.manual_seed(config.seed)
    model_config = {**start_config, **pipeline.model_config(), **task.model_options(), **config.model_config}
    model = create_model(architecture, task.num_outputs, **model_config)
    if start_state is not None and saved_state is None:
        fresh = load_state(model, start_state, config.init_from or "", head_name(model), fresh_head=True)
        if log is not None:
            frozen = ", the rest frozen" if config.freeze_encoder else ""
            log(f"started from {config.init_from} ({architecture}); {', '.join(fresh)} new{frozen}")
    elif config.weights and saved_state is None:
        kept = load_weights(model, config.weights)
        if log is not None:
            left = f"; {', '.join(kept)} left to train (another size)" if kept else ""
            log(f"weights from {config.weights}{left}")
    if config.freeze_encoder:  # also on --resume, so the optimizer holds the same parameters
        head = f"{head_name(model)}."
        for name, parameter in model.named_parameters():
            parameter.requires_grad = name.startswith(head)
    model.to(device)
    trained = [parameter for parameter in model.parameters() if parameter.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=config.lr, weight_decay=config.weight_decay)
    try:
        augment = pipeline.augmenter(config.mirror_probability, **config.augmentation) if config.augment else None
    except TypeError as error:
        raise ValueError(f"augmentation: {error}") from error
    loading = config.loader_workers
    train_set = ExampleSet(pipeline, data.train.items, task.targets(data.train), augment, config.seed, loading)
    val_set = ExampleSet(pipeline, data.val.items, task.targets(data.val), workers=loading)
    folder_config = model_config_json(
        architecture,
        model_config,
        pipeline,
        task.num_outputs,
        pipeline.clip_statistics(data.train.items),
        extractor.settings,
        **task.task_info(),
    )
    params = sum(p.numel() for p in model.parameters())

    def save_folder(epoch: int, row: dict[str, float]) -> None:
        save_model_folder(model, out, folder_config, task.folder_files(), task.card(epoch, row, params))

    handlers = task.handlers(parallel.wrap(model), train_set, val_set, save_folder)
    publish_task = handlers.publish

    def publish(epoch: int, row: dict[str, float], improved: bool, history: list[dict[str, float]]) -> None:
        if not parallel.main:
            return
        publish_task(epoch, row, improved, history)
        write_csv_atomic(out / "history.csv", task.history_columns, history)
        plot_curves(task.curve_rows(history), out / "curves.png", task.panels)

    handlers.publish = publish

    def epoch_done(row: dict[str, float]) -> None:
        if not parallel.main:
            return
        if log is not None:
            log(task.describe_epoch(row))
        if on_epoch is not None:
            on_epoch(row)

    if parallel.main:
        write_text_atomic(out / "train_config.json", json.dumps(config.to_dict(), indent=2))
    try:
        result = run_epochs(config, model, optimizer, train_set, out, saved_state, handlers,
                            hook if parallel.main else None, epoch_done, parallel)  # fmt: skip
    finally:
        parallel.stop()
    return dataclasses.replace(result, summary=task.describe_result(result))
