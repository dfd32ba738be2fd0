"""``i3d`` and ``s3d``. ``i3d``: Inception-I3D (Carreira and Zisserman, 2017) exactly as the WLASL code builds it
(``code/I3D/pytorch_i3d.py`` of dxli94/WLASL), so the published WLASL I3D checkpoints load as they
are: the same module names, state-dict keys and shapes (``../shared/reference/wlasl_i3d_state_dict.json``),
TensorFlow-style "same" padding, batch norm with eps 1e-3. Input ``(batch, 3, frames, 224, 224)``
with pixels in [-1, 1]; the network gives per-time logits ``(batch, classes, frames / 8 - 1)`` and,
as the WLASL test script, the clip's logits are their maximum over time.

``s3d``: the same network with every 3-D convolution of kernel k split into a spatial (1 x k x k)
and a temporal (k x 1 x 1) one (Xie et al., 2018), as the thesis system's S3D: fewer parameters and
FLOPs, the same input and output.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from signscribe.models.registry import register_model

# Channels of the branches of each Inception block: 1x1; 1x1 then 3x3; 1x1 then 3x3; pool then 1x1.
INCEPTION_BLOCKS = {
    "Mixed_3b": (192, (64, 96, 128, 16, 32, 32)),
    "Mixed_3c": (256, (128, 128, 192, 32, 96, 64)),
    "Mixed_4b": (480, (192, 96, 208, 16, 48, 64)),
    "Mixed_4c": (512, (160, 112, 224, 24, 64, 64)),
    "Mixed_4d": (512, (128, 128, 256, 24, 64, 64)),
    "Mixed_4e": (512, (112, 144, 288, 32, 64, 64)),
    "Mixed_4f": (528, (256, 160, 320, 32, 128, 128)),
    "Mixed_5b": (832, (256, 160, 320, 32, 128, 128)),
    "Mixed_5c": (832, (384, 192, 384, 48, 128, 128)),
}
FEATURES = 1024


def same_padding(size: tuple[int, ...], kernel: tuple[int, ...], stride: tuple[int, ...]) -> tuple[int, ...]:
    """``F.pad`` amounts (last dimension first) of TensorFlow's "same" padding for a 3-D input."""
    pads = []
    for length, k, s in zip(size, kernel, stride, strict=True):
        total = max(k - s, 0) if length % s == 0 else max(k - length % s, 0)
        pads.append((total // 2, total - total // 2))
    return tuple(amount for pair in reversed(pads) for amount in pair)


class MaxPool3dSamePadding(nn.MaxPool3d):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kernel, stride = tuple(self.kernel_size), tuple(self.stride)  # type: ignore[arg-type]
        return super().forward(F.pad(x, same_padding(tuple(x.shape[2:]), kernel, stride)))


class Unit3D(nn.Module):
    """Convolution (``conv3d``), batch norm (``bn``) and ReLU, with "same" padding."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: tuple[int, int, int] = (1, 1, 1),
        stride: tuple[int, int, int] = (1, 1, 1),
        activation: bool = True,
        batch_norm: bool = True,
        bias: bool = False,
    ) -> None:
        super().__init__()
        self.kernel, self.stride, self.activation = kernel, stride, activation
        self.conv3d = nn.Conv3d(in_channels, out_channels, kernel, stride=stride, padding=0, bias=bias)
        self.bn = nn.BatchNorm3d(out_channels, eps=0.001, momentum=0.01) if batch_norm else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv3d(F.pad(x, same_padding(tuple(x.shape[2:]), self.kernel, self.stride)))
        if self.bn is not None:
            x = self.bn(x)
        return F.relu(x) if self.activation else x


def separable_unit(
    in_channels: int, out_channels: int, kernel: int, stride: tuple[int, int, int] = (1, 1, 1)
) -> nn.Sequential:
    """S3D's k x k x k convolution: spatial (1 x k x k) then temporal (k x 1 x 1), each with BN and ReLU."""
    return nn.Sequential(
        Unit3D(in_channels, out_channels, (1, kernel, kernel), (1, stride[1], stride[2])),
        Unit3D(out_channels, out_channels, (kernel, 1, 1), (stride[0], 1, 1)),
    )


def full_unit(in_channels: int, out_channels: int, kernel: int, stride: tuple[int, int, int] = (1, 1, 1)) -> Unit3D:
    return Unit3D(in_channels, out_channels, (kernel, kernel, kernel), stride)


class InceptionModule(nn.Module):
    def __init__(self, in_channels: int, channels: tuple[int, ...], unit: Callable[..., nn.Module] = full_unit) -> None:
        super().__init__()
        self.b0 = Unit3D(in_channels, channels[0])
        self.b1a = Unit3D(in_channels, channels[1])
        self.b1b = unit(channels[1], channels[2], 3)
        self.b2a = Unit3D(in_channels, channels[3])
        self.b2b = unit(channels[3], channels[4], 3)
        self.b3a = MaxPool3dSamePadding(kernel_size=(3, 3, 3), stride=(1, 1, 1))
        self.b3b = Unit3D(in_channels, channels[5])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = (self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3b(self.b3a(x)))
        return torch.cat(branches, dim=1)


@register_model("i3d", input_kind="frames", input_defaults={"frames": 64})
class InceptionI3d(nn.Module):
    """Inception-I3D; ``freeze`` stops training of the first ``freeze`` stages (of 5: the stem, then
    the blocks before each max pool), for fine-tuning from ``--weights``; ``separable`` makes it S3D."""

    def __init__(
        self, num_classes: int, in_channels: int = 3, dropout: float = 0.5, freeze: int = 0, separable: bool = False
    ) -> None:
        super().__init__()
        unit = separable_unit if separable else full_unit
        self.Conv3d_1a_7x7 = unit(in_channels, 64, 7, (2, 2, 2))
        self.MaxPool3d_2a_3x3 = MaxPool3dSamePadding(kernel_size=(1, 3, 3), stride=(1, 2, 2))
        self.Conv3d_2b_1x1 = Unit3D(64, 64)
        self.Conv3d_2c_3x3 = unit(64, 192, 3)
        self.MaxPool3d_3a_3x3 = MaxPool3dSamePadding(kernel_size=(1, 3, 3), stride=(1, 2, 2))
        self.Mixed_3b, self.Mixed_3c = (InceptionModule(*INCEPTION_BLOCKS[n], unit) for n in ("Mixed_3b", "Mixed_3c"))
        self.MaxPool3d_4a_3x3 = MaxPool3dSamePadding(kernel_size=(3, 3, 3), stride=(2, 2, 2))
        for name in ("Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e", "Mixed_4f"):
            setattr(self, name, InceptionModule(*INCEPTION_BLOCKS[name], unit))
        self.MaxPool3d_5a_2x2 = MaxPool3dSamePadding(kernel_size=(2, 2, 2), stride=(2, 2, 2))
        self.Mixed_5b, self.Mixed_5c = (InceptionModule(*INCEPTION_BLOCKS[n], unit) for n in ("Mixed_5b", "Mixed_5c"))
        self.dropout = nn.Dropout(dropout)
        self.logits = Unit3D(FEATURES, num_classes, activation=False, batch_norm=False, bias=True)
        stages = [
            ["Conv3d_1a_7x7"],
            ["Conv3d_2b_1x1", "Conv3d_2c_3x3"],
            ["Mixed_3b", "Mixed_3c"],
            ["Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e", "Mixed_4f"],
            ["Mixed_5b", "Mixed_5c"],
        ]
        for stage in stages[:freeze]:
            for name in stage:
                getattr(self, name).requires_grad_(False)

    def features(self, video: torch.Tensor) -> torch.Tensor:
        """``(batch, 1024, time, height, width)`` after ``Mixed_5c``."""
        x = video
        for module in list(self.children())[:-2]:  # every stage in order, before dropout and logits
            x = module(x)
        return x

    def per_time_logits(self, video: torch.Tensor) -> torch.Tensor:
        """``(batch, classes, time)``: the WLASL network's output (its average pool is 2 x 7 x 7 with
        stride 1 at 224 x 224; here the spatial window is the whole map, the same at that size)."""
        x = self.features(video)
        x = F.avg_pool3d(x, kernel_size=(min(2, x.shape[2]), *x.shape[3:]), stride=1)
        return self.logits(self.dropout(x)).squeeze(4).squeeze(3)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        """Clip logits ``(batch, classes)``: the maximum over time, as WLASL tests."""
        return self.per_time_logits(video).amax(dim=2)

    def clip_embedding(self, video: torch.Tensor) -> torch.Tensor:
        """The pooled clip vector ``(batch, 1024)``: ``Mixed_5c``'s features averaged over time and space."""
        return self.features(video).mean(dim=(2, 3, 4))


@register_model("s3d", input_kind="frames", input_defaults={"frames": 64})
def s3d(num_classes: int, in_channels: int = 3, dropout: float = 0.5, freeze: int = 0) -> InceptionI3d:
    """S3D: Inception-I3D with separable spatio-temporal convolutions."""
    return InceptionI3d(num_classes, in_channels, dropout, freeze, separable=True)
