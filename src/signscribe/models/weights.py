"""Published checkpoints into a model of ours (``train --weights``): a PyTorch ``.pt``/``.pth`` (read
with ``weights_only``, never unpickling code) or ``.safetensors`` state dict, as saved by
``torch.save(model.state_dict())`` or wrapped (``{"state_dict": ...}``, ``nn.DataParallel``'s
``module.`` prefix). Missing ``num_batches_tracked`` entries (older torch) are fine; a classifier
head of another size (2000 WLASL glosses into a 100-gloss model) is left to train; anything else
that does not match is an error naming the first keys and shapes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file
from torch import nn

from signscribe.errors import InputFileError

SHOWN = 5


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise InputFileError(path, "checkpoint not found")
    try:
        if path.suffix == ".safetensors":
            state = load_file(path)
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # any unreadable file: truncated, not a checkpoint, pickled code
        raise InputFileError(path, f"not a readable checkpoint ({type(error).__name__}: {error})") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InputFileError(path, "the checkpoint holds no state dict of tensors")
    return {key.removeprefix("module."): value for key, value in state.items()}


def _shapes(keys: list[str], state: dict[str, torch.Tensor]) -> str:
    return ", ".join(f"{key} {tuple(state[key].shape)}" for key in keys[:SHOWN]) + (
        f" and {len(keys) - SHOWN} more" if len(keys) > SHOWN else ""
    )


def load_weights(model: nn.Module, path: str | Path, head: str = "logits") -> list[str]:
    """Load ``path`` into ``model`` in place; returns the keys left as they were (a head of another
    size, under the ``head`` prefix)."""
    path = Path(path)
    return load_state(model, read_state_dict(path), path, head)


def load_state(
    model: nn.Module, state: dict[str, torch.Tensor], origin: str | Path, head: str, fresh_head: bool = False
) -> list[str]:
    """Load a state dict into ``model`` in place (``origin`` names it in errors); returns the keys left
    as they were: the ``head`` of another size, or all of it with ``fresh_head``."""
    if fresh_head:
        state = {key: value for key, value in state.items() if not key.startswith(f"{head}.")}
    own = model.state_dict()
    fresh = [key for key in own if fresh_head and key.startswith(f"{head}.")]
    optional = [key for key in own if key.endswith("num_batches_tracked") or key in fresh]
    missing = [key for key in own if key not in state and key not in optional]
    unexpected = [key for key in state if key not in own]
    if missing or unexpected:
        parts = [
            f"missing {_shapes(missing, own)}" if missing else "",
            f"unexpected {_shapes(unexpected, state)}" if unexpected else "",
        ]
        raise InputFileError(origin, f"the checkpoint does not fit this model: {'; '.join(p for p in parts if p)}")
    different = [key for key in state if state[key].shape != own[key].shape]
    kept = [key for key in different if key.startswith(f"{head}.")]
    wrong = [key for key in different if key not in kept]
    if wrong:
        shapes = ", ".join(f"{k} {tuple(state[k].shape)} (model: {tuple(own[k].shape)})" for k in wrong[:SHOWN])
        raise InputFileError(origin, f"the checkpoint's shapes do not fit this model: {shapes}")
    own.update({key: value for key, value in state.items() if key not in kept})
    model.load_state_dict(own)
    return fresh or kept


def head_name(model: nn.Module) -> str:
    """The module that maps a model's pooled vector to classes (``head``, ``classifier`` or ``logits``)."""
    for name in ("head", "classifier", "logits"):
        if isinstance(getattr(model, name, None), nn.Module):
            return name
    raise ValueError(f"{type(model).__name__} has no head, classifier or logits module to replace")


def encoder_of(loaded: Any) -> tuple[str, dict[str, Any], dict[str, torch.Tensor]]:
    """A model folder's architecture, model configuration and weights to start another model from
    (``train --init-from``); an ensemble gives its first member's."""
    state = loaded.model.state_dict()
    if loaded.architecture != "ensemble":
        return loaded.architecture, dict(loaded.model_config), state
    config = dict(loaded.model_config)
    first = config.pop("members")[0]
    member = {key.removeprefix("members.0."): value for key, value in state.items() if key.startswith("members.0.")}
    return first["architecture"], {**first["model_config"], **config}, member
