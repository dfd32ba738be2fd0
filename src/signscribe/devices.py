"""Where models run: ``--device auto|cpu|cuda|mps`` and ``--precision fp32|bf16|fp16``.

``auto`` takes a CUDA GPU if torch sees one, else Apple's MPS, else the CPU. Asking for a device
torch cannot use is a ``DeviceError`` that says what torch sees. Tensors follow the model: callers
move a batch to ``device_of(model)`` and bring outputs back to the CPU."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch

from signscribe.errors import SignscribeError

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("fp32", "bf16", "fp16")


class DeviceError(SignscribeError):
    """A device or precision this machine's torch cannot use."""


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def resolve_device(name: str = "auto") -> torch.device:
    if name not in DEVICES and not name.startswith("cuda:"):
        raise DeviceError(f"--device must be one of {', '.join(DEVICES)} (or cuda:N), got {name!r}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if _mps_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        build = f"built with CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        raise DeviceError(f"--device {name}: torch {torch.__version__} ({build}) sees no CUDA GPU on this machine")
    if name == "mps" and not _mps_available():
        raise DeviceError("--device mps: torch sees no Apple MPS device on this machine")
    return torch.device(name)


def check_precision(device: torch.device, precision: str) -> None:
    if precision not in PRECISIONS:
        raise DeviceError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "fp16" and device.type != "cuda":
        raise DeviceError(f"--precision fp16 needs a CUDA GPU (the device is {device.type}); use bf16 or fp32")


@contextlib.contextmanager
def autocast(device: torch.device, precision: str) -> Iterator[None]:
    """Mixed precision for the forward pass (nothing for ``fp32``)."""
    if precision == "fp32":
        yield
        return
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield


def device_of(model: Any) -> torch.device:
    """Where ``model``'s parameters are; the CPU for one without (an exported model onnxruntime runs)."""
    parameter = next(model.parameters(), None) if isinstance(model, torch.nn.Module) else None
    return parameter.device if parameter is not None else torch.device("cpu")


def to_device(tensors: tuple[torch.Tensor, ...], device: torch.device) -> tuple[torch.Tensor, ...]:
    return tuple(tensor.to(device, non_blocking=True) for tensor in tensors)
