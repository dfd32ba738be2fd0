"""``signscribe export``: a model to an ONNX or TFLite file (optionally int8), traced and verified on real clips."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from signscribe.export.onnx import Verification, export_onnx, made_up_inputs, quantize_int8, verify
from signscribe.inference.recognizer import Recognizer
from signscribe.models.onnx_model import OnnxModel
from signscribe.pose.source import ClipSource
from signscribe.progress import ProgressCallback

FORMATS = ("onnx", "tflite")


@dataclass(frozen=True)
class ExportReport:
    out: Path
    bytes: int
    verification: Verification
    made_up: bool = False  # verified on made-up examples, no clip being given


def export_model(
    model: str | Path | None,
    clips: list[ClipSource],
    out: Path,
    int8: bool = False,
    on_progress: ProgressCallback | None = None,
    output_format: str = "onnx",
) -> ExportReport:
    """Export ``model`` (a bundled name, a folder or a hub id) to ``out``: traced on the first two
    ``clips`` (one clip stands in twice), then run by onnxruntime (or the LiteRT interpreter) on
    each clip alone and compared with PyTorch. Without clips, two made-up examples of the model's
    input stand in for them (the report says so). With ``int8`` the file written and verified is the
    quantised one. A bad format, or an ``out`` that does not end in it, is refused before the model loads."""
    if output_format not in FORMATS:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}, not {output_format!r}")
    if out.suffix != f".{output_format}":
        raise ValueError(f"--out must end in .{output_format}, got {out}")
    recognizer = Recognizer.from_pretrained(model, device="cpu")
    if clips:
        prepared = recognizer.prepare(clips, on_progress)
        examples = recognizer.model_inputs((prepared * 2)[:2] if len(prepared) == 1 else prepared[:2])
        each = [recognizer.model_inputs([item]) for item in prepared]
    else:
        examples = made_up_inputs(recognizer.loaded)
        each = [tuple(tensor[row : row + 1] for tensor in examples) for row in range(2)]
    if output_format == "tflite":
        from signscribe.export.tflite import TfliteModel, export_tflite

        export_tflite(recognizer.loaded, examples, out, int8)
        checked = verify(TfliteModel(out, recognizer.loaded.features), recognizer.loaded.model, each)
        return ExportReport(out, out.stat().st_size, checked, made_up=not clips)
    if int8:
        with tempfile.TemporaryDirectory() as folder:
            plain = export_onnx(recognizer.loaded, examples, Path(folder) / "fp32.onnx")
            quantize_int8(plain, out)
    else:
        export_onnx(recognizer.loaded, examples, out)
    checked = verify(OnnxModel(out), recognizer.loaded.model, each)
    return ExportReport(out, out.stat().st_size, checked, made_up=not clips)
