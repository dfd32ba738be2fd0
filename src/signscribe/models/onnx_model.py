"""An exported model run by onnxruntime (``signscribe export`` writes them; ``export/onnx.py``):
the file carries its ``config.json`` and labels as metadata, so ``load_pretrained("model.onnx")``
gives a whole model whose input pipeline prepares clips as for the PyTorch model.

It runs on numpy arrays (``run``, what the recognizer gives it), so recognition with an exported
model never imports torch; called with tensors, like a PyTorch model, it answers a tensor.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from signscribe.errors import InputFileError, SignscribeError

if TYPE_CHECKING:
    import torch

CONFIG_KEY, LABELS_KEY = "signscribe_config", "signscribe_labels"
OUTPUT_NAME = "logits"


class OnnxModel:
    """An exported model run by onnxruntime: ``run(arrays)`` gives its logits."""

    def __init__(self, path: Path) -> None:
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

    def run(self, arrays: tuple[np.ndarray, ...]) -> np.ndarray:
        """The logits ``(clips, labels)`` for the input pipeline's arrays."""
        return self.session.run([OUTPUT_NAME], dict(zip(self.names, arrays, strict=True)))[0]

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor:
        import torch

        return torch.from_numpy(self.run(tuple(tensor.detach().cpu().numpy() for tensor in inputs)))
