"""The models shipped in the package, by name: ``bundled/<name>/`` folders listed in ``bundled/models.json``
with the data they were trained on and its licence; ``"default"`` names one of them."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

DEFAULT_MODEL = "default"
INDEX = "models.json"


@dataclass(frozen=True)
class BundledModel:
    name: str
    path: Path
    data: str  # what it was trained on
    licence: str  # the data's licence, which the model carries

    @property
    def labels(self) -> list[str]:
        return json.loads((self.path / "labels.json").read_text(encoding="utf-8"))


def _folder() -> Path:
    return Path(str(resources.files("signscribe.models") / "bundled"))


def _index() -> dict[str, object]:
    return json.loads((_folder() / INDEX).read_text(encoding="utf-8"))


def default_model_name() -> str:
    return str(_index()["default"])


def bundled_models() -> list[BundledModel]:
    """Every bundled model, the default first."""
    entries: dict[str, dict[str, str]] = _index()["models"]  # type: ignore[assignment]
    models = [BundledModel(name, _folder() / name, entry["data"], entry["licence"]) for name, entry in entries.items()]
    return sorted(models, key=lambda model: model.name != default_model_name())


def bundled_path(name: str) -> Path | None:
    """The folder of a bundled model (``"default"`` is an alias), or ``None`` for another name; case
    does not matter (``WLASL100``, ``Default``)."""
    chosen = default_model_name() if name.lower() == DEFAULT_MODEL else name.lower()
    return next((model.path for model in bundled_models() if model.name.lower() == chosen), None)


def unknown_model_hint(name: str) -> str:
    """What to say of a name that is no bundled model and no folder: the nearest bundled name, if one
    is near, and the list."""
    names = [DEFAULT_MODEL, *(model.name for model in bundled_models())]
    near = difflib.get_close_matches(name.lower(), names, n=1, cutoff=0.6)
    guess = f"did you mean {near[0]!r}? " if near else ""
    return f"{guess}bundled models: {', '.join(names)} (`signscribe models`)"
