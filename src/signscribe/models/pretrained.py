"""The model folder and its one loader, ``load_pretrained``.

A folder holds ``model.safetensors``, ``config.json`` (task, input kind, architecture, input
pipeline settings, what the model was trained on), the task's own file (``labels.json`` for
recognition, ``tokenizer.json`` for translation) and ``model_card.md``. Weights are safetensors
and everything else JSON or Markdown: nothing is ever unpickled.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from signscribe.errors import InputFileError
from signscribe.models.bundled import DEFAULT_MODEL, bundled_path, unknown_model_hint
from signscribe.models.inputs import InputPipeline, input_pipeline
from signscribe.models.registry import TASKS, create_model, model_family
from signscribe.pose.extract import ExtractionSettings
from signscribe.version import __version__

if TYPE_CHECKING:
    from torch import nn

    from signscribe.models.families.pose_to_text import GenerationConfig
    from signscribe.models.onnx_model import OnnxModel
    from signscribe.models.text import TextTokenizer

WEIGHTS, CONFIG, LABELS, CARD = "model.safetensors", "config.json", "labels.json", "model_card.md"
TOKENIZER = "tokenizer.json"
# What each task's folder must hold besides the card.
REQUIRED = {"recognition": (WEIGHTS, CONFIG, LABELS), "translation": (WEIGHTS, CONFIG, TOKENIZER)}
COMMANDS = {"recognition": "signscribe recognize or transcribe", "translation": "signscribe translate"}
_DEFAULT_EXTRACTION = asdict(ExtractionSettings())
FORMAT = "signscribe-model"
VLM_PREFIX = "vlm:"  # a video language model, loaded by models/vlm


class ModelFolderError(InputFileError):
    """A model folder is missing a file or holds inconsistent contents."""


def wrong_task(folder: Path, found: str, wanted: str) -> ModelFolderError:
    """The error for a folder of task ``found`` used where a ``wanted`` model is needed."""
    return ModelFolderError(folder, f"holds a {found} model, not a {wanted} model; use it with {COMMANDS[found]}")


@dataclass
class LoadedModel:
    """A model in eval mode with everything its folder says about it.

    ``features`` is the input pipeline of the model's input kind; ``labels`` belong to recognition
    models, ``tokenizer`` and ``generation`` to translation models."""

    model: nn.Module | OnnxModel  # an exported file runs with onnxruntime, without torch
    architecture: str
    model_config: dict[str, Any]
    features: InputPipeline
    config: dict[str, Any]
    path: Path
    labels: list[str] | None = None
    tokenizer: TextTokenizer | None = None
    generation: GenerationConfig | None = None
    placed: bool = False  # the loader put the model on its device (a video language model, maybe quantised)

    @property
    def extraction(self) -> ExtractionSettings:
        """How landmarks were extracted for training (``config.json``'s ``extraction``), and so for use."""
        return ExtractionSettings(**self.config.get("extraction", {}))

    @property
    def task(self) -> str:
        return self.config["task"]

    @property
    def input_kind(self) -> str:
        return self.features.kind


def model_config_json(
    architecture: str,
    model_config: dict[str, Any],
    features: InputPipeline,
    num_classes: int,
    input_info: dict[str, Any],
    extraction: ExtractionSettings | None = None,
    **task_info: Any,
) -> dict[str, Any]:
    """The ``config.json`` of a model: task, input kind, architecture, the input pipeline's settings
    and description, input expectations (``num_classes`` counts labels, or tokens for translation)
    and the landmark extraction options that differ from the defaults; ``task_info`` adds
    task-specific entries (a translation model's tokenizer and generation settings)."""
    changed = {k: v for k, v in asdict(extraction or ExtractionSettings()).items() if v != _DEFAULT_EXTRACTION[k]}
    family = model_family(architecture)
    return {
        "format": FORMAT,
        "format_version": 1,
        "signscribe_version": __version__,
        "task": family.task,
        "input_kind": features.kind,  # an ensemble's is its members'
        "architecture": architecture,
        "model_config": model_config,
        "num_classes": num_classes,
        "features": features.to_dict(),
        **features.describe(),
        "input": input_info,
        **({"extraction": changed} if changed else {}),
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
        state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
        from safetensors.torch import save_file

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
    """The name of a model shipped in the package (``None`` or ``"default"`` for the default one), a
    local folder, or a Hugging Face hub id (``owner/name``) fetched with ``huggingface_hub`` when it
    is installed and online."""
    name = DEFAULT_MODEL if path_or_name is None else str(path_or_name)
    if (bundled := bundled_path(name)) is not None:  # bundled names come first ("./name" for a folder)
        return bundled
    path = Path(name)
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
    raise ModelFolderError(path, f"no such model folder; {unknown_model_hint(text)}")


@dataclass(frozen=True)
class ModelSummary:
    """What a model folder says of itself, read without building the model."""

    folder: Path
    task: str
    architecture: str
    input_kind: str
    labels: list[str]  # a recognition model's glosses; none for translation
    card: str  # model_card.md, empty when the folder has none
    label_sets: dict[str, list[str]] = field(default_factory=dict)  # ``--labels`` sets it names (config.json)


def describe_pretrained(path_or_name: str | Path | None = None) -> ModelSummary:
    """The summary of a model folder, named as ``load_pretrained`` names it."""
    folder = resolve_model_path(path_or_name)
    config = _read_config(folder, None)
    labels = _labels(folder, config)["labels"] if config["task"] == "recognition" else []
    card = (folder / CARD).read_text(encoding="utf-8") if (folder / CARD).is_file() else ""
    kind = config.get("input_kind") or model_family(config["architecture"]).input_kind
    sets = dict(config.get("label_sets", {}))
    return ModelSummary(folder, config["task"], config["architecture"], kind, labels, card, sets)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelFolderError(path, f"not valid JSON ({error})") from error


def _read_config(folder: Path, task: str | None) -> dict[str, Any]:
    """``config.json``, checked to be ours, of ``task`` when one is asked for, and with its files;
    folders from before ``task`` and ``input_kind`` were saved get them filled in."""
    if not folder.is_dir():
        raise ModelFolderError(folder, "not a folder")
    config = _read_json(folder / CONFIG) if (folder / CONFIG).is_file() else {"format": FORMAT}
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelFolderError(folder / CONFIG, f"not a {FORMAT} config")
    found = config.setdefault("task", "recognition")
    if found not in TASKS:
        raise ModelFolderError(folder / CONFIG, f"unknown task {found!r}; expected one of {TASKS}")
    if task is not None and found != task:
        raise wrong_task(folder, found, task)
    missing = [name for name in REQUIRED[found] if not (folder / name).is_file()]
    if missing:
        raise ModelFolderError(folder, f"model folder lacks {', '.join(missing)}")
    return config


def _labels(folder: Path, config: dict[str, Any]) -> dict[str, Any]:
    labels = _read_json(folder / LABELS)
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise ModelFolderError(folder / LABELS, "must be a JSON list of label strings")
    if len(labels) != config.get("num_classes"):
        raise ModelFolderError(
            folder, f"{LABELS} has {len(labels)} labels but {CONFIG} says {config.get('num_classes')}"
        )
    return {"labels": labels}


def _tokenizer(folder: Path, config: dict[str, Any]) -> dict[str, Any]:
    from signscribe.models.families.pose_to_text import GenerationConfig
    from signscribe.models.text import TextTokenizer

    tokenizer = TextTokenizer.from_file(folder / TOKENIZER)
    if tokenizer.vocab_size != config.get("num_classes"):
        raise ModelFolderError(folder, f"{TOKENIZER} does not match the model's vocabulary size")
    try:
        generation = GenerationConfig(**config.get("generation", {}))
    except (TypeError, ValueError) as error:
        raise ModelFolderError(folder / CONFIG, f"bad generation settings ({error})") from error
    return {"tokenizer": tokenizer, "generation": generation}


def _load_vlm(source: str, task: str, options: dict[str, Any]) -> LoadedModel:
    from signscribe.models.vlm.loading import load_vlm

    model, pipeline, config = load_vlm(source, task, **options)
    path = Path(config["adapters"] or config["base"])
    return LoadedModel(model, "vlm", {}, pipeline, config, path, labels=model.labels, placed=True)


def _load_onnx(path: Path, task: str | None) -> LoadedModel:
    """An exported model (``signscribe export``), run by onnxruntime."""
    from signscribe.models.onnx_model import OnnxModel

    if not path.is_file():
        raise ModelFolderError(path, "no such ONNX file")
    model = OnnxModel(path)
    config, labels = model.metadata()
    if task is not None and config["task"] != task:
        raise wrong_task(path, config["task"], task)
    features = input_pipeline(config["input_kind"], config["features"])
    return LoadedModel(
        model, config["architecture"], config["model_config"], features, config, path, labels, placed=True
    )


# What each task reads besides the weights: the fields of LoadedModel it fills.
_TASK_FILES: dict[str, Callable[[Path, dict[str, Any]], dict[str, Any]]] = {
    "recognition": _labels,
    "translation": _tokenizer,
}


def load_pretrained(
    path_or_name: str | Path | None = None, task: str | None = None, vlm: dict[str, Any] | None = None
) -> LoadedModel:
    """Load any model folder ready for inference (eval mode): a local folder, a bundled model's name
    (``None`` or ``"default"`` for the default one), or a hub id. With ``task``, a folder of another
    task is refused with a message naming the command to use it with.

    A ``.onnx`` file written by ``signscribe export`` runs with onnxruntime.
    ``vlm:<hub id or folder>`` is a video language model (``models/vlm``), for recognition (the
    default) or translation; ``vlm`` holds its options (``prompt_config``, ``labels``,
    ``load_in_4bit``, ``load_in_8bit``, ``dtype``, ``device``)."""
    if str(path_or_name).endswith(".onnx"):
        return _load_onnx(Path(str(path_or_name)), task)
    if str(path_or_name).startswith(VLM_PREFIX):
        return _load_vlm(str(path_or_name)[len(VLM_PREFIX) :], task or "recognition", vlm or {})
    if vlm and any(value is not None and value is not False for value in vlm.values()):
        raise ModelFolderError(
            Path(str(path_or_name)), "the prompt, label and quantisation options are for vlm:<model> only"
        )
    folder = resolve_model_path(path_or_name)
    config = _read_config(folder, task)
    extras = _TASK_FILES[config["task"]](folder, config)
    try:
        family = model_family(config["architecture"])
        config.setdefault("input_kind", family.input_kind)
        features = input_pipeline(config["input_kind"], config["features"])
        model = create_model(config["architecture"], config["num_classes"], **config["model_config"])
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFolderError(folder / CONFIG, f"cannot build the model ({error})") from error
    try:
        from safetensors.torch import load_file

        model.load_state_dict(load_file(folder / WEIGHTS))
    except Exception as error:  # safetensors and torch raise several types for corrupt or mismatched weights
        raise ModelFolderError(folder / WEIGHTS, f"weights do not load ({error})") from error
    model.eval()
    return LoadedModel(model, config["architecture"], config["model_config"], features, config, folder, **extras)
