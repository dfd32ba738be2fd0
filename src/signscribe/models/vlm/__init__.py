"""Video language models (LLaVA-NeXT-Video, Video-LLaVA, InternVL3) through transformers: loaded as
``vlm:<hub id or folder>`` by ``load_pretrained``, prompted from a YAML or TOML config, ranking labels
or writing answers; ``signscribe.training.vlm`` fine-tunes them with LoRA."""

from signscribe.models.vlm.architectures import ARCHITECTURES, Architecture, architecture_of
from signscribe.models.vlm.loading import load_vlm
from signscribe.models.vlm.model import VisionLanguageModel
from signscribe.models.vlm.settings import VlmSettings, read_settings

__all__ = [
    "ARCHITECTURES",
    "Architecture",
    "VisionLanguageModel",
    "VlmSettings",
    "architecture_of",
    "load_vlm",
    "read_settings",
]
