"""Loading a video language model: a hub id or a local checkpoint folder, or a folder of adapters
trained by ``signscribe train-vlm`` (its ``vlm.yaml`` names the base model), quantised to 4 or 8
bits with bitsandbytes when asked, in the asked dtype, on the asked device.

Settings are layered: the defaults, a trained folder's ``vlm.yaml``, the user's ``--prompt-config``
file, then command-line options."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from signscribe.data.gloss_subset import read_glosses
from signscribe.devices import resolve_device
from signscribe.errors import InputFileError, SignscribeError
from signscribe.models.encoders.video_transform import VideoTransform
from signscribe.models.hub import checkpoint_folder
from signscribe.models.inputs.video_prompt import VideoPromptConfig
from signscribe.models.vlm.architectures import Architecture, architecture_of
from signscribe.models.vlm.model import VisionLanguageModel
from signscribe.models.vlm.settings import SETTINGS_FILE, VlmSettings, extra, read_settings

ADAPTER_CONFIG = "adapter_config.json"  # PEFT's: a folder of adapters, not a whole model
LABELS_FILE = "labels.txt"  # a trained recognition folder's answers, one a line
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class VlmCheckpoint:
    """Where a model's parts are: the base weights, the adapters (if any), tokenizer and processor."""

    base: Path
    adapters: Path | None
    architecture: Architecture

    @property
    def files(self) -> Path:
        """The folder whose tokenizer and preprocessor config the model uses (the adapters' own
        copies when they were saved with them)."""
        if self.adapters is not None and (self.adapters / "tokenizer_config.json").is_file():
            return self.adapters
        return self.base


def model_type_of(folder: Path) -> str:
    path = folder / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputFileError(path, f"not a transformers checkpoint config ({error})") from error
    if not isinstance(config, dict) or "model_type" not in config:
        raise InputFileError(path, "has no model_type: not a transformers checkpoint")
    return str(config["model_type"])


def resolve_settings(source: str, prompt_config: str | Path | None, **overrides: Any) -> tuple[Path, VlmSettings]:
    """The model's folder and its layered settings (see the module's docstring); an empty
    ``source`` takes the config's ``model``."""
    settings = read_settings(prompt_config) if prompt_config is not None else VlmSettings()
    settings = settings.updated(**overrides)
    chosen = source or settings.model
    if not chosen:
        raise SignscribeError("vlm: names no model; give --model vlm:<hub id or folder>, or model: in --prompt-config")
    folder = checkpoint_folder(chosen, "video language model", "--model vlm:DIR", "vlm:")
    if (folder / SETTINGS_FILE).is_file():
        own = read_settings(folder / SETTINGS_FILE)
        layered = read_settings(prompt_config, base=own) if prompt_config is not None else own
        # the folder's base stays: its adapters were trained on that model
        settings = dataclasses.replace(layered.updated(**overrides), model=own.model)
    return folder, settings


def locate_checkpoint(folder: Path, settings: VlmSettings) -> VlmCheckpoint:
    if not (folder / ADAPTER_CONFIG).is_file():
        return VlmCheckpoint(folder, None, architecture_of(model_type_of(folder)))
    if not settings.model:
        raise InputFileError(folder, f"holds adapters but its {SETTINGS_FILE} names no base model")
    base = checkpoint_folder(settings.model, "video language model", "model: DIR in the folder's vlm.yaml")
    return VlmCheckpoint(base, folder, architecture_of(model_type_of(base)))


def _dtype(settings: VlmSettings, device: torch.device) -> torch.dtype:
    if settings.dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return DTYPES[settings.dtype]


def quantization(settings: VlmSettings, dtype: torch.dtype) -> Any:
    """bitsandbytes' config for ``load_in_4bit`` (NF4, double quantisation: QLoRA's) or
    ``load_in_8bit``; ``None`` for full precision."""
    if not (settings.load_in_4bit or settings.load_in_8bit):
        return None
    from transformers import BitsAndBytesConfig

    extra("bitsandbytes")
    if settings.load_in_8bit:
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=dtype
    )


def load_network(checkpoint: VlmCheckpoint, settings: VlmSettings, trainable: bool = False) -> Any:
    """The transformers model (with its adapters, trainable or not), quantised and placed as asked."""
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    device = resolve_device(settings.device)
    dtype = _dtype(settings, device)
    quantized = quantization(settings, dtype)
    options: dict[str, Any] = {"dtype": dtype}
    if quantized is not None:
        options.update(quantization_config=quantized, device_map={"": str(device)})
    try:
        network = checkpoint.architecture.model_class().from_pretrained(checkpoint.base, **options)
    except (OSError, ValueError) as error:
        raise InputFileError(checkpoint.base, f"the checkpoint does not load ({error})") from error
    if quantized is None:
        network.to(device)
    if checkpoint.adapters is not None:
        network = extra("peft").PeftModel.from_pretrained(network, checkpoint.adapters, is_trainable=trainable)
    return network


def load_tokenizer(folder: Path) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(folder)
    except (OSError, ValueError) as error:
        raise InputFileError(folder, f"has no usable tokenizer ({error})") from error


def frame_transform(checkpoint: VlmCheckpoint, network: Any) -> VideoTransform:
    """The checkpoint's preprocessing; its vision tower's image size where no processor file says."""
    base = network.get_base_model() if hasattr(network, "get_base_model") else network
    size = base.config.vision_config.image_size
    return VideoTransform.from_folder(checkpoint.files, size[0] if isinstance(size, (list, tuple)) else int(size))


def answer_labels(settings: VlmSettings, checkpoint: VlmCheckpoint) -> list[str] | None:
    """The answers recognition ranks: ``labels`` of the settings, else a trained folder's own."""
    if settings.labels is not None:
        return read_glosses(settings.labels)
    if checkpoint.adapters is not None and (checkpoint.adapters / LABELS_FILE).is_file():
        return read_glosses(checkpoint.adapters / LABELS_FILE)
    return None


def build_model(
    checkpoint: VlmCheckpoint, settings: VlmSettings, task: str, trainable: bool = False, network: Any = None
) -> tuple[VisionLanguageModel, VideoPromptConfig]:
    """The model and the input pipeline that feeds it."""
    network = network if network is not None else load_network(checkpoint, settings, trainable)
    transform = frame_transform(checkpoint, network)
    model = VisionLanguageModel(
        network,
        load_tokenizer(checkpoint.files),
        checkpoint.architecture,
        settings,
        task,
        transform.output_size,
        answer_labels(settings, checkpoint) if task == "recognition" else None,
    )
    if not trainable:
        model.eval()
    return model, VideoPromptConfig(frames=settings.frames, transform=vars(transform))


def load_vlm(
    source: str, task: str, prompt_config: str | Path | None = None, **overrides: Any
) -> tuple[VisionLanguageModel, VideoPromptConfig, dict[str, Any]]:
    """A model ready for ``task``, its input pipeline and the ``config`` that describes it."""
    folder, settings = resolve_settings(source, prompt_config, **overrides)
    checkpoint = locate_checkpoint(folder, settings)
    model, pipeline = build_model(checkpoint, settings, task)
    config = {
        "task": task,
        "input_kind": pipeline.kind,
        "architecture": "vlm",
        "model_type": checkpoint.architecture.model_type,
        "base": str(checkpoint.base),
        "adapters": None if checkpoint.adapters is None else str(checkpoint.adapters),
        "vlm": settings.to_dict(),
    }
    return model, pipeline, config
