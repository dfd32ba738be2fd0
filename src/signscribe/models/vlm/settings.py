"""The prompt and generation config of a video language model: one YAML or TOML file.

```yaml
model: OpenGVLab/InternVL3-2B-hf     # a hub id or a local folder (or a folder of trained adapters)
prompt: What ASL sign is this? Answer with one word.
frames: 8                            # sampled evenly over the clip
max_new_tokens: 16
temperature: 0.0                     # 0: greedy
load_in_4bit: true
```

Every key is optional; command-line options override the file. A trained model folder carries its
own ``vlm.yaml``, which is read before the file given with ``--prompt-config``.
"""

from __future__ import annotations

import dataclasses
import importlib
import string
import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from signscribe.devices import PRECISIONS
from signscribe.errors import InputFileError, SignscribeError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SETTINGS_FILE = "vlm.yaml"  # a trained model folder's own settings
DEFAULT_PROMPTS = {
    "recognition": "Which American Sign Language sign is shown in this video? Answer with its English word only.",
    "translation": "Translate the American Sign Language in this video into one English sentence.",
}


@dataclass(frozen=True)
class VlmSettings:
    """How a video language model is loaded, prompted and decoded.

    ``prompt`` left ``None`` is the task's default (``DEFAULT_PROMPTS``); ``template`` left ``None``
    is the architecture's published chat format, with ``{video}`` and ``{prompt}`` in it."""

    model: str | None = None
    prompt: str | None = None
    template: str | None = None
    frames: int = 8
    max_new_tokens: int = 32
    temperature: float = 0.0
    top_p: float = 1.0
    num_beams: int = 1
    repetition_penalty: float = 1.0
    labels: str | None = None  # a file of answers to rank (one a line) for recognition
    load_in_4bit: bool = False
    load_in_8bit: bool = False
    dtype: str = "auto"  # auto: bf16 on a GPU, fp32 on the CPU
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.frames < 1 or self.max_new_tokens < 1 or self.num_beams < 1:
            raise ValueError("frames, max_new_tokens and num_beams must be at least 1")
        if self.temperature < 0 or not 0 < self.top_p <= 1:
            raise ValueError("temperature must be >= 0 and top_p in (0, 1]")
        if self.load_in_4bit and self.load_in_8bit:
            raise ValueError("load_in_4bit and load_in_8bit exclude each other")
        if self.dtype not in ("auto", *PRECISIONS):
            raise ValueError(f"dtype must be auto or one of {', '.join(PRECISIONS)}, got {self.dtype!r}")
        if self.template is not None and not {"{video}", "{prompt}"} <= set(_fields_of(self.template)):
            raise ValueError("template must hold {video} and {prompt}")

    def prompt_for(self, task: str) -> str:
        return self.prompt if self.prompt is not None else DEFAULT_PROMPTS[task]

    def generation_options(self) -> dict[str, Any]:
        """``generate`` keyword arguments: greedy (or beam search) at temperature 0, else sampling."""
        sampling = self.temperature > 0
        options: dict[str, Any] = {"max_new_tokens": self.max_new_tokens, "num_beams": self.num_beams}
        options["do_sample"] = sampling
        if sampling:
            options.update(temperature=self.temperature, top_p=self.top_p)
        if self.repetition_penalty != 1.0:
            options["repetition_penalty"] = self.repetition_penalty
        return options

    def updated(self, **changes: Any) -> VlmSettings:
        """These settings with the ``changes`` that are not ``None`` (command-line options)."""
        return dataclasses.replace(self, **{key: value for key, value in changes.items() if value is not None})

    def to_dict(self) -> dict[str, Any]:
        defaults = VlmSettings()
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != getattr(defaults, f.name)
        }


def extra(module: str) -> Any:
    """A module of the ``vlm`` extra (``peft``, ``bitsandbytes``, ``yaml``), or an error saying how to
    install it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise SignscribeError(
            f"video language models need {module}, which is not installed: pip install 'signscribe[vlm]'"
        ) from error


def _fields_of(template: str) -> list[str]:
    return ["{" + name + "}" for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def read_settings(path: str | Path, base: VlmSettings | None = None) -> VlmSettings:
    """A YAML (``.yaml``/``.yml``) or TOML (``.toml``) config over ``base``; unknown keys and bad
    values are errors naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InputFileError(path, f"cannot read the prompt config ({error.strerror})") from error
    if path.suffix not in (".toml", ".yaml", ".yml"):
        raise InputFileError(path, "a prompt config is a .yaml, .yml or .toml file")
    yaml = extra("yaml")

    try:
        values = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text) or {}
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as error:
        raise InputFileError(path, f"not valid {'TOML' if path.suffix == '.toml' else 'YAML'} ({error})") from error
    if not isinstance(values, dict):
        raise InputFileError(path, "must be a mapping of settings (model, prompt, frames, ...)")
    known = {f.name for f in fields(VlmSettings)}
    if unknown := sorted(set(values) - known):
        raise InputFileError(path, f"unknown settings {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    try:
        return (base or VlmSettings()).updated(**values)
    except (TypeError, ValueError) as error:
        raise InputFileError(path, str(error)) from error


def settings_text(settings: VlmSettings) -> str:
    """The settings that differ from the defaults, as the YAML of ``vlm.yaml``."""
    return extra("yaml").safe_dump(settings.to_dict(), sort_keys=False, allow_unicode=True)
