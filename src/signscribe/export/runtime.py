"""``--runtime``: which engine runs a recognition model in ``recognize``, ``evaluate``, ``transcribe``
and ``serve``.

* ``auto`` (the default): an exported ``.onnx`` file runs with onnxruntime, anything else with PyTorch;
* ``torch``: PyTorch (an ``.onnx`` file is refused);
* ``onnx``: onnxruntime. A PyTorch model is exported once, traced on made-up examples of its input
  pipeline's longest shape with batch and time axes dynamic, checked against PyTorch on them, and
  kept in the cache (``$SIGNSCRIBE_ONNX_CACHE_DIR``, else ``$XDG_CACHE_HOME/signscribe/onnx``),
  named by a hash of its weights, config and labels and the signscribe version, so the next run
  loads the file straight away.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

from signscribe.errors import SignscribeError
from signscribe.inference.recognizer import Recognizer
from signscribe.models.onnx_model import OnnxModel
from signscribe.models.pretrained import LoadedModel
from signscribe.version import __version__

RUNTIMES = ("auto", "torch", "onnx")
TOLERANCE = 1e-3  # the largest difference from PyTorch an export may show on the made-up examples


def onnx_cache_dir() -> Path:
    """``$SIGNSCRIBE_ONNX_CACHE_DIR``, else ``$XDG_CACHE_HOME/signscribe/onnx``, else ``~/.cache/signscribe/onnx``."""
    if configured := os.environ.get("SIGNSCRIBE_ONNX_CACHE_DIR"):
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "signscribe" / "onnx"


def model_digest(loaded: LoadedModel) -> str:
    """What makes an exported file this model's: its weights, config and labels, and the exporter's version."""
    digest = hashlib.sha256(json.dumps([loaded.config, loaded.labels, __version__], sort_keys=True).encode())
    for name, tensor in loaded.model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def as_onnx(loaded: LoadedModel, cache: Path | None = None) -> LoadedModel:
    """``loaded`` run by onnxruntime: exported into ``cache`` unless it is there (or is ONNX already)."""
    if isinstance(loaded.model, OnnxModel):
        return loaded
    if loaded.placed or not loaded.features.tensor_names:
        raise SignscribeError(f"{loaded.path}: this model runs with PyTorch only (--runtime torch)")
    out = (cache or onnx_cache_dir()) / f"{Path(loaded.path).name}-{model_digest(loaded)[:16]}.onnx"
    if not out.is_file():
        from signscribe.export.onnx import export_onnx, made_up_inputs, verify  # torch: exporting needs it

        examples = made_up_inputs(loaded)
        export_onnx(loaded, examples, out)
        checked = verify(OnnxModel(out), loaded.model, [examples])
        if checked.max_abs_difference > TOLERANCE:
            out.unlink()
            raise SignscribeError(
                f"{loaded.path}: the ONNX export differs from PyTorch by {checked.max_abs_difference:.2e}; "
                "use --runtime torch"
            )
    return dataclasses.replace(loaded, model=OnnxModel(out), placed=True)


def on_runtime(recognizer: Recognizer, runtime: str) -> Recognizer:
    """``recognizer`` with its model on ``runtime`` (one of ``RUNTIMES``), the same extractor."""
    if runtime not in RUNTIMES:
        raise ValueError(f"--runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
    onnx = isinstance(recognizer.loaded.model, OnnxModel)
    if runtime == "torch" and onnx:
        raise SignscribeError(f"{recognizer.loaded.path}: an ONNX file runs with onnxruntime (--runtime onnx or auto)")
    if runtime != "onnx" or onnx:
        return recognizer
    return Recognizer(as_onnx(recognizer.loaded), recognizer.extractor)
