"""``x3d_xs``, ``x3d_s``, ``x3d_m``, ``x3d_l``: X3D (Feichtenhofer, 2020), the thesis system's
efficient video networks, in plain PyTorch with the layout of the published models (PyTorchVideo's
``create_x3d``): a stem of a spatial 3 x 3 then a depthwise temporal 5 x 1 x 1 convolution (24
channels), four stages of bottleneck blocks whose middle convolution is depthwise 3 x 3 x 3 (expanded
2.25 times, squeeze-and-excitation on every other block, Swish), and a head (1 x 1 x 1 to 432
channels, global average pool, 2048 features, dropout, the classes).

XS, S and M are one network (depths 3, 5, 11, 7) made for different clips, L is deeper (5, 10, 25,
15): XS reads 4 frames of 160 px, S 13 x 160, M 16 x 224, L 16 x 312. These are each variant's
default input (short side 1.14 times the crop, pixels normalised with the Kinetics mean and
deviation); ``features`` in the training config change them.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from signscribe.models.registry import register_model

STAGE_WIDTHS = (24, 48, 96, 192)
STEM_WIDTH = 24
EXPANSION = 2.25
HEAD_FEATURES = 2048
SE_RATIO = 0.0625
DEPTHS = {"x3d_xs": (3, 5, 11, 7), "x3d_s": (3, 5, 11, 7), "x3d_m": (3, 5, 11, 7), "x3d_l": (5, 10, 25, 15)}
CLIPS = {"x3d_xs": (4, 160), "x3d_s": (13, 160), "x3d_m": (16, 224), "x3d_l": (16, 312)}


def _norm_act(channels: int, activation: bool = True) -> list[nn.Module]:
    return [nn.BatchNorm3d(channels, eps=1e-5, momentum=0.1), *([nn.ReLU(inplace=True)] if activation else [])]


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        hidden = max(8, round(channels * SE_RATIO / 8) * 8)
        self.reduce, self.expand = nn.Conv3d(channels, hidden, 1), nn.Conv3d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = x.mean(dim=(2, 3, 4), keepdim=True)
        return x * torch.sigmoid(self.expand(torch.relu(self.reduce(scale))))


class Bottleneck(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, spatial_stride: int, squeeze: bool) -> None:
        super().__init__()
        inner = round(out_channels * EXPANSION)
        self.a = nn.Sequential(nn.Conv3d(in_channels, inner, 1, bias=False), *_norm_act(inner))
        stride = (1, spatial_stride, spatial_stride)
        depthwise = nn.Conv3d(inner, inner, 3, stride=stride, padding=1, groups=inner, bias=False)
        self.b = nn.Sequential(depthwise, *_norm_act(inner, activation=False))
        self.squeeze = SqueezeExcite(inner) if squeeze else nn.Identity()
        self.c = nn.Sequential(nn.Conv3d(inner, out_channels, 1, bias=False), *_norm_act(out_channels, False))
        self.shortcut = (
            nn.Sequential(
                nn.Conv3d(in_channels, out_channels, 1, stride=stride, bias=False), *_norm_act(out_channels, False)
            )
            if in_channels != out_channels or spatial_stride != 1
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.c(nn.functional.silu(self.squeeze(self.b(self.a(x)))))
        return torch.relu(y + self.shortcut(x))


class X3D(nn.Module):
    def __init__(self, num_classes: int, depths: tuple[int, ...], in_channels: int = 3, dropout: float = 0.5) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv3d(in_channels, STEM_WIDTH, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), bias=False),
            nn.Conv3d(STEM_WIDTH, STEM_WIDTH, (5, 1, 1), padding=(2, 0, 0), groups=STEM_WIDTH, bias=False),
            *_norm_act(STEM_WIDTH),
        )
        stages, channels = [], STEM_WIDTH
        for depth, width in zip(depths, STAGE_WIDTHS, strict=True):
            blocks = [
                Bottleneck(channels if i == 0 else width, width, 2 if i == 0 else 1, i % 2 == 0) for i in range(depth)
            ]
            stages.append(nn.Sequential(*blocks))
            channels = width
        self.stages = nn.Sequential(*stages)
        head_channels = math.ceil(STAGE_WIDTHS[-1] * EXPANSION)
        self.head = nn.Sequential(nn.Conv3d(channels, head_channels, 1, bias=False), *_norm_act(head_channels))
        self.project = nn.Linear(head_channels, HEAD_FEATURES)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(HEAD_FEATURES, num_classes)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, classes)`` of ``(batch, 3, frames, height, width)`` clips."""
        return self.classifier(self.dropout(self.clip_embedding(video)))

    def clip_embedding(self, video: torch.Tensor) -> torch.Tensor:
        """The pooled clip vector ``(batch, 2048)`` the classifier reads."""
        x = self.head(self.stages(self.stem(video))).mean(dim=(2, 3, 4))
        return torch.relu(self.project(x))


def _variant(name: str) -> None:
    def build(num_classes: int, in_channels: int = 3, dropout: float = 0.5) -> X3D:
        return X3D(num_classes, DEPTHS[name], in_channels, dropout)

    frames, size = CLIPS[name]
    build.__doc__ = f"{name}: X3D of depths {DEPTHS[name]}, made for {frames} frames of {size} px."
    defaults = {"frames": frames, "size": size, "resize": round(size * 1.14), "value_range": "kinetics"}
    register_model(name, input_kind="frames", input_defaults=defaults)(build)


for _name in DEPTHS:
    _variant(_name)
