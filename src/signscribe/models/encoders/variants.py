"""The visual variants ASLVideoTranslate encodes every clip in, so a classifier sees each sign also
without sharp edges and without colour: ``original``, ``blur`` (a Gaussian blur, OpenCV's
``GaussianBlur`` with a 15-pixel kernel: sigma 2.6, edges reflected) and ``bw`` (luma, ITU-R BT.601,
in all three channels). They are made from the frames at the encoder's input size."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

BLUR_KERNEL = 15
BLUR_SIGMA = 0.3 * ((BLUR_KERNEL - 1) * 0.5 - 1) + 0.8  # OpenCV's sigma for a kernel given without one
LUMA = (0.299, 0.587, 0.114)


def _blur(frames: np.ndarray) -> np.ndarray:
    offsets = torch.arange(BLUR_KERNEL, dtype=torch.float32) - BLUR_KERNEL // 2
    weights = torch.exp(-(offsets**2) / (2 * BLUR_SIGMA**2))
    weights = weights / weights.sum()
    tensor = torch.from_numpy(np.require(frames, requirements="W")).permute(0, 3, 1, 2).float()
    channels = tensor.shape[1]
    half = BLUR_KERNEL // 2
    for kernel, padding in (
        (weights.view(1, 1, 1, -1), (half, half, 0, 0)),
        (weights.view(1, 1, -1, 1), (0, 0, half, half)),
    ):
        tensor = F.conv2d(F.pad(tensor, padding, mode="reflect"), kernel.expand(channels, 1, -1, -1), groups=channels)
    return tensor.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def _black_and_white(frames: np.ndarray) -> np.ndarray:
    luma = np.rint(frames.astype(np.float32) @ np.array(LUMA, dtype=np.float32)).clip(0, 255).astype(np.uint8)
    return np.repeat(luma[..., None], 3, axis=-1)


VARIANTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "original": lambda frames: frames,
    "blur": _blur,
    "bw": _black_and_white,
}


def parse_variants(text: str) -> list[str]:
    """``original,blur,bw`` as a list, each known and given once."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in VARIANTS]
    if not names or unknown or len(set(names)) != len(names):
        raise ValueError(f"--variants takes distinct names among {', '.join(VARIANTS)}, got {text!r}")
    return names
