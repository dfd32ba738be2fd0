"""A spatio-temporal graph convolutional network (ST-GCN) over the upper-body and hand skeleton."""

from __future__ import annotations

import itertools

import torch
from torch import nn

from signscribe.models.registry import register_model
from signscribe.pose.layout import BODY_POINTS, HAND_LIMBS, UPPER_BODY_LIMBS, UPPER_BODY_POINTS


def skeleton_adjacency() -> torch.Tensor:
    """Normalised adjacency (with self-loops) of the 67 model points: upper body, left hand, right hand,
    each hand's wrist joined to the body's wrist on its side."""
    left, right = UPPER_BODY_POINTS, UPPER_BODY_POINTS + 21
    edges = list(UPPER_BODY_LIMBS)
    edges += [(left + a, left + b) for a, b in HAND_LIMBS] + [(right + a, right + b) for a, b in HAND_LIMBS]
    edges += [(BODY_POINTS.index("LEFT_WRIST"), left), (BODY_POINTS.index("RIGHT_WRIST"), right)]
    size = UPPER_BODY_POINTS + 42
    adjacency = torch.eye(size)
    for a, b in edges:
        adjacency[a, b] = adjacency[b, a] = 1.0
    degree = adjacency.sum(dim=1).rsqrt()
    return degree[:, None] * adjacency * degree[None, :]


class STGCNBlock(nn.Module):
    """Graph convolution over joints, then a temporal convolution, each with batch norm; residual."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dropout: float) -> None:
        super().__init__()
        self.spatial = nn.Conv2d(in_channels, out_channels, 1)
        self.spatial_norm = nn.BatchNorm2d(out_channels)
        self.temporal = nn.Conv2d(out_channels, out_channels, (kernel_size, 1), padding=(kernel_size // 2, 0))
        self.temporal_norm = nn.BatchNorm2d(out_channels)
        self.dropout = nn.Dropout(dropout)
        self.residual = nn.Identity() if in_channels == out_channels else nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor, adjacency: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        # Padded frames are zeroed before the temporal convolution, so padding changes nothing.
        spatial = torch.relu(self.spatial_norm(torch.einsum("nctv,vw->nctw", self.spatial(x), adjacency))) * keep
        temporal = self.dropout(self.temporal_norm(self.temporal(spatial)))
        return torch.relu(temporal + self.residual(x)) * keep


@register_model("stgcn")
class STGCN(nn.Module):
    """Same inputs and output as ``pose_transformer``; expects the 67-point model layout."""

    def __init__(
        self,
        num_classes: int,
        num_points: int = 67,
        channels: int = 2,
        widths: tuple[int, ...] = (32, 32, 64, 64),
        kernel_size: int = 9,
        dropout: float = 0.1,
        head_dropout: float = 0.3,
    ) -> None:
        super().__init__()
        if num_points != UPPER_BODY_POINTS + 42:
            raise ValueError(f"stgcn is built for the {UPPER_BODY_POINTS + 42}-point skeleton, not {num_points}")
        self.register_buffer("adjacency", skeleton_adjacency(), persistent=False)
        self.input_norm = nn.BatchNorm1d((channels + 1) * num_points)
        sizes = [channels + 1, *widths]
        self.blocks = nn.ModuleList(STGCNBlock(a, b, kernel_size, dropout) for a, b in itertools.pairwise(sizes))
        self.head = nn.Sequential(nn.Dropout(head_dropout), nn.Linear(widths[-1], num_classes))

    def forward(self, points: torch.Tensor, present: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        return self.head(self.clip_embedding(points, present, frames))

    def clip_embedding(self, points: torch.Tensor, present: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """The pooled clip vector ``(batch, widths[-1])`` the classifier reads."""
        batch, length, count, _ = points.shape
        flags = present.to(points.dtype)[..., None]
        x = torch.cat([points * flags, flags], dim=-1)  # (N, T, V, C)
        x = self.input_norm(x.permute(0, 3, 2, 1).reshape(batch, -1, length)).reshape(batch, -1, count, length)
        x = x.permute(0, 1, 3, 2)  # (N, C, T, V)
        keep = frames[:, None, :, None].to(x.dtype)
        x = x * keep
        for block in self.blocks:
            x = block(x, self.adjacency, keep)
        return x.sum(dim=(2, 3)) / (keep.sum(dim=(2, 3)) * count).clamp(min=1)
