"""Attention pooling over time: a score per time step (``Linear(width -> 1)``), a softmax over the
steps that are there, and the weighted sum. The weights say which moments a model looked at:
``recognize --explain`` shows them."""

from __future__ import annotations

import torch
from torch import nn


class AttentionPooling(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.score = nn.Linear(width, 1)

    def forward(self, sequence: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``sequence`` ``(batch, time, width)`` and ``mask`` ``(batch, time)`` (False on padding) to the
        pooled ``(batch, width)`` and the weights ``(batch, time)``, zero on padding."""
        scores = self.score(sequence).squeeze(-1)
        if mask is not None:
            scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        weights = scores.softmax(dim=-1)
        if mask is not None:
            weights = weights * mask
        return torch.einsum("bt,btw->bw", weights, sequence), weights
