"""An exported model run by onnxruntime (``signscribe export`` writes them; ``export/onnx.py``):
the file carries its ``config.json`` and labels as metadata, so ``load_pretrained("model.onnx")``
gives a whole model whose input pipeline prepares clips as for the PyTorch model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from signscribe.errors import InputFileError, SignscribeError

CONFIG_KEY, LABELS_KEY = "signscribe_config", "signscribe_labels"
OUTPUT_NAME = "logits"


class OnnxModel(nn.Module):
    """An exported model run by onnxruntime, called like the PyTorch model (tensors in, logits out)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        try:
            import onnxruntime
        except ImportError as error:
            raise SignscribeError(
                f"{path}: ONNX models run with onnxruntime: pip install 'signscribe[onnx]'"
            ) from error
        self.path = path
        try:
            self.session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types for unreadable files
            raise InputFileError(path, f"not a readable ONNX model ({error})") from error
        self.names = [item.name for item in self.session.get_inputs()]

    def metadata(self) -> tuple[dict[str, Any], list[str] | None]:
        """The ``config.json`` and labels the file carries."""
        metadata = self.session.get_modelmeta().custom_metadata_map
        if CONFIG_KEY not in metadata:
            raise InputFileError(self.path, "not written by signscribe export (no signscribe_config in its metadata)")
        return json.loads(metadata[CONFIG_KEY]), json.loads(metadata.get(LABELS_KEY, "null"))

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        feed = {name: tensor.detach().cpu().numpy() for name, tensor in zip(self.names, inputs, strict=True)}
        return torch.from_numpy(self.session.run([OUTPUT_NAME], feed)[0])
