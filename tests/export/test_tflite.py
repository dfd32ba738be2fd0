"""TFLite export with litert-torch (the ``[tflite]`` extra, ~1.25 GB: CI installs it in a venv of
its own, ``.venv-tflite``, and runs this file there), verified against PyTorch on real clips."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from signscribe.cli import app
from signscribe.errors import SignscribeError
from signscribe.export.run import export_model
from signscribe.models import create_model
from signscribe.models.inputs import FramesConfig
from signscribe.models.pretrained import model_config_json, save_model_folder

pytest.importorskip("litert_torch", reason="the [tflite] extra is not installed (CI runs this in .venv-tflite)")
runner = CliRunner()
CLIPS = ("01586", "65145", "14882")


@pytest.fixture(scope="module")
def clips(wlasl_dir: Path) -> list[Path]:
    return [wlasl_dir / "clips" / f"{name}.mp4" for name in CLIPS]


@pytest.mark.parametrize("model", ["wlasl100", "traduttore16"])
def test_bundled_models_export_to_tflite_and_agree_with_torch(model: str, clips: list[Path], tmp_path: Path) -> None:
    """fp32, and int8 (a file under 40% of the size, the same best gloss on every clip)."""
    sizes = {}
    for precision, tolerance in (("fp32", 1e-4), ("int8", 0.5)):
        out = tmp_path / f"{model}.{precision}.tflite"
        result = runner.invoke(app, ["export", model, *(f"--clip={clip}" for clip in clips), "--format", "tflite",
                                     "--out", str(out), *(["--int8"] if precision == "int8" else [])])  # fmt: skip
        assert result.exit_code == 0, result.output
        found = re.search(r"max \|difference\| (\S+), top-1 agreement (\d+)%", result.stdout)
        assert found and float(found.group(1)) < tolerance and found.group(2) == "100"
        sizes[precision] = out.stat().st_size
    assert sizes["int8"] < 0.4 * sizes["fp32"]
    assert out.read_bytes()[4:8] == b"TFL3"  # the FlatBuffer identifier of a TFLite model
    sidecar = json.loads(Path(f"{out}.json").read_text())
    max_frames = sidecar["config"]["features"]["max_frames"]
    assert (
        sidecar["inputs"]["points"][:2] == [1, max_frames]
        and len(sidecar["labels"]) == sidecar["config"]["num_classes"]
    )


def _rgb_folder(family: str, folder: Path) -> Path:
    features = FramesConfig(frames=8, size=64, resize=72)
    torch.manual_seed(0)
    model = create_model(family, 4, **features.model_config())
    config = model_config_json(family, features.model_config(), features, 4, {})
    return save_model_folder(model, folder / family, config, {"labels.json": '["a", "b", "c", "d"]'}, "card")


def test_i3d_exports_to_tflite_and_x3d_is_refused_with_the_reason(clips: list[Path], tmp_path: Path) -> None:
    report = export_model(str(_rgb_folder("i3d", tmp_path)), clips, tmp_path / "i3d.tflite", output_format="tflite")
    assert report.verification.clips == 3 and report.verification.top1_agreement == 1.0
    assert report.verification.max_abs_difference < 1e-4
    with pytest.raises(SignscribeError, match="x3d_xs crashes litert-torch's converter; export it with --format onnx"):
        export_model(str(_rgb_folder("x3d_xs", tmp_path)), clips, tmp_path / "x3d.tflite", output_format="tflite")
