"""ONNX export of recognition models (``signscribe export``), int8 quantisation, verification
against PyTorch, and the onnxruntime model that ``load_pretrained`` gives for an ``.onnx`` file.

Export goes through ``torch.onnx.export(..., dynamo=True)`` with the batch and time axes of every
input dynamic (the example inputs hold at least two clips: an example batch of one would freeze
the batch axis at 1). The model's ``config.json`` and labels travel inside the file as metadata
(``signscribe_config``, ``signscribe_labels``), so an exported file is a whole model: its input
pipeline prepares clips as for the PyTorch model, and onnxruntime runs it. int8 is
``onnxruntime.quantization.quantize_dynamic`` (int8 weights, activations quantised on the fly),
after the shape annotations the exporter leaves in ``graph.value_info`` are removed (quantisation
fails on them).
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from signscribe.errors import SignscribeError
from signscribe.files import atomic_write
from signscribe.models.onnx_model import CONFIG_KEY, LABELS_KEY, OUTPUT_NAME
from signscribe.models.pretrained import LoadedModel


class Positional(nn.Module):
    """The model called with its inputs as positional arguments, whatever its ``forward`` names them."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.model(*inputs)


def _onnx() -> Any:
    try:
        import onnx
    except ImportError as error:
        raise SignscribeError("ONNX export needs onnx and onnxscript: pip install 'signscribe[onnx]'") from error
    return onnx


def _save(model: Any, out: Path, loaded_config: dict[str, Any], labels: list[str] | None) -> Path:
    """The model with the signscribe metadata, written atomically (one file: models here are far
    below protobuf's 2 GB limit)."""
    del model.metadata_props[:]
    for key, value in ((CONFIG_KEY, loaded_config), (LABELS_KEY, labels)):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    with atomic_write(out) as file:
        file.write(model.SerializeToString())
    return out


def export_onnx(loaded: LoadedModel, examples: tuple[torch.Tensor, ...], out: Path) -> Path:
    """Write ``loaded``'s model as ONNX to ``out``, traced on ``examples`` (a batch of 2 or more)."""
    pipeline = loaded.features
    if loaded.placed:
        raise SignscribeError(
            f"{loaded.path}: only PyTorch models export (an ONNX file or a video language model does not)"
        )
    if not pipeline.tensor_names:
        raise SignscribeError(f"{loaded.path}: a model of input kind {pipeline.kind} cannot be exported to ONNX")
    if examples[0].shape[0] < 2:
        raise ValueError("export needs an example batch of at least 2 clips, or the batch axis is frozen at 1")
    _onnx()
    batch, time = torch.export.Dim("batch", min=1), torch.export.Dim("time", min=2)
    shapes = tuple({0: batch} if axis is None else {0: batch, axis: time} for axis in pipeline.time_axes)
    with contextlib.redirect_stdout(io.StringIO()):  # the exporter reports its steps on stdout
        program = torch.onnx.export(
            Positional(loaded.model).eval(),
            tuple(examples),
            dynamo=True,
            input_names=list(pipeline.tensor_names),
            output_names=[OUTPUT_NAME],
            dynamic_shapes=(shapes,),
            verbose=False,
        )
    return _save(program.model_proto, out, loaded.config, loaded.labels)


def made_up_inputs(loaded: LoadedModel) -> tuple[torch.Tensor, ...]:
    """A batch of two made-up examples of the longest shape, to export ``loaded`` without a clip."""
    rng = np.random.default_rng(0)
    made_up = [loaded.features.made_up_example(rng) for _ in range(2)]
    if made_up[0] is None:
        kind = loaded.features.kind
        raise SignscribeError(f"{loaded.path}: a model of input kind {kind} exports from real clips only")
    return loaded.features.collate(made_up, [0, 0]).inputs


def quantize_int8(source: Path, out: Path) -> Path:
    """An int8 copy of the ONNX model at ``source`` (dynamic quantisation), with its metadata."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    onnx = _onnx()
    out.parent.mkdir(parents=True, exist_ok=True)
    model = onnx.load(source)
    metadata = {entry.key: json.loads(entry.value) for entry in model.metadata_props}
    del model.graph.value_info[:]  # quantize_dynamic fails on the exporter's shape annotations
    with tempfile.TemporaryDirectory(dir=out.parent) as folder:
        plain = Path(folder) / "plain.onnx"
        onnx.save(model, plain)
        quantize_dynamic(plain, Path(folder) / "int8.onnx", weight_type=QuantType.QInt8)
        quantized = onnx.load(Path(folder) / "int8.onnx")
    return _save(quantized, out, metadata[CONFIG_KEY], metadata.get(LABELS_KEY))


@dataclass(frozen=True)
class Verification:
    """How an exported model's output compares with PyTorch's on real clips."""

    clips: int
    max_abs_difference: float
    top1_agreement: float  # share of clips whose best label is the same


def verify(exported: nn.Module, reference: nn.Module, inputs: list[tuple[torch.Tensor, ...]]) -> Verification:
    """Both models on each clip's inputs (a batch of one each)."""
    differences, agreements = [], []
    with torch.no_grad():
        for clip in inputs:
            expected, got = reference(*clip).float(), exported(*clip).float()
            differences.append(float((expected - got).abs().max()))
            agreements.append(bool((expected.argmax(-1) == got.argmax(-1)).all()))
    return Verification(len(inputs), max(differences), float(np.mean(agreements)))
