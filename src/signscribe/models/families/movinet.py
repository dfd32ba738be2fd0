"""``movinet_a0`` … ``movinet_a5`` and their streaming twins ``movinet_a0_stream`` … : MoViNet
(Kondratyuk et al., 2021), the thesis system's mobile video networks, in plain PyTorch.

Each block expands (1 x 1 x 1), filters depthwise (1 x 5 x 5, 3 x 3 x 3, 5 x 3 x 3 or 1 x 3 x 3;
spatial stride 2 where a stage starts), squeezes and excites, and projects back, with a residual;
a stem (1 x 3 x 3, stride 2), a 1 x 1 x 1 head, a 2048-wide dense layer and the classes follow the
architecture search's tables (below, per variant: the stem, then per stage its width and each
block's expanded width and kernel, then the head's width).

The base models see the whole clip (temporal padding on both sides, global pooling). The streaming
models are causal: temporal padding only in front, squeeze-and-excite and the final pool are running
means over the frames so far. ``stream_step`` feeds frames a few (or one) at a time and keeps what
the next call needs in ``state`` (each temporal convolution's last frames, the running sums), so a
clip fed frame by frame gives the same logits as the causal model on the whole clip.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from signscribe.models.families.i3d import same_padding
from signscribe.models.registry import register_model

HIDDEN = 2048
# variant: (stem width, [(stage width, [(expanded width, kernel "tkk"), ...]), ...], head width)
ARCHITECTURES: dict[str, tuple[int, list[tuple[int, list[tuple[int, str]]]], int]] = {
    "a0": (8, [
        (8, [(24, "155")]),
        (32, [(80, "333")] * 3),
        (56, [(184, "533"), (112, "333"), (184, "333")]),
        (56, [(184, "533"), (184, "333"), (184, "333"), (184, "333")]),
        (104, [(384, "533"), (280, "155"), (280, "155"), (344, "155")]),
    ], 480),
    "a1": (16, [
        (16, [(40, "155"), (40, "333")]),
        (40, [(96, "333"), (120, "333"), (96, "333"), (96, "333")]),
        (64, [(216, "533"), (128, "333"), (216, "333"), (168, "333"), (216, "333")]),
        (64, [(216, "533"), (216, "333"), (216, "333"), (128, "333"), (128, "155"), (216, "333")]),
        (136, [(456, "533"), (360, "155"), (360, "155"), (360, "155"), (456, "155"), (456, "333"), (544, "133")]),
    ], 600),
    "a2": (16, [
        (16, [(40, "155"), (40, "333"), (64, "333")]),
        (40, [(96, "333"), (120, "333"), (96, "333"), (96, "333"), (120, "333")]),
        (72, [(240, "533"), (160, "333"), (240, "333"), (192, "333"), (240, "333")]),
        (72, [(240, "533"), (240, "333"), (240, "333"), (240, "333"), (144, "155"), (240, "333")]),
        (144, [(480, "533"), (384, "155"), (384, "155"), (480, "155"), (480, "155"), (480, "333"), (576, "133")]),
    ], 640),
    "a3": (16, [
        (16, [(40, "155"), (40, "333"), (64, "333"), (40, "333")]),
        (48, [(112, "333"), (144, "333"), (112, "333"), (112, "155"), (144, "333"), (144, "333")]),
        (80, [(240, "533"), (152, "333"), (240, "333"), (192, "333"), (240, "333")]),
        (88, [(264, "533"), *[(264, "333")] * 3, (160, "155"), *[(264, "333")] * 3]),
        (168, [(560, "533"), (448, "155"), (448, "155"), (560, "155"), (560, "155"), (560, "333"), (448, "155"),
               (448, "155"), (560, "333"), (672, "133")]),
    ], 744),
    "a4": (24, [
        (24, [(64, "155"), (64, "333"), (96, "333"), (64, "333"), (96, "333"), (64, "333")]),
        (56, [(168, "333"), (168, "333"), (136, "333"), (136, "333"), (168, "333"), (168, "333"), (168, "333"),
              (136, "155"), (136, "333")]),
        (96, [(320, "533"), (160, "333"), (320, "333"), (192, "333"), (320, "333"), (160, "333"), (320, "333"),
              (256, "333"), (320, "333")]),
        (96, [(320, "533"), *[(320, "333")] * 3, (192, "155"), (320, "333"), (320, "333"), (192, "333"),
              (320, "333"), (320, "333")]),
        (192, [(640, "533"), (512, "155"), (512, "155"), (640, "155"), (640, "155"), (640, "333"), (512, "155"),
               (512, "155"), (640, "155"), (768, "155"), (640, "155"), (640, "333"), (768, "333")]),
    ], 856),
    "a5": (24, [
        (24, [(64, "155"), (64, "155"), (96, "333"), (64, "333"), (96, "333"), (64, "333")]),
        (64, [(192, "533"), *[(152, "333")] * 3, *[(192, "333")] * 3, (152, "333"), (152, "333"), (192, "333"),
              (192, "333")]),
        (112, [(376, "533"), (224, "333"), (376, "333"), (376, "333"), (296, "333"), (376, "333"), (224, "333"),
               (376, "333"), (376, "333"), (296, "333"), (376, "333"), (376, "333"), (376, "333")]),
        (120, [(376, "533"), *[(376, "333")] * 3, (224, "155"), (376, "333"), (376, "333"), (224, "333"),
               *[(376, "333")] * 3]),
        (224, [(744, "533"), (744, "333"), (600, "155"), (600, "155"), (744, "155"), (744, "155"), (744, "333"),
               (896, "155"), (600, "155"), (600, "155"), (896, "155"), (744, "155"), (744, "333"), (896, "155"),
               (600, "155"), (600, "155"), (744, "155"), (744, "333")]),
    ], 992),
}  # fmt: skip
STRIDED_STAGES = (0, 1, 2, 4)  # stages whose first block halves the frame size
State = dict[str, Any]


def _running_mean(pooled: torch.Tensor, state: State | None, key: str) -> torch.Tensor:
    """The mean over the frames so far at each time step of ``pooled`` ``(batch, channels, time, 1, 1)``,
    continuing the sums in ``state`` (when streaming)."""
    total, count = state.get(key, (0.0, 0)) if state is not None else (0.0, 0)
    sums = total + pooled.cumsum(dim=2)
    counts = count + torch.arange(1, pooled.shape[2] + 1, device=pooled.device, dtype=pooled.dtype).view(1, 1, -1, 1, 1)
    if state is not None:
        state[key] = (sums[:, :, -1:], count + pooled.shape[2])
    return sums / counts


class Conv(nn.Module):
    """A 3-D convolution with TensorFlow-style "same" spatial padding and temporal padding on both
    sides (base) or in front only (causal; when streaming, the previous call's last frames)."""

    def __init__(self, cin: int, cout: int, kernel: tuple[int, int, int], stride: int = 1, groups: int = 1,
                 causal: bool = False, name: str = "") -> None:  # fmt: skip
        super().__init__()
        self.kernel, self.stride, self.causal, self.name = kernel, (1, stride, stride), causal, name
        self.conv = nn.Conv3d(cin, cout, kernel, stride=self.stride, groups=groups, bias=False)

    def forward(self, x: torch.Tensor, state: State | None = None) -> torch.Tensor:
        spatial = same_padding(tuple(x.shape[3:]), self.kernel[1:], self.stride[1:])
        x = F.pad(x, spatial)
        before = self.kernel[0] - 1
        if before and self.causal and state is not None:
            previous = state.get(self.name, x.new_zeros((*x.shape[:2], before, *x.shape[3:])))
            x = torch.cat([previous, x], dim=2)
            state[self.name] = x[:, :, -before:]
        elif before:
            x = F.pad(x, (0, 0, 0, 0, before, 0) if self.causal else (0, 0, 0, 0, before // 2, before - before // 2))
        return self.conv(x)


class Block(nn.Module):
    def __init__(self, cin: int, cout: int, expanded: int, kernel: str, stride: int, causal: bool, name: str) -> None:
        super().__init__()
        self.name, self.causal = name, causal
        self.expand = nn.Sequential(nn.Conv3d(cin, expanded, 1, bias=False), nn.BatchNorm3d(expanded), nn.SiLU())
        size = tuple(int(k) for k in kernel)
        self.depthwise = Conv(expanded, expanded, size, stride, groups=expanded, causal=causal, name=f"{name}.dw")
        self.depthwise_norm = nn.Sequential(nn.BatchNorm3d(expanded), nn.SiLU())
        squeezed = max(8, expanded // 4)
        self.se_reduce, self.se_expand = nn.Conv3d(expanded, squeezed, 1), nn.Conv3d(squeezed, expanded, 1)
        self.project = nn.Sequential(nn.Conv3d(expanded, cout, 1, bias=False), nn.BatchNorm3d(cout))
        changes = cin != cout or stride != 1
        self.shortcut = nn.Sequential(nn.Conv3d(cin, cout, 1, bias=False), nn.BatchNorm3d(cout)) if changes else None
        self.stride = stride

    def forward(self, x: torch.Tensor, state: State | None = None) -> torch.Tensor:
        y = self.depthwise_norm(self.depthwise(self.expand(x), state))
        pooled = y.mean(dim=(3, 4), keepdim=True)
        pooled = _running_mean(pooled, state, f"{self.name}.se") if self.causal else pooled.mean(2, keepdim=True)
        y = self.project(y * torch.sigmoid(self.se_expand(F.silu(self.se_reduce(pooled)))))
        if self.shortcut is None:
            return x + y
        if self.stride != 1:
            x = F.avg_pool3d(x, (1, 3, 3), (1, 2, 2), (0, 1, 1), count_include_pad=False)
        return self.shortcut(x) + y


class MoViNet(nn.Module):
    def __init__(self, num_classes: int, variant: str, causal: bool = False, in_channels: int = 3,
                 dropout: float = 0.2) -> None:  # fmt: skip
        super().__init__()
        stem, stages, head = ARCHITECTURES[variant]
        self.causal = causal
        self.stem = Conv(in_channels, stem, (1, 3, 3), 2, causal=causal, name="stem")
        self.stem_norm = nn.Sequential(nn.BatchNorm3d(stem), nn.SiLU())
        blocks, channels = [], stem
        for index, (width, specs) in enumerate(stages):
            for number, (expanded, kernel) in enumerate(specs):
                stride = 2 if number == 0 and index in STRIDED_STAGES else 1
                blocks.append(Block(channels, width, expanded, kernel, stride, causal, f"b{index}.{number}"))
                channels = width
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Sequential(nn.Conv3d(channels, head, 1, bias=False), nn.BatchNorm3d(head), nn.SiLU())
        self.dense = nn.Linear(head, HIDDEN)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(HIDDEN, num_classes)

    def _embedding(self, video: torch.Tensor, state: State | None) -> torch.Tensor:
        x = self.stem_norm(self.stem(video, state))
        for block in self.blocks:
            x = block(x, state)
        pooled = self.head(x).mean(dim=(3, 4), keepdim=True)
        pooled = _running_mean(pooled, state, "head")[:, :, -1] if self.causal else pooled.mean(dim=2)
        return F.silu(self.dense(pooled.flatten(1)))

    def _logits(self, video: torch.Tensor, state: State | None) -> torch.Tensor:
        return self.classifier(self.dropout(self._embedding(video, state)))

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, classes)`` of ``(batch, 3, frames, height, width)`` clips in [0, 1]."""
        return self._logits(video, None)

    def clip_embedding(self, video: torch.Tensor) -> torch.Tensor:
        """The pooled clip vector ``(batch, 2048)`` the classifier reads."""
        return self._embedding(video, None)

    def stream_step(self, frames: torch.Tensor, state: State) -> torch.Tensor:
        """Logits after the frames so far: ``frames`` ``(batch, 3, n, height, width)`` continue the
        clip that ``state`` (a dict, empty at the start) remembers. Only for streaming models."""
        if not self.causal:
            raise ValueError("stream_step needs a streaming (causal) MoViNet: use movinet_aN_stream")
        return self._logits(frames, state)


def _register(variant: str, causal: bool) -> None:
    name = f"movinet_{variant}{'_stream' if causal else ''}"

    def build(num_classes: int, in_channels: int = 3, dropout: float = 0.2) -> MoViNet:
        return MoViNet(num_classes, variant, causal, in_channels, dropout)

    build.__doc__ = f"MoViNet-{variant.upper()}{' (streaming, causal)' if causal else ''}."
    defaults = {"frames": 20, "size": 172, "resize": 196, "value_range": "unit"}  # the thesis's input
    register_model(name, input_kind="frames", input_defaults=defaults)(build)


for _variant in ARCHITECTURES:
    for _causal in (False, True):
        _register(_variant, _causal)
