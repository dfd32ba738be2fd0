"""Leaving PyTorch: ONNX export (with int8), verification, and onnxruntime models."""

from signscribe.export.onnx import Verification, export_onnx, quantize_int8, verify

__all__ = ["Verification", "export_onnx", "quantize_int8", "verify"]
