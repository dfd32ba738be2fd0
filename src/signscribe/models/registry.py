"""A registry of model families: ``create_model(name, num_classes, **config)`` and ``list_models()``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from torch import nn

ModelFactory = TypeVar("ModelFactory", bound=Callable[..., nn.Module])
_FACTORIES: dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str) -> Callable[[ModelFactory], ModelFactory]:
    """Register a class or function that builds a model from ``num_classes`` and keyword config."""

    def register(factory: ModelFactory) -> ModelFactory:
        if name in _FACTORIES:
            raise ValueError(f"model {name!r} is registered twice")
        _FACTORIES[name] = factory
        return factory

    return register


def list_models() -> list[str]:
    return sorted(_FACTORIES)


def create_model(name: str, num_classes: int, **config: object) -> nn.Module:
    """Build a registered model; an unknown name or option is a ``ValueError`` listing what exists."""
    if name not in _FACTORIES:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(list_models())}")
    try:
        return _FACTORIES[name](num_classes=num_classes, **config)
    except TypeError as error:
        raise ValueError(f"bad configuration for model {name!r}: {error}") from error
