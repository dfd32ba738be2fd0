"""Training checkpoints without pickle: weights and optimizer tensors in safetensors, the rest JSON."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from signscribe.errors import InputFileError, SignscribeError

AVERAGED = "averaged.safetensors"  # the moving average of the weights, when a run keeps one


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, values in state["state"].items():
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{index}.{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def save_checkpoint(
    folder: Path,
    weights: dict[str, torch.Tensor],
    optimizer: torch.optim.Optimizer,
    state: dict[str, Any],
    averaged: dict[str, torch.Tensor] | None = None,
) -> None:
    """Write the trained ``weights`` (a model's state, or only its adapters) as ``model.safetensors``,
    ``optimizer.safetensors``, ``state.json`` and, with ``averaged``
    weights, ``averaged.safetensors`` into ``folder`` atomically: a complete new folder replaces the
    old one."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.tmp-"))
    try:
        save_file({k: v.detach().cpu().contiguous() for k, v in weights.items()}, staging / "model.safetensors")
        tensors, optimizer_json = _optimizer_tensors(optimizer)
        save_file(tensors, staging / "optimizer.safetensors")
        if averaged is not None:
            save_file({k: v.detach().cpu().contiguous() for k, v in averaged.items()}, staging / AVERAGED)
        (staging / "state.json").write_text(json.dumps({**state, "optimizer": optimizer_json}, indent=1))
        previous = folder.with_name(f".{folder.name}.old")
        if folder.exists():
            os.replace(folder, previous)
        os.replace(staging, folder)
        shutil.rmtree(previous, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def load_checkpoint(
    folder: Path, optimizer: torch.optim.Optimizer
) -> tuple[dict[str, Any], dict[str, torch.Tensor], dict[str, torch.Tensor] | None]:
    """Restore the optimizer from ``folder``; returns the saved training state, the weights to load
    into the model and the averaged weights, if the run kept them."""
    for name in ("model.safetensors", "optimizer.safetensors", "state.json"):
        if not (folder / name).is_file():
            raise InputFileError(folder, f"checkpoint lacks {name}; nothing to resume")
    state = json.loads((folder / "state.json").read_text())
    weights = load_file(folder / "model.safetensors")
    tensors = load_file(folder / "optimizer.safetensors")
    saved = state.pop("optimizer")
    per_param: dict[int, dict[str, Any]] = {}
    for key, value in [*tensors.items(), *saved["scalars"].items()]:
        index, _, name = key.partition(".")
        per_param.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": per_param, "param_groups": saved["param_groups"]})
    return state, weights, load_file(folder / AVERAGED) if (folder / AVERAGED).is_file() else None


def resumable_state(
    folder: Path, config: dict[str, Any], resume: bool, may_change: set[str], defaults: dict[str, Any]
) -> dict[str, Any] | None:
    """The saved state to resume from (``None`` for a fresh run), after checking that a fresh run
    would not overwrite a previous one and that a resumed run keeps its options (but ``may_change``;
    an option the checkpoint predates counts as its default)."""
    out = folder.parent
    if not resume:
        if folder.exists():
            raise SignscribeError(f"{out}: holds a previous run; pass --resume to continue it or choose another --out")
        return None
    if not (folder / "state.json").is_file():
        raise SignscribeError(f"{folder}: no checkpoint to resume from")
    saved = json.loads((folder / "state.json").read_text())
    before = {k: v for k, v in {**defaults, **saved["config"]}.items() if k not in may_change}
    now = {k: v for k, v in config.items() if k not in may_change}
    if before != now:
        changed = sorted(k for k in now if before.get(k) != now[k])
        raise SignscribeError(f"{folder}: cannot resume with changed options {changed}")
    return saved
