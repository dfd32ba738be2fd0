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
from signscribe.models.registry import create_model

WEIGHTS, CONFIG, LABELS, CARD = "model.safetensors", "config.json", "labels.json", "model_card.md"
REQUIRED = (WEIGHTS, CONFIG, LABELS)
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
    labels: list[str],
    input_info: dict[str, Any],
) -> dict[str, Any]:
    """The ``config.json`` of a model: architecture, layout, normalisation and input expectations."""
    return {
        "format": FORMAT,
        "format_version": 1,
        "signscribe_version": __version__,
        "architecture": architecture,
        "model_config": model_config,
        "num_classes": len(labels),
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
    }


def save_model_folder(
    model: nn.Module,
    folder: str | Path,
    config: dict[str, Any],
    labels: list[str],
    card: str,
) -> Path:
    """Write the four files into a fresh temporary folder, then swap it into place."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.tmp-"))
    try:
        state = {name: tensor.detach().contiguous() for name, tensor in model.state_dict().items()}
        save_file(state, staging / WEIGHTS, metadata={"format": FORMAT, "architecture": config["architecture"]})
        (staging / CONFIG).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        (staging / LABELS).write_text(json.dumps(labels, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        (staging / CARD).write_text(card, encoding="utf-8")
        folder.mkdir(exist_ok=True)
        for name in (WEIGHTS, CONFIG, LABELS, CARD):
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
            return Path(snapshot_download(repo_id=text, allow_patterns=[*REQUIRED, CARD]))
        except Exception as error:  # the hub client raises many types (offline, not found, auth)
            raise ModelFolderError(path, f"no such folder, and the hub could not provide it ({error})") from error
    raise ModelFolderError(path, "no such model folder")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelFolderError(path, f"not valid JSON ({error})") from error


def load_model_folder(path_or_name: str | Path | None = None) -> LoadedModel:
    """Load a model folder (see ``resolve_model_path``) ready for inference (eval mode)."""
    folder = resolve_model_path(path_or_name)
    if not folder.is_dir():
        raise ModelFolderError(folder, "not a folder")
    missing = [name for name in REQUIRED if not (folder / name).is_file()]
    if missing:
        raise ModelFolderError(folder, f"model folder lacks {', '.join(missing)}")
    config = _read_json(folder / CONFIG)
    labels = _read_json(folder / LABELS)
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelFolderError(folder / CONFIG, f"not a {FORMAT} config")
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise ModelFolderError(folder / LABELS, "must be a JSON list of label strings")
    if len(labels) != config.get("num_classes"):
        raise ModelFolderError(
            folder, f"{LABELS} has {len(labels)} labels but {CONFIG} says {config.get('num_classes')}"
        )
    try:
        features = FeatureConfig(**config["features"])
        model = create_model(config["architecture"], len(labels), **config["model_config"])
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFolderError(folder / CONFIG, f"cannot build the model ({error})") from error
    try:
        state = load_file(folder / WEIGHTS)
        model.load_state_dict(state)
    except Exception as error:  # safetensors and torch raise several types for corrupt or mismatched weights
        raise ModelFolderError(folder / WEIGHTS, f"weights do not load ({error})") from error
    model.eval()
    return LoadedModel(model, config["architecture"], config["model_config"], features, labels, config, folder)
