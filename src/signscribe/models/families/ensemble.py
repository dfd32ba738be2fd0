"""``ensemble``: recognition models of one input kind whose class probabilities are averaged.

Members are trained on their own (other seeds or other families, the same labels and input
settings); ``combine`` puts their folders into one model folder whose weights hold every member's
under ``members.<i>.``. The output is the log of the mean probability, so a softmax of it gives the
mean probability itself.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from signscribe.errors import SignscribeError
from signscribe.models.registry import create_model, register_model


@register_model("ensemble")
class Ensemble(nn.Module):
    """``members``: a list of ``{"architecture": family, "model_config": {...}}``; ``input`` options
    (``num_points``, ``channels``) go to every member."""

    def __init__(self, num_classes: int, members: list[dict[str, Any]], **input_options: Any) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = nn.ModuleList(
            create_model(member["architecture"], num_classes, **{**member["model_config"], **input_options})
            for member in members
        )

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        log_probabilities = torch.stack([member(*inputs).log_softmax(dim=-1) for member in self.members])
        return log_probabilities.logsumexp(dim=0) - math.log(len(self.members))

    def clip_embedding(self, *inputs: torch.Tensor) -> torch.Tensor:
        """The members' pooled clip vectors, each scaled to unit length, side by side."""
        return torch.cat([F.normalize(member.clip_embedding(*inputs), dim=-1) for member in self.members], dim=-1)


def combine(folders: list[str | Path], out: str | Path, card: str, frame_rate: float | None = None) -> Path:
    """One ensemble model folder from recognition model folders with the same labels and input settings
    (which it keeps); ``frame_rate`` sets its extraction frame rate (else the first member's extraction
    settings hold)."""
    from signscribe.models.pretrained import LABELS, labels_json, load_pretrained, model_config_json, save_model_folder

    loaded = [load_pretrained(folder, task="recognition") for folder in folders]
    first = loaded[0]
    for other in loaded[1:]:
        if other.labels != first.labels or other.features != first.features:
            raise SignscribeError(f"{other.path}: its labels or input settings differ from {first.path}'s")
    input_options = first.features.model_config()
    members = [
        {
            "architecture": m.architecture,
            "model_config": {k: v for k, v in m.model_config.items() if k not in input_options},
        }
        for m in loaded
    ]
    model = Ensemble(len(first.labels or []), members, **input_options)
    for member, source in zip(model.members, loaded, strict=True):
        member.load_state_dict(source.model.state_dict())
    config = model_config_json(
        "ensemble",
        {"members": members, **input_options},
        first.features,
        len(first.labels or []),
        first.config.get("input", {}),
        replace(first.extraction, frame_rate=frame_rate) if frame_rate else first.extraction,
    )
    return save_model_folder(model, out, config, {LABELS: labels_json(first.labels or [])}, card)
