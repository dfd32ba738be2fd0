"""``signscribe export``: a model to an ONNX file (optionally int8), traced and verified on real clips."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from signscribe.export.onnx import Verification, export_onnx, quantize_int8, verify
from signscribe.inference.recognizer import Recognizer
from signscribe.models.onnx_model import OnnxModel
from signscribe.pose.source import ClipSource
from signscribe.progress import ProgressCallback

FORMATS = ("onnx",)


@dataclass(frozen=True)
class ExportReport:
    out: Path
    bytes: int
    verification: Verification


def export_model(
    model: str | Path | None,
    clips: list[ClipSource],
    out: Path,
    int8: bool = False,
    on_progress: ProgressCallback | None = None,
) -> ExportReport:
    """Export ``model`` (a bundled name, a folder or a hub id) to ``out``: traced on the first two
    ``clips`` (one clip stands in twice), then run by onnxruntime on each clip alone and compared
    with PyTorch. With ``int8`` the file written and verified is the quantised one."""
    if not clips:
        raise ValueError("give at least one real clip (--clip) to trace and verify the export with")
    recognizer = Recognizer.from_pretrained(model, device="cpu")
    prepared = recognizer.prepare(clips, on_progress)
    examples = recognizer.model_inputs((prepared * 2)[:2] if len(prepared) == 1 else prepared[:2])
    if int8:
        with tempfile.TemporaryDirectory() as folder:
            plain = export_onnx(recognizer.loaded, examples, Path(folder) / "fp32.onnx")
            quantize_int8(plain, out)
    else:
        export_onnx(recognizer.loaded, examples, out)
    each = [recognizer.model_inputs([item]) for item in prepared]
    checked = verify(OnnxModel(out), recognizer.loaded.model, each)
    return ExportReport(out, out.stat().st_size, checked)
