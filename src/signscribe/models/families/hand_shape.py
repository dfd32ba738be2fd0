"""A handshape classifier for fingerspelling: each frame's hand (the ``hand`` input kind: shape and
wrist path) through a small MLP, residual temporal convolutions that see the motion of J and Z when
there are frames to see it in, a masked mean and max over time, and a linear classifier. A photo is
one frame: the convolutions then see its shape alone. Small on purpose: a photo's letter must take a
few milliseconds on a CPU after the hand is found.

A letter is the same letter signed with either hand, and MediaPipe often tells the hand of a photo
wrongly (its side decides which hand the input kind mirrors). So by default (``mirror_invariant``) the
model reads the hand and its mirror image alike: the clip vector is the mean of the two, and no
letter hinges on a hand's side.
"""

from __future__ import annotations

import torch
from torch import nn

from signscribe.models.registry import register_model


class TemporalBlock(nn.Module):
    """A residual 1D convolution over frames; padded frames stay zero."""

    def __init__(self, dim: int, kernel_size: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.conv = nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        hidden = self.conv((self.norm(x) * keep).transpose(1, 2)).transpose(1, 2)
        return x + self.dropout(nn.functional.gelu(hidden)) * keep


@register_model("hand_shape", input_kind="hand")
class HandShapeClassifier(nn.Module):
    """Logits ``(batch, num_classes)`` of ``points`` ``(batch, frames, points, channels)``, ``present``
    ``(batch, frames, points)`` and ``frames`` ``(batch, frames)`` (False on padding)."""

    def __init__(
        self,
        num_classes: int,
        num_points: int = 22,
        channels: int = 3,
        dim: int = 192,
        depth: int = 2,
        kernel_size: int = 5,
        dropout: float = 0.2,
        mirror_invariant: bool = True,
    ) -> None:
        super().__init__()
        self.mirror_invariant = mirror_invariant
        self.embed = nn.Sequential(
            nn.Linear(num_points * (channels + 1), dim), nn.LayerNorm(dim), nn.GELU(),
            nn.Dropout(dropout), nn.Linear(dim, dim), nn.GELU(),
        )  # fmt: skip
        self.blocks = nn.ModuleList(TemporalBlock(dim, kernel_size, dropout) for _ in range(depth))
        self.norm = nn.LayerNorm(2 * dim)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * dim, num_classes))

    def clip_embedding(self, points: torch.Tensor, present: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """The pooled clip vector ``(batch, 2 * dim)`` the classifier reads: mean and max over the
        frames in which the hand is found (with ``mirror_invariant``, the mean of the hand's and its
        mirror image's)."""
        if not self.mirror_invariant:
            return self._pooled(points, present, frames)
        flip = torch.ones(points.shape[-1], dtype=points.dtype, device=points.device)
        flip[0] = -1
        return (self._pooled(points, present, frames) + self._pooled(points * flip, present, frames)) / 2

    def _pooled(self, points: torch.Tensor, present: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        batch, length = points.shape[:2]
        flags = present.to(points.dtype)
        x = torch.cat([points * flags[..., None], flags[..., None]], dim=-1).reshape(batch, length, -1)
        seen = frames & present.any(dim=-1)
        seen = seen | (frames & ~seen.any(dim=1, keepdim=True))  # no hand anywhere: every frame
        keep = seen[..., None].to(points.dtype)
        x = self.embed(x) * keep
        for block in self.blocks:
            x = block(x, keep)
        mean = x.sum(dim=1) / keep.sum(dim=1).clamp(min=1)
        peak = x.masked_fill(~seen[..., None], torch.finfo(x.dtype).min).amax(dim=1)
        return self.norm(torch.cat([mean, peak], dim=-1))

    def forward(self, points: torch.Tensor, present: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        return self.head(self.clip_embedding(points, present, frames))
