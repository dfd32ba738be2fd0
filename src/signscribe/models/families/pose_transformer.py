"""Landmark transformer in the style of the top Kaggle isolated-sign solutions: a per-frame
embedding, then alternating depthwise 1D-convolution blocks and transformer encoder layers,
pooling over time (a masked mean, or ``pooling="attention"``: the attention pooling of
``gloss_classifier``, whose weights ``explain`` shows) and a linear classifier. With ``motion=K``
each frame also carries each point's displacement to the next 1..K frames (the Kaggle winner's
Δ1 and Δ2 for K=2), zero where either end is missing."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from signscribe.models.attention import AttentionPooling
from signscribe.models.registry import register_model

POOLINGS = ("mean", "attention")


def displacements(points: torch.Tensor, present: torch.Tensor, lags: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Each point's move to the frame ``1..lags`` ahead, ``(batch, frames, points, channels * lags)``,
    and where it is known (both ends present; padded frames are never present)."""
    moves, known = [], []
    for lag in range(1, lags + 1):
        ahead = nn.functional.pad(points[:, lag:], (0, 0, 0, 0, 0, lag))
        both = present & nn.functional.pad(present[:, lag:], (0, 0, 0, lag))
        moves.append((ahead - points) * both[..., None].to(points.dtype))
        known.append(both)
    return torch.cat(moves, dim=-1), torch.stack(known, dim=-1)


def sinusoidal_positions(length: int, dim: int, device: torch.device) -> torch.Tensor:
    position = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    frequency = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim, device=device)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)
    return table


class ConvBlock(nn.Module):
    """Expand, depthwise temporal convolution, gate, project back; residual. Padded frames stay zero."""

    def __init__(self, dim: int, kernel_size: int, expand: int, dropout: float) -> None:
        super().__init__()
        hidden = dim * expand
        self.norm = nn.LayerNorm(dim)
        self.expand = nn.Linear(dim, 2 * hidden)
        self.depthwise = nn.Conv1d(hidden, hidden, kernel_size, padding=kernel_size // 2, groups=hidden)
        self.project = nn.Linear(hidden, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        keep = frames[..., None].to(x.dtype)
        value, gate = self.expand(self.norm(x)).chunk(2, dim=-1)
        hidden = nn.functional.silu(value) * torch.sigmoid(gate) * keep
        hidden = self.depthwise(hidden.transpose(1, 2)).transpose(1, 2)
        return x + self.dropout(self.project(nn.functional.silu(hidden))) * keep


class PoseEncoder(nn.Module):
    """Landmark frames to contextual frame vectors: ``encode`` gives ``(batch, frames, dim)``."""

    def __init__(
        self,
        num_points: int = 67,
        channels: int = 2,
        dim: int = 192,
        depth: int = 2,
        heads: int = 4,
        kernel_size: int = 11,
        expand: int = 2,
        dropout: float = 0.1,
        motion: int = 0,
    ) -> None:
        super().__init__()
        if motion < 0:
            raise ValueError(f"motion must be 0 or more frames ahead, got {motion}")
        self.motion = motion
        per_point = (channels + 1) * (1 + motion)
        self.embed = nn.Sequential(
            nn.Linear(num_points * per_point, dim), nn.LayerNorm(dim), nn.SiLU(), nn.Linear(dim, dim)
        )
        self.blocks = nn.ModuleList()
        for _ in range(depth):
            self.blocks.append(ConvBlock(dim, kernel_size, expand, dropout))
            self.blocks.append(
                nn.TransformerEncoderLayer(
                    dim, heads, dim * 2, dropout, activation="gelu", batch_first=True, norm_first=True
                )
            )
        self.norm = nn.LayerNorm(dim)

    def encode(self, points: torch.Tensor, present: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """``points`` ``(batch, frames, points, channels)``, ``present`` ``(batch, frames, points)``,
        ``frames`` ``(batch, frames)`` False on padding; padded frames of the output are zero."""
        batch, length = points.shape[:2]
        flags = present.to(points.dtype)
        columns = [points * flags[..., None], flags[..., None]]
        if self.motion:
            moves, known = displacements(points, present & frames[..., None], self.motion)
            columns += [moves, known.to(points.dtype)]
        x = torch.cat(columns, dim=-1).reshape(batch, length, -1)
        x = self.embed(x) + sinusoidal_positions(length, self.norm.normalized_shape[0], points.device)
        for block in self.blocks:
            x = block(x, frames) if isinstance(block, ConvBlock) else block(x, src_key_padding_mask=~frames)
        return self.norm(x) * frames[..., None].to(x.dtype)


@register_model("pose_transformer")
class PoseTransformer(PoseEncoder):
    """A ``PoseEncoder``, pooling over time and a linear classifier: logits ``(batch, num_classes)``."""

    def __init__(self, num_classes: int, head_dropout: float = 0.3, pooling: str = "mean", **encoder: Any) -> None:
        super().__init__(**encoder)
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        dim = self.norm.normalized_shape[0]
        self.attention = AttentionPooling(dim) if pooling == "attention" else None
        self.head = nn.Sequential(nn.Dropout(head_dropout), nn.Linear(dim, num_classes))

    def _pooled(
        self, points: torch.Tensor, present: torch.Tensor, frames: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        encoded = self.encode(points, present, frames)
        if self.attention is not None:
            return self.attention(encoded, frames)
        keep = frames[..., None].to(points.dtype)
        return encoded.sum(dim=1) / keep.sum(dim=1).clamp(min=1), None

    def forward(self, points: torch.Tensor, present: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        return self.head(self._pooled(points, present, frames)[0])

    def clip_embedding(self, points: torch.Tensor, present: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """The pooled clip vector ``(batch, dim)`` the classifier reads (what a sign bank compares)."""
        return self._pooled(points, present, frames)[0]

    def explain(
        self, points: torch.Tensor, present: torch.Tensor, frames: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and the attention weights ``(batch, frames)`` of a model with ``pooling="attention"``."""
        pooled, weights = self._pooled(points, present, frames)
        if weights is None:
            raise ValueError("this pose_transformer pools by a mean: train it with pooling=attention to see attention")
        return self.head(pooled), weights
