"""Training options, from the command line or a JSON/TOML file holding the same names."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

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
class TrainConfig(ConfigFile):
    data: str = ""
    val: str | None = None
    videos: str | None = None
    subset: int | None = None
    sequences_per_signer: int | None = None
    model: str = "pose_transformer"
    model_config: dict[str, Any] = field(default_factory=dict)
    channels: int = 2
    hands_relative: bool = True
    max_frames: int = 64
    epochs: int = 40
    batch: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_epochs: float = 2.0
    label_smoothing: float = 0.1
    seed: int = 0
    split_by: str = "random"  # "random" (stratified by label) or "signer"
    holdout_signer: str | None = None  # with split_by=signer: the signer to validate on
    val_fraction: float = 0.2
    augment: bool = True
    mirror_probability: float = 0.0  # mirroring swaps the dominant hand, which changes some signs
    class_weighting: bool = True
    patience: int = 10  # epochs without a better validation top-1 before stopping; 0 never stops
    # Keep the epoch with the best validation top-1; false keeps the last epoch, so a held-out
    # test signer used as validation data never chooses the model (honest leave-one-signer-out).
    select_best: bool = True

    def __post_init__(self) -> None:
        if self.split_by not in ("random", "signer"):
            raise ValueError(f"split_by must be 'random' or 'signer', got {self.split_by!r}")
        if not 0 < self.val_fraction < 1:
            raise ValueError(f"val_fraction must be between 0 and 1, got {self.val_fraction}")
        if self.epochs < 1 or self.batch < 1 or self.lr <= 0:
            raise ValueError("epochs and batch must be at least 1 and lr positive")
