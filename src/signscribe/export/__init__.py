"""Leaving PyTorch: ONNX export (with int8), verification, and the runtime choice.

Each name loads its module on first use: choosing the runtime of an exported model imports no torch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from signscribe.lazy import lazy_exports

_EXPORTS = {"Verification": ".onnx", "export_onnx": ".onnx", "quantize_int8": ".onnx", "verify": ".onnx"}
__all__ = list(_EXPORTS)

if TYPE_CHECKING:
    from signscribe.export.onnx import Verification, export_onnx, quantize_int8, verify  # noqa: F401


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
