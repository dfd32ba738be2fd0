"""The model the web page runs itself, in its fully offline privacy mode (onnxruntime-web): a landmark
or hand-shape recognition model as ONNX bytes.

The page computes the model's input from MediaPipe landmarks in JavaScript (``static/landmarks.js``
and ``static/spelling.js``, the same steps as the ``landmarks`` and ``hand`` input pipelines), so
only those models run there. A server
whose model is an exported ``.onnx`` file (or that runs with ``--runtime onnx``) hands that file
over as it is; a PyTorch model is exported on the first request, traced on made-up examples.
"""

from __future__ import annotations

import copy
import dataclasses
import tempfile
from pathlib import Path

from signscribe.errors import SignscribeError
from signscribe.models.onnx_model import OnnxModel
from signscribe.models.pretrained import LoadedModel

BROWSER_INPUTS = ("landmarks", "hand")  # the input kinds the page computes in JavaScript


def runs_in_browser(loaded: LoadedModel) -> bool:
    """Whether the page can run ``loaded`` itself: a landmark or hand-shape recognition model, in
    PyTorch or ONNX."""
    exportable = isinstance(loaded.model, OnnxModel) or not loaded.placed
    return loaded.task == "recognition" and loaded.input_kind in BROWSER_INPUTS and exportable


def browser_onnx(loaded: LoadedModel) -> bytes:
    """``loaded`` as an ONNX file's bytes, with its config and labels in the metadata."""
    if not runs_in_browser(loaded):
        raise SignscribeError(
            f"{loaded.path}: only landmark and hand-shape recognition models run in the browser, "
            f"not a {loaded.task} model of input kind {loaded.input_kind}"
        )
    if isinstance(loaded.model, OnnxModel):
        return loaded.model.path.read_bytes()
    from signscribe.export.onnx import export_onnx, made_up_inputs  # torch: exporting needs it

    own = dataclasses.replace(loaded, model=copy.deepcopy(loaded.model))  # a server's threads run the original
    with tempfile.TemporaryDirectory() as folder:
        return export_onnx(own, made_up_inputs(own), Path(folder) / "model.onnx").read_bytes()
