"""Training options, from the command line or a JSON/TOML file holding the same names."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from signscribe.data.options import DatasetOptions, described
from signscribe.errors import InputFileError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


ConfigType = TypeVar("ConfigType", bound="ConfigFile")


class ConfigFile:
    """Options of a dataclass that can also come from a JSON or TOML file holding the same names."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_options(cls: type[ConfigType], path: str | Path | None = None, **options: Any) -> ConfigType:
        """The file at ``path`` (if any) with ``options`` that are not ``None`` over it; options that are
        not fields (a command line's other arguments) are ignored, paths become strings."""
        names = {item.name for item in fields(cls)}
        given = {k: str(v) if isinstance(v, Path) else v for k, v in options.items() if k in names and v is not None}
        return cls.from_file(path, **given) if path is not None else cls(**given)

    @classmethod
    def from_file(cls: type[ConfigType], path: str | Path, **overrides: Any) -> ConfigType:
        """Read a ``.json`` or ``.toml`` file; ``overrides`` that are not ``None`` win over the file."""
        path = Path(path)
        if not path.is_file():
            raise InputFileError(path, "config file not found")
        try:
            text = path.read_text(encoding="utf-8")
            values = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise InputFileError(path, f"not a valid {path.suffix.lstrip('.') or 'JSON'} config ({error})") from error
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputFileError(path, f"unknown option(s) {unknown}; known: {sorted(known)}")
        values.update({key: value for key, value in overrides.items() if value is not None})
        try:
            return cls(**values)
        except (TypeError, ValueError) as error:
            raise InputFileError(path, str(error)) from error


@dataclass
class DataOptions(DatasetOptions, ConfigFile):
    """The data of a training run (``DatasetOptions`` with it) and its split into training and
    validation samples; the ``described`` fields are options of every training command."""

    data: str = ""
    val: str | None = field(
        default=None,
        metadata=described("Validation data as KIND:PATH (default: a split of --data).", None, "KIND:PATH"),
    )
    val_videos: str | None = field(
        default=None, metadata=described("The folder of --val's videos, if not --videos.", None, "DIR")
    )
    seed: int = field(default=0, metadata=described("Seed of the split, the weights and the batches."))
    split_seed: int | None = field(
        default=None, metadata=described("Seed of the split alone (default: --seed); ensemble members share one.")
    )
    split_by: str = field(
        default="random",
        metadata=described("When --data has no validation split: random (stratified by label) or signer."),
    )
    holdout_signer: str | None = field(
        default=None, metadata=described("With --split-by signer: validate on this signer.")
    )
    val_fraction: float = field(default=0.2, metadata=described("The share of --data split off for validation."))

    def __post_init__(self) -> None:
        if self.split_by not in ("random", "signer"):
            raise ValueError(f"split_by must be 'random' or 'signer', got {self.split_by!r}")
        if not 0 < self.val_fraction < 1:
            raise ValueError(f"val_fraction must be between 0 and 1, got {self.val_fraction}")


@dataclass
class TrainingOptions(DataOptions):
    """What every training command takes: the data and its split, the model family, the input
    pipeline's settings (options named like them, ``channels``, ``hands_relative`` and ``max_frames``
    for landmarks, and any of them in ``features``), optimisation, augmentation and early stopping."""

    frame_rate: float | None = None  # frames a second extracted from videos; None keeps every frame
    model: str = ""
    model_config: dict[str, Any] = field(default_factory=dict)
    weights: str | None = None  # a published checkpoint to start from (see signscribe.models.weights)
    init_from: str | None = None  # a model (bundled name, folder) whose encoder starts this one, with a new head
    freeze_encoder: bool = False  # with init_from: train only the new head
    channels: int = 2
    hands_relative: bool = True
    max_frames: int = 64  # longer sequences are resampled down to this many frames
    features: dict[str, Any] = field(default_factory=dict)  # more input pipeline settings, by name
    epochs: int = 40
    batch: int = 32
    # Batches of clips of about one length (less padding: WLASL100 landmarks at 12.5 fps, 80 epochs in 15 min, not 20);
    # off by default, so that runs made before it repeat exactly.
    bucket_by_length: bool = False
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_epochs: float = 2.0
    label_smoothing: float = 0.1
    ema_decay: float = 0.0  # > 0: evaluate and save a moving average of the weights (0.999, say)
    device: str = "auto"  # auto, cpu, cuda (cuda:N) or mps
    precision: str = "fp32"  # fp32, bf16 (CPU or GPU) or fp16 (CUDA, with loss scaling)
    accumulate: int = 1  # batches whose gradients add up before each optimizer step
    loader_workers: int = 0  # DataLoader processes building batches (reading and augmenting clips)
    frame_cache: str | None = None  # frames models: a folder of decoded clips, read memory-mapped
    augment: bool = True
    augmentation: dict[str, Any] = field(default_factory=dict)  # the input pipeline's augmenter options
    mirror_probability: float = 0.0  # mirroring swaps the dominant hand, which changes some signs
    patience: int = 10  # epochs without a better validation score before stopping; 0 never stops

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.epochs < 1 or self.batch < 1 or self.lr <= 0 or self.accumulate < 1:
            raise ValueError("epochs, batch and accumulate must be at least 1 and lr positive")
        if self.freeze_encoder and not self.init_from:
            raise ValueError("freeze_encoder needs init_from: the encoder of which model?")
        if self.init_from and self.weights:
            raise ValueError("give init_from or weights, not both")
        if self.loader_workers < 0:
            raise ValueError(f"loader_workers must be 0 or more, got {self.loader_workers}")


@dataclass
class TrainConfig(TrainingOptions):
    """Options of ``signscribe train`` (recognition): a random split is stratified by label."""

    model: str = "pose_transformer"
    class_weighting: bool = True
    # Keep the epoch with the best validation top-1; false keeps the last epoch, so a held-out
    # test signer used as validation data never chooses the model (honest leave-one-signer-out).
    select_best: bool = True


@dataclass
class TranslationConfig(TrainingOptions):
    """Options of ``signscribe train-translation``: sentences, a subword vocabulary and decoding."""

    model: str = "pose_to_text"
    max_frames: int = 256
    vocab_size: int = 2000  # at most; a small corpus yields fewer subwords
    max_length: int = 64  # tokens per sentence, in training (longer ones are cut) and generation
    beam_size: int = 4  # saved as the model's default for `translate`; validation decodes greedily
    length_penalty: float = 1.0
    epochs: int = 60
    batch: int = 16
    lr: float = 5e-4
    weight_decay: float = 0.01
    val_fraction: float = 0.1
    mirror_probability: float = 0.5
    patience: int = 0
    device: str = "cpu"  # sentence decoding runs on the CPU for now

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.device != "cpu":
            raise ValueError(f"train-translation runs on the CPU for now; device {self.device!r} is not supported")
        if self.max_length < 2:
            raise ValueError(f"a sentence needs max_length at least 2 tokens (end included), got {self.max_length}")
        from signscribe.models.families.pose_to_text import GenerationConfig  # checks them; imports torch

        GenerationConfig(self.max_length, self.beam_size, self.length_penalty)


VLM_TASKS = ("auto", "recognition", "translation")


@dataclass
class VlmTrainingConfig(DataOptions):
    """Options of ``signscribe train-vlm``: LoRA (QLoRA with ``load_in_4bit``) on a video language
    model. ``task`` ``auto`` is translation for How2Sign and recognition (one gloss) otherwise."""

    base: str = ""
    task: str = "auto"
    prompt_config: str | None = None  # the prompt and generation settings (models/vlm/settings.py)
    frames: int | None = None  # clip frames (default: the prompt config's, 8)
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    load_in_4bit: bool = False
    load_in_8bit: bool = False
    dtype: str = "auto"
    device: str = "auto"
    epochs: int = 3
    batch: int = 1
    grad_accum: int = 8
    lr: float = 2e-4
    weight_decay: float = 0.0
    max_new_tokens: int | None = None  # validation answers (default: the prompt config's)
    frame_cache: str | None = None  # a folder of sampled clips, read memory-mapped
    val_fraction: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.task not in VLM_TASKS:
            raise ValueError(f"task must be one of {', '.join(VLM_TASKS)}, got {self.task!r}")
        if min(self.epochs, self.batch, self.grad_accum, self.lora_r) < 1 or self.lr <= 0:
            raise ValueError("epochs, batch, grad_accum and lora_r must be at least 1 and lr positive")
        if not 0 <= self.lora_dropout < 1:
            raise ValueError(f"lora_dropout must be in [0, 1), got {self.lora_dropout}")
