"""ONNX export: the bundled pose models verified against PyTorch on real clips, int8, and exported files
run by onnxruntime in recognize, transcribe and serve (every family's graph is exported in
``test_model_contract.py``)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from signscribe.cli import app
from signscribe.errors import InputFileError, SignscribeError
from signscribe.export import export_onnx, quantize_int8, verify
from signscribe.export.run import export_model
from signscribe.inference import Recognizer, Transcriber
from signscribe.models import create_model
from signscribe.models.inputs import FeatureConfig
from signscribe.models.onnx_model import OnnxModel
from signscribe.models.pretrained import model_config_json, save_model_folder
from signscribe.pose import ExtractionSettings

runner = CliRunner()
CLIPS = ("01586", "65145", "14882")  # real WLASL clips: agreement, basketball, deaf


@pytest.fixture(scope="module")
def clips(wlasl_dir: Path) -> list[Path]:
    return [wlasl_dir / "clips" / f"{name}.mp4" for name in CLIPS]


@pytest.fixture(scope="module")
def exported(clips: list[Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The default model as ONNX, fp32 and int8, through the command."""
    folder = tmp_path_factory.mktemp("onnx")
    files = {"fp32": folder / "wlasl100.onnx", "int8": folder / "wlasl100.int8.onnx"}
    for name, out in files.items():
        args = ["export", "default", *(f"--clip={clip}" for clip in clips), "--out", str(out)]
        result = runner.invoke(app, args + (["--int8"] if name == "int8" else []))
        assert result.exit_code == 0, result.output
        found = re.search(r"max \|difference\| (\S+), top-1 agreement (\d+)%", result.stdout)
        assert found and float(found.group(1)) < (0.5 if name == "int8" else 1e-4) and found.group(2) == "100"
    return files


def test_the_other_bundled_model_exports_and_agrees_with_torch_on_real_clips(clips: list[Path], tmp_path: Path) -> None:
    """traduttore16 here; the default model (wlasl100) through the command in ``exported``."""
    model = "traduttore16"
    report = export_model(model, clips, tmp_path / f"{model}.onnx")
    assert report.verification.clips == 3 and report.verification.top1_agreement == 1.0
    assert report.verification.max_abs_difference < 1e-4
    quantized = quantize_int8(report.out, tmp_path / f"{model}.int8.onnx")
    assert quantized.stat().st_size < report.bytes / 2  # int8 weights
    recognizer = Recognizer.from_pretrained(model)
    each = [recognizer.model_inputs(recognizer.prepare([clip])) for clip in clips]
    checked = verify(OnnxModel(quantized), recognizer.loaded.model, each)
    assert checked.top1_agreement == 1.0 and checked.max_abs_difference < 0.5


def test_batch_and_time_stay_dynamic(exported: dict[str, Path], clips: list[Path]) -> None:
    """Traced on two clips, the file runs three at once, each of another length."""
    recognizer = Recognizer.from_pretrained("default")
    batch = recognizer.model_inputs(recognizer.prepare(clips))
    onnx = OnnxModel(exported["fp32"])
    assert batch[0].shape[0] == 3
    assert torch.allclose(onnx(*batch), recognizer.loaded.model(*batch).detach(), atol=1e-4)
    short = tuple(tensor[:1, :10] for tensor in batch)
    assert torch.allclose(onnx(*short), recognizer.loaded.model(*short).detach(), atol=1e-4)


def test_an_exported_file_recognises_transcribes_and_serves(
    exported: dict[str, Path], clips: list[Path], wlasl_dir: Path, how2sign_dir: Path, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from signscribe.serving import ServerSettings, create_app

    onnx = Recognizer.from_pretrained(exported["fp32"])
    assert onnx.loaded.architecture == "ensemble" and onnx.labels == Recognizer.from_pretrained("default").labels
    as_json = ["--format", "json", "-k", "3"]
    from_onnx = runner.invoke(app, ["recognize", str(clips[1]), "--model", str(exported["fp32"]), *as_json])
    from_torch = runner.invoke(app, ["recognize", str(clips[1]), *as_json])
    assert from_onnx.exit_code == 0 and from_torch.exit_code == 0
    # the same glosses; confidences to float precision (onnxruntime and torch do not add up bit for bit)
    ranked = [[(p["gloss"], p["confidence"]) for p in json.loads(out.stdout)["results"][0]["predictions"]]
              for out in (from_onnx, from_torch)]  # fmt: skip
    assert [gloss for gloss, _ in ranked[0]] == [gloss for gloss, _ in ranked[1]]
    assert [c for _, c in ranked[0]] == pytest.approx([c for _, c in ranked[1]], abs=1e-5)
    sentence = how2sign_dir / "clips" / "-d5dN54tH2E_0-1-rgb_front.mp4"
    by_onnx = Transcriber.from_pretrained(exported["fp32"]).transcribe(sentence)
    by_torch = Transcriber.from_pretrained("default").transcribe(sentence)
    assert [s.gloss for s in by_onnx.segments] == [s.gloss for s in by_torch.segments]
    # "banana", a sign outside WLASL100 that the model rejects (its best guess below the calibrated
    # confidence): the exported file carries the model's rejection too
    clip = wlasl_dir / "clips" / "04897.mp4"
    predictions, no_gloss = Recognizer.from_pretrained("default").answer(clip)
    assert predictions == [] and no_gloss is not None
    settings = ServerSettings(data_dir=tmp_path / "data", model=str(exported["int8"]))
    with TestClient(create_app(settings)) as client:
        answer = client.post("/v1/recognize", files={"file": ("clip.mp4", clip.read_bytes(), "video/mp4")})
        assert answer.status_code == 200 and answer.json()["results"][0]["no_gloss"]["code"] == no_gloss.code


def test_runtime_onnx_exports_once_into_the_cache_and_answers_as_torch(
    exported: dict[str, Path], clips: list[Path], how2sign_dir: Path, monkeypatch, tmp_path: Path
) -> None:
    """--runtime onnx on a PyTorch model: exported on first use (traced on made-up examples) into the
    cache, then the answers of PyTorch from recognize, transcribe and serve; later runs reuse the file."""
    from fastapi.testclient import TestClient

    from signscribe.serving import ServerSettings, create_app

    cache = tmp_path / "onnx-cache"
    monkeypatch.setenv("SIGNSCRIBE_ONNX_CACHE_DIR", str(cache))
    as_json = [str(clips[2]), "--model", "traduttore16", "--format", "json", "-k", "3"]
    by_torch = json.loads(runner.invoke(app, ["recognize", *as_json, "--runtime", "torch"]).stdout)
    result = runner.invoke(app, ["recognize", *as_json, "--runtime", "onnx"])
    assert result.exit_code == 0, result.output
    by_onnx = json.loads(result.stdout)
    (cached,) = cache.glob("traduttore16-*.onnx")
    got, wanted = by_onnx["results"][0]["predictions"], by_torch["results"][0]["predictions"]
    assert [p["gloss"] for p in got] == [p["gloss"] for p in wanted]
    assert [p["confidence"] for p in got] == pytest.approx([p["confidence"] for p in wanted], abs=1e-4)
    stamp = cached.stat().st_mtime_ns
    assert runner.invoke(app, ["recognize", *as_json, "--runtime", "onnx"]).stdout == result.stdout
    assert cached.stat().st_mtime_ns == stamp  # not exported again
    sentence = how2sign_dir / "clips" / "-d5dN54tH2E_0-1-rgb_front.mp4"
    # segments down to 0.2: this sentence's signs are mostly outside WLASL100, and there must be some to compare
    as_transcript = ["--format", "json", "--min-confidence", "0.2"]
    transcripts = [
        json.loads(runner.invoke(app, ["transcribe", str(sentence), *as_transcript, "--runtime", r]).stdout)
        for r in ("torch", "onnx")
    ]
    assert transcripts[0]["segments"]
    assert [s["gloss"] for s in transcripts[1]["segments"]] == [s["gloss"] for s in transcripts[0]["segments"]]
    settings = ServerSettings(data_dir=tmp_path / "data", model="traduttore16", runtime="onnx")
    with TestClient(create_app(settings)) as client:
        pool = client.app.state.models
        assert all(isinstance(r.loaded.model, OnnxModel) for r in pool.recognizers.values())
        assert client.get("/v1/browser-model").content == cached.read_bytes()
    refused = runner.invoke(app, ["recognize", str(clips[0]), "--model", str(exported["fp32"]), "--runtime", "torch"])
    assert refused.exit_code == 2 and "an ONNX file runs with onnxruntime" in refused.output
    unknown = runner.invoke(app, ["recognize", str(clips[0]), "--runtime", "tensorrt"])
    assert unknown.exit_code == 2 and "--runtime must be one of auto, torch, onnx" in unknown.output


WITHOUT_TORCH = """
import importlib.abc, json, sys

class NoTorch(importlib.abc.MetaPathFinder):  # as if torch were not installed
    def find_spec(self, name, path, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NoTorch())
from pathlib import Path
from typer.testing import CliRunner
from fastapi.testclient import TestClient
from signscribe.cli import app
from signscribe.serving import ServerSettings, create_app

model, clip, sentence, data = sys.argv[1:]
runner = CliRunner()
recognized = runner.invoke(app, ["recognize", clip, "--model", model, "--format", "json", "-k", "3"])
transcribed = runner.invoke(app, ["transcribe", sentence, "--model", model, "--format", "json"])
with TestClient(create_app(ServerSettings(data_dir=Path(data), model=model))) as client:
    served = client.post("/v1/recognize", files={"file": ("clip.mp4", Path(clip).read_bytes(), "video/mp4")})
    offered = [m["id"] for m in client.get("/v1/models").json()["models"]]
print(json.dumps({"recognized": recognized.stdout, "transcribed": transcribed.stdout, "served": served.json(),
                  "offered": offered, "torch": "torch" in sys.modules, "codes": [recognized.exit_code,
                  transcribed.exit_code]}))
"""


def test_an_exported_model_runs_without_torch(
    exported: dict[str, Path], clips: list[Path], how2sign_dir: Path, tmp_path: Path
) -> None:
    """recognize, transcribe and serve with an .onnx file in a process where torch cannot be imported:
    the same answers as PyTorch, and torch never loaded (onnxruntime runs the input pipeline's arrays)."""
    import subprocess
    import sys

    sentence = how2sign_dir / "clips" / "-d5dN54tH2E_0-1-rgb_front.mp4"
    script = tmp_path / "without_torch.py"
    script.write_text(WITHOUT_TORCH)
    arguments = [str(exported["fp32"]), str(clips[1]), str(sentence), str(tmp_path / "data")]
    done = subprocess.run([sys.executable, str(script), *arguments], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["codes"] == [0, 0] and got["torch"] is False
    assert got["offered"] == [str(exported["fp32"])]  # the bundled PyTorch models need torch: left out
    by_torch = json.loads(runner.invoke(app, ["recognize", str(clips[1]), "--format", "json", "-k", "3"]).stdout)
    without = json.loads(got["recognized"])["results"][0]["predictions"]
    assert [p["gloss"] for p in without] == [p["gloss"] for p in by_torch["results"][0]["predictions"]]
    assert got["served"]["results"][0]["predictions"][0]["gloss"] == without[0]["gloss"]
    transcript = Transcriber.from_pretrained("default").transcribe(sentence)
    assert [s["gloss"] for s in json.loads(got["transcribed"])["segments"]] == [s.gloss for s in transcript.segments]


def test_a_landmark_model_with_the_face_and_motion_exports_and_extracts_the_face(
    clips: list[Path], tmp_path: Path
) -> None:
    """Face points and displacements through the whole path: the folder asks for the face, the
    recognizer extracts it from the real clips, and the ONNX file (time dynamic) agrees with torch."""
    features = FeatureConfig(face=True)
    torch.manual_seed(0)
    options = {"dim": 32, "depth": 1, "heads": 2, "motion": 2, **features.model_config()}
    model = create_model("pose_transformer", 4, **options)
    extraction = ExtractionSettings(include_face=True, frame_rate=12.5)
    config = model_config_json("pose_transformer", options, features, 4, {}, extraction)
    folder = save_model_folder(model, tmp_path / "face", config, {"labels.json": '["a", "b", "c", "d"]'}, "card")
    recognizer = Recognizer.from_pretrained(str(folder))
    assert recognizer.extractor.settings.include_face
    batch = recognizer.model_inputs(recognizer.prepare(clips))
    assert batch[0].shape[2] == 143 and batch[1][..., 67:][batch[2]].float().mean() > 0.9  # the face is found
    report = export_model(str(folder), clips, tmp_path / "face.onnx")
    assert report.verification.top1_agreement == 1.0 and report.verification.max_abs_difference < 1e-4
    assert torch.allclose(OnnxModel(report.out)(*batch), recognizer.loaded.model(*batch).detach(), atol=1e-4)


def test_export_without_a_clip_is_verified_on_made_up_examples_and_says_so(tmp_path: Path) -> None:
    out = tmp_path / "t16.onnx"
    result = runner.invoke(app, ["export", "traduttore16", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "on 2 made-up examples (give --clip to check real ones)" in result.output
    assert "top-1 agreement 100%" in result.output
    assert OnnxModel(out).metadata()[1] == Recognizer.from_pretrained("traduttore16").labels


def test_what_cannot_be_exported_or_loaded_says_why(
    exported: dict[str, Path], clips: list[Path], tmp_path: Path
) -> None:
    result = runner.invoke(app, ["export", "default", f"--clip={clips[0]}", "--out", str(tmp_path / "m.txt")])
    assert result.exit_code == 2 and "must end in .onnx" in result.output
    result = runner.invoke(app, ["export", "default", f"--clip={clips[0]}", "--format", "coreml", "--out", "m.onnx"])
    assert result.exit_code == 2 and "must be one of onnx, tflite" in result.output
    result = runner.invoke(app, ["export", "default", f"--clip={clips[0]}", "--format", "tflite", "--out", "m.onnx"])
    assert result.exit_code == 2 and "--out must end in .tflite" in result.output
    recognizer = Recognizer.from_pretrained("default")
    with pytest.raises(ValueError, match="at least 2 clips"):
        export_onnx(recognizer.loaded, recognizer.model_inputs(recognizer.prepare(clips[:1])), tmp_path / "a.onnx")
    (tmp_path / "broken.onnx").write_bytes(b"not a model")
    with pytest.raises(InputFileError, match=r"broken\.onnx.*not a readable ONNX model"):
        Recognizer.from_pretrained(tmp_path / "broken.onnx")
    from signscribe.inference import Translator

    with pytest.raises(SignscribeError, match="recognition model, not a translation model"):
        Translator.from_pretrained(exported["fp32"])
    with pytest.raises(SignscribeError, match="only PyTorch models export"):
        export_model(str(exported["fp32"]), clips[:2], tmp_path / "again.onnx")
