"""A registry of model families: ``create_model(name, num_classes, **config)`` and ``list_models()``.

Each family declares its task and its input kind:

* task ``recognition`` (a clip to one label; ``num_classes`` labels) or ``translation`` (a clip
  to text; ``num_classes`` is the size of the token vocabulary);
* input kind: what the model reads, and so which input pipeline of ``signscribe.models.inputs``
  turns clips into its tensors (``landmarks``, ``frames``, ``embeddings``), and the input settings
  it was made for (``input_defaults``: an X3D-S reads 13 frames of 160 px), under which a training
  config's ``features`` go.

The video language models of ``models/vlm`` read ``video+prompt`` but are checkpoints loaded as
``vlm:<hub id or folder>``, not families built here from ``num_classes``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from torch import nn

TASKS = ("recognition", "translation")
ModelFactory = TypeVar("ModelFactory", bound="Callable[..., nn.Module]")


@dataclass(frozen=True)
class ModelFamily:
    name: str
    factory: Callable[..., nn.Module]
    task: str
    input_kind: str
    input_defaults: dict[str, Any] = field(default_factory=dict)


_FAMILIES: dict[str, ModelFamily] = {}
_builtin_loaded = False


def _families() -> dict[str, ModelFamily]:
    """The registered families, the built-in ones imported first: every module of ``models/families``
    registers its families when imported, on first need, so that an exported model runs without torch."""
    global _builtin_loaded
    if not _builtin_loaded:
        from signscribe.models import families

        for module in pkgutil.iter_modules(families.__path__):
            importlib.import_module(f"{families.__name__}.{module.name}")
        _builtin_loaded = True
    return _FAMILIES


def register_model(
    name: str, task: str = "recognition", input_kind: str = "landmarks", input_defaults: dict[str, Any] | None = None
) -> Callable[[ModelFactory], ModelFactory]:
    """Register a class or function that builds a model from ``num_classes`` and keyword config."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")

    def register(factory: ModelFactory) -> ModelFactory:
        if name in _FAMILIES:
            raise ValueError(f"model {name!r} is registered twice")
        _FAMILIES[name] = ModelFamily(name, factory, task, input_kind, dict(input_defaults or {}))
        return factory

    return register


def list_models(task: str | None = None) -> list[str]:
    """The registered names, of one task or of all."""
    return sorted(name for name, family in _families().items() if task is None or family.task == task)


def model_family(name: str) -> ModelFamily:
    if name not in _families():
        raise ValueError(f"unknown model {name!r}; available: {', '.join(list_models())}")
    return _FAMILIES[name]


def model_task(name: str) -> str:
    return model_family(name).task


def create_model(name: str, num_classes: int, **config: object) -> nn.Module:
    """Build a registered model; an unknown name or option is a ``ValueError`` listing what exists."""
    family = model_family(name)
    try:
        return family.factory(num_classes=num_classes, **config)
    except TypeError as error:
        raise ValueError(f"bad configuration for model {name!r}: {error}") from error
