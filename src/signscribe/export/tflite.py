"""TFLite export with ``litert-torch`` (the optional ``[tflite]`` extra: about 1.25 GB, and it
downgrades pydantic, so it stays out of the base install).

litert-torch converts fixed shapes only (its dynamic-shape conversion fails on these models), so a
TFLite model reads one clip, padded along time to the longest example its input pipeline makes
(``max_frames`` landmark frames, ``max_tokens`` embedding rows) with the padding marked absent, as a
batch pads shorter clips; RGB models read their fixed frame count. The model's ``config.json``,
labels and input shapes go into ``<file>.json`` beside it, for the app that runs it.

int8 is litert-torch's PT2E dynamic quantisation: the exported program gets a per-channel symmetric
int8 quantiser for its weights (activations are quantised on the fly, as ONNX's
``quantize_dynamic`` does), and the converter writes the int8 kernels.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from signscribe.errors import SignscribeError
from signscribe.export.onnx import Positional
from signscribe.files import atomic_write, write_text_atomic
from signscribe.models.inputs import InputPipeline
from signscribe.models.pretrained import LoadedModel

# Families litert-torch 0.10 cannot convert, checked here: X3D crashes its flatbuffer writer (a
# segfault), MoViNet fails to export. ONNX takes them.
UNCONVERTIBLE = {"x3d": "crashes litert-torch's converter", "movinet": "fails in litert-torch's converter"}


def _litert() -> Any:
    try:
        import litert_torch
    except ImportError as error:
        raise SignscribeError("TFLite export needs litert-torch: pip install -e '.[tflite]'") from error
    return litert_torch


def padded(inputs: tuple[torch.Tensor, ...], pipeline: InputPipeline) -> tuple[torch.Tensor, ...]:
    """One clip's inputs padded along time to the pipeline's longest example (zeros: absent)."""
    length = pipeline.longest_example()
    if length is None:
        return inputs
    result = []
    for tensor, axis in zip(inputs, pipeline.time_axes, strict=True):
        if axis is not None and tensor.shape[axis] < length:
            shape = list(tensor.shape)
            shape[axis] = length - tensor.shape[axis]
            tensor = torch.cat([tensor, torch.zeros(shape, dtype=tensor.dtype)], dim=axis)
        result.append(tensor)
    return tuple(result)


def _int8(model: nn.Module, example: tuple[torch.Tensor, ...]) -> tuple[nn.Module, Any]:
    """``model`` with int8 weight quantisers (PT2E, dynamic) and the quant config the converter takes."""
    from litert_torch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config
    from litert_torch.quantize.quant_config import QuantConfig
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    quantizer = PT2EQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True, is_dynamic=True))
    observed = prepare_pt2e(torch.export.export(model, example).module(), quantizer)
    observed(*example)  # the weights' observers see them once
    return convert_pt2e(observed, fold_quantize=False), QuantConfig(pt2e_quantizer=quantizer)


def export_tflite(loaded: LoadedModel, example: tuple[torch.Tensor, ...], out: Path, int8: bool = False) -> Path:
    """Write ``loaded``'s model as TFLite to ``out`` for one clip shaped like ``example`` (padded),
    with int8 weights if ``int8``, and its config, labels and input shapes to ``<out>.json``."""
    litert_torch = _litert()
    pipeline = loaded.features
    if loaded.placed or not pipeline.tensor_names:
        raise SignscribeError(f"{loaded.path}: only PyTorch models of landmarks, frames or embeddings export")
    for prefix, why in UNCONVERTIBLE.items():
        if loaded.architecture.startswith(prefix):
            raise SignscribeError(f"{loaded.path}: {loaded.architecture} {why}; export it with --format onnx")
    fixed = padded(tuple(tensor[:1] for tensor in example), pipeline)
    model, quantized = Positional(loaded.model).eval(), None
    if int8:
        model, quantized = _int8(model, fixed)
    converted = litert_torch.convert(model, fixed, quant_config=quantized)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out) as file:
        file.write(converted.model_content())
    shapes = {name: list(tensor.shape) for name, tensor in zip(pipeline.tensor_names, fixed, strict=True)}
    sidecar = {"config": loaded.config, "labels": loaded.labels, "inputs": shapes}
    write_text_atomic(Path(f"{out}.json"), json.dumps(sidecar, indent=1))
    return out


class TfliteModel(nn.Module):
    """An exported TFLite file run by the LiteRT interpreter: one clip at a time, padded like the export."""

    def __init__(self, path: Path, pipeline: InputPipeline) -> None:
        super().__init__()
        self.model = _litert().load(str(path))
        self.pipeline = pipeline

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        rows = [self.model(*padded(tuple(t[i : i + 1] for t in inputs), self.pipeline)) for i in range(len(inputs[0]))]
        return torch.from_numpy(np.concatenate([np.asarray(row) for row in rows]))
