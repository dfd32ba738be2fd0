"""The model folder: ``model.safetensors``, ``config.json``, ``labels.json`` and ``model_card.md``.

Weights are safetensors and everything else JSON or Markdown: nothing is ever unpickled.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file
from torch import nn

from signscribe import __version__
from signscribe.errors import InputFileError
from signscribe.models.features import FeatureConfig
from signscribe.models.registry import create_model, model_task

WEIGHTS, CONFIG, LABELS, CARD = "model.safetensors", "config.json", "labels.json", "model_card.md"
TOKENIZER = "tokenizer.json"
# What each task's folder must hold besides the card.
REQUIRED = {"recognition": (WEIGHTS, CONFIG, LABELS), "translation": (WEIGHTS, CONFIG, TOKENIZER)}
DEFAULT_MODEL = "default"
FORMAT = "signscribe-model"


class ModelFolderError(InputFileError):
    """A model folder is missing a file or holds inconsistent contents."""


@dataclass
class LoadedModel:
    model: nn.Module
    architecture: str
    model_config: dict[str, Any]
    features: FeatureConfig
    labels: list[str]
    config: dict[str, Any]
    path: Path


def default_model_path() -> Path:
    return Path(str(resources.files("signscribe.models") / DEFAULT_MODEL))


def model_config_json(
    architecture: str,
    model_config: dict[str, Any],
    features: FeatureConfig,
    num_classes: int,
    input_info: dict[str, Any],
    **task_info: Any,
) -> dict[str, Any]:
    """The ``config.json`` of a model: task, architecture, layout, normalisation and input
    expectations (``num_classes`` counts labels, or tokens for translation); ``task_info`` adds
    task-specific entries (the tokenizer and generation settings of a translation model)."""
    return {
        "format": FORMAT,
        "format_version": 1,
        "signscribe_version": __version__,
        "task": model_task(architecture),
        "architecture": architecture,
        "model_config": model_config,
        "num_classes": num_classes,
        "features": features.to_dict(),
        "layout": {
            "components": ["pose", "left_hand", "right_hand"],
            "points": "MediaPipe pose rows 0-24 (upper body), then left hand 21, then right hand 21",
            "channels": [*["x", "y", "z"][: features.channels], "present"],
        },
        "normalization": {
            "centre": "midpoint of the shoulders, per frame",
            "scale": "median shoulder width of the sequence",
            "hands": "relative to their wrist" if features.hands_relative else "body-normalised",
        },
        "input": input_info,
        **task_info,
    }


def labels_json(labels: list[str]) -> str:
    return json.dumps(labels, indent=1, ensure_ascii=False) + "\n"


def save_model_folder(
    model: nn.Module,
    folder: str | Path,
    config: dict[str, Any],
    files: dict[str, str],
    card: str,
) -> Path:
    """Write the weights, ``config.json``, the task's ``files`` (``labels.json`` or ``tokenizer.json``,
    name to text) and the card into a fresh temporary folder, then swap them into place."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.tmp-"))
    try:
        state = {name: tensor.detach().contiguous() for name, tensor in model.state_dict().items()}
        save_file(state, staging / WEIGHTS, metadata={"format": FORMAT, "architecture": config["architecture"]})
        (staging / CONFIG).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        for name, text in {**files, CARD: card}.items():
            (staging / name).write_text(text, encoding="utf-8")
        folder.mkdir(exist_ok=True)
        for name in (WEIGHTS, CONFIG, *files, CARD):
            os.replace(staging / name, folder / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def resolve_model_path(path_or_name: str | Path | None) -> Path:
    """A local folder, ``None``/``"default"`` for the model shipped in the package, or a Hugging Face
    hub id (``owner/name``) fetched with ``huggingface_hub`` when it is installed and online."""
    if path_or_name is None or str(path_or_name) == DEFAULT_MODEL:
        return default_model_path()
    path = Path(path_or_name)
    if path.exists():
        return path
    text = str(path_or_name)
    if text.count("/") == 1 and not text.startswith((".", "/")):
        try:
            from huggingface_hub import snapshot_download
        except ImportError:
            raise ModelFolderError(path, "no such folder, and huggingface_hub is not installed to fetch it") from None
        try:
            return Path(snapshot_download(repo_id=text, allow_patterns=[WEIGHTS, CONFIG, LABELS, TOKENIZER, CARD]))
        except Exception as error:  # the hub client raises many types (offline, not found, auth)
            raise ModelFolderError(path, f"no such folder, and the hub could not provide it ({error})") from error
    raise ModelFolderError(path, "no such model folder")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelFolderError(path, f"not valid JSON ({error})") from error


def read_model_folder(path_or_name: str | Path | None, task: str) -> tuple[Path, dict[str, Any]]:
    """The folder (see ``resolve_model_path``) and its ``config.json``, checked to hold a ``task`` model."""
    folder = resolve_model_path(path_or_name)
    if not folder.is_dir():
        raise ModelFolderError(folder, "not a folder")
    config = _read_json(folder / CONFIG) if (folder / CONFIG).is_file() else None
    if config is not None and (not isinstance(config, dict) or config.get("format") != FORMAT):
        raise ModelFolderError(folder / CONFIG, f"not a {FORMAT} config")
    found = (config or {}).get("task", "recognition")
    if found != task:
        command = "signscribe translate" if found == "translation" else "signscribe recognize or transcribe"
        raise ModelFolderError(folder, f"holds a {found} model, not a {task} model; use it with {command}")
    missing = [name for name in REQUIRED[task] if not (folder / name).is_file()]
    if missing:
        raise ModelFolderError(folder, f"model folder lacks {', '.join(missing)}")
    assert config is not None
    return folder, config


def build_model(folder: Path, config: dict[str, Any]) -> tuple[nn.Module, FeatureConfig]:
    """The model of a folder with its weights loaded, in eval mode, and its feature settings."""
    try:
        features = FeatureConfig(**config["features"])
        model = create_model(config["architecture"], config["num_classes"], **config["model_config"])
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFolderError(folder / CONFIG, f"cannot build the model ({error})") from error
    try:
        model.load_state_dict(load_file(folder / WEIGHTS))
    except Exception as error:  # safetensors and torch raise several types for corrupt or mismatched weights
        raise ModelFolderError(folder / WEIGHTS, f"weights do not load ({error})") from error
    model.eval()
    return model, features


def load_model_folder(path_or_name: str | Path | None = None) -> LoadedModel:
    """Load a recognition model folder (see ``resolve_model_path``) ready for inference (eval mode)."""
    folder, config = read_model_folder(path_or_name, "recognition")
    labels = _read_json(folder / LABELS)
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise ModelFolderError(folder / LABELS, "must be a JSON list of label strings")
    if len(labels) != config.get("num_classes"):
        raise ModelFolderError(
            folder, f"{LABELS} has {len(labels)} labels but {CONFIG} says {config.get('num_classes')}"
        )
    model, features = build_model(folder, config)
    return LoadedModel(model, config["architecture"], config["model_config"], features, labels, config, folder)
