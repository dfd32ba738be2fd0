"""A registry of model families: ``create_model(name, num_classes, **config)`` and ``list_models()``.

Each family has a task: ``recognition`` (landmarks to one label; ``num_classes`` labels) or
``translation`` (landmarks to text; ``num_classes`` is the size of the token vocabulary).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from torch import nn

TASKS = ("recognition", "translation")
ModelFactory = TypeVar("ModelFactory", bound=Callable[..., nn.Module])
_FACTORIES: dict[str, Callable[..., nn.Module]] = {}
_TASKS: dict[str, str] = {}


def register_model(name: str, task: str = "recognition") -> Callable[[ModelFactory], ModelFactory]:
    """Register a class or function that builds a model from ``num_classes`` and keyword config."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")

    def register(factory: ModelFactory) -> ModelFactory:
        if name in _FACTORIES:
            raise ValueError(f"model {name!r} is registered twice")
        _FACTORIES[name], _TASKS[name] = factory, task
        return factory

    return register


def list_models(task: str | None = None) -> list[str]:
    """The registered names, of one task or of all."""
    return sorted(name for name in _FACTORIES if task is None or _TASKS[name] == task)


def model_task(name: str) -> str:
    if name not in _TASKS:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(list_models())}")
    return _TASKS[name]


def create_model(name: str, num_classes: int, **config: object) -> nn.Module:
    """Build a registered model; an unknown name or option is a ``ValueError`` listing what exists."""
    model_task(name)
    try:
        return _FACTORIES[name](num_classes=num_classes, **config)
    except TypeError as error:
        raise ValueError(f"bad configuration for model {name!r}: {error}") from error
