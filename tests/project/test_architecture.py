"""The public face and the recipes of ARCHITECTURE.md: a light ``import signscribe``, the top-level API on a
real clip, a model family, an input kind and a dataset kind added from outside the package, and training
that extracts through the pose cache with parallel workers."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

import signscribe
from signscribe.cli import app
from signscribe.data import Dataset, Sample
from signscribe.data.dataset import partition
from signscribe.models.inputs import InputPipeline, register_input_kind
from signscribe.pose import (
    Clip,
    HolisticExtractor,
    PoseCache,
    PoseSequence,
    load_landmarks,
    load_mp_sequence,
    normalize,
    save_pose,
)

LABELS = ("hello", "thank-you", "no", "water")
# WLASL clips present here, two glosses with two clips each: one to train on, one to validate.
WLASL_PAIRS = {"deaf": ("14882", "14893"), "pants": ("40996", "40986")}


def test_import_signscribe_loads_neither_torch_nor_mediapipe() -> None:
    code = "import sys, signscribe; print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'mediapipe'}))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
    importtime = subprocess.run([sys.executable, "-X", "importtime", "-c", "import signscribe"],
                                capture_output=True, text=True, check=True)  # fmt: skip
    assert "signscribe" in importtime.stderr and "torch" not in importtime.stderr
    assert "mediapipe" not in importtime.stderr
    assert {"Recognizer", "load_pretrained", "extract_poses", "train", "PoseSequence"} <= set(dir(signscribe))
    with pytest.raises(AttributeError, match="no attribute 'Recogniser'"):
        signscribe.Recogniser  # noqa: B018


def test_the_public_face_recognises_a_real_clip(both_hands_clip: Path, tmp_path: Path) -> None:
    predictions = signscribe.Recognizer.from_pretrained("default").predict(both_hands_clip)
    assert len(predictions) == 5 and predictions[0].confidence >= predictions[-1].confidence
    summary = signscribe.extract_poses([str(both_hands_clip)], tmp_path / "poses")  # paths as text are paths
    assert summary.done == 1 and (tmp_path / "poses" / "01586.pose").is_file()
    loaded = signscribe.load_pretrained("default")
    assert (loaded.task, loaded.input_kind, loaded.architecture) == ("recognition", "landmarks", "ensemble")
    assert len(loaded.labels) == 100 and loaded.path == signscribe.load_pretrained("wlasl100").path


@pytest.fixture(scope="module")
def traduttore_csv(keypoints_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 real traduttore labels x 12 sequences as a csv: dataset with its own train/val split."""
    data = signscribe.open_dataset(f"mp_data:{keypoints_archive}")
    chosen = [s for s in data.samples if s.label in LABELS and int(s.id.split("/")[1]) % 90 < 12]
    path = tmp_path_factory.mktemp("traduttore") / "four.csv"
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["path", "label", "split"])
        writer.writerows([s.path, s.label, "val" if int(s.id.split("/")[1]) % 4 == 0 else "train"] for s in chosen)
    return path


# --- Recipe: add a model family (one model file, one registry line) ---------------------------------------
@signscribe.register_model("test_mean_pool")
class MeanPool(nn.Module):
    """The smallest landmark classifier: the mean of each point over the clip's frames, then a linear layer."""

    def __init__(self, num_classes: int, num_points: int = 67, channels: int = 2) -> None:
        super().__init__()
        self.linear = nn.Linear(num_points * (channels + 1), num_classes)

    def forward(self, points: torch.Tensor, present: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        flags = present.to(points.dtype)[..., None]
        values = torch.cat([points * flags, flags], dim=-1).flatten(2)
        keep = frames[..., None].to(points.dtype)
        return self.linear((values * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1))


def test_a_family_added_outside_the_package_trains_evaluates_and_recognises(
    traduttore_csv: Path, keypoints_archive: Path, tmp_path: Path
) -> None:
    config = signscribe.TrainConfig(data=f"csv:{traduttore_csv}", model="test_mean_pool", epochs=25, batch=8, lr=0.02,
                                    warmup_epochs=0.5, patience=0, augment=False, seed=1)  # fmt: skip
    result = signscribe.train(config, tmp_path / "run")
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    assert result.best["val_top1"] > 0.5  # chance is 1/4
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (saved["architecture"], saved["task"], saved["input_kind"]) == ("test_mean_pool", "recognition", "landmarks")

    recognizer = signscribe.Recognizer.from_pretrained(tmp_path / "run")
    report, failed = signscribe.evaluate(recognizer, f"csv:{traduttore_csv}", split="val")
    assert not failed and report.samples == 12 and report.top_k[1] == pytest.approx(result.best["val_top1"])
    hello = next(s for s in signscribe.open_dataset(f"csv:{traduttore_csv}").samples if s.label == "hello")
    assert recognizer.predict(hello.path, top_k=4)[0].gloss in LABELS  # an MP_Data sequence folder as a clip
    assert {"test_mean_pool"} <= set(signscribe.list_models("recognition"))


# --- Recipe: add an input kind (one pipeline class, registered by name) -----------------------------------
@dataclass
class SpeedBatch:
    speeds: torch.Tensor  # (batch, frames, 2): the speed of each hand's wrist
    frames: torch.Tensor
    labels: torch.Tensor

    @property
    def inputs(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.speeds, self.frames


@register_input_kind("test_wrist_speed")
class WristSpeed(InputPipeline):
    """Each frame as the speed of the two wrists, in shoulder widths a frame: an input kind of its own."""

    def to_dict(self) -> dict[str, Any]:
        return {}

    def load(self, clip: Any, extractor: HolisticExtractor, on_progress: Any = None) -> PoseSequence:
        return load_landmarks(clip, extractor, on_progress)

    def prepare(self, raw: PoseSequence) -> np.ndarray:
        data = normalize(raw.without_face()).data[:, [15, 16], :2]
        return np.linalg.norm(np.diff(data, axis=0, prepend=data[:1]), axis=-1).astype(np.float32)

    def example(self, prepared: np.ndarray) -> np.ndarray:
        return prepared

    def collate(self, examples: list[np.ndarray], targets: list[int]) -> SpeedBatch:
        length = max(len(e) for e in examples)
        speeds, frames = torch.zeros(len(examples), length, 2), torch.zeros(len(examples), length, dtype=torch.bool)
        for row, example in enumerate(examples):
            speeds[row, : len(example)], frames[row, : len(example)] = torch.from_numpy(example), True
        return SpeedBatch(speeds, frames, torch.tensor(targets))


@signscribe.register_model("test_speed_classifier", input_kind="test_wrist_speed")
class SpeedClassifier(nn.Module):
    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.linear = nn.Linear(4, num_classes)

    def forward(self, speeds: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        keep = frames[..., None].to(speeds.dtype)
        mean = (speeds * keep).sum(1) / keep.sum(1).clamp(min=1)
        return self.linear(torch.cat([mean, speeds.amax(dim=1)], dim=-1))


def test_an_input_kind_added_outside_the_package_feeds_its_family(traduttore_csv: Path, tmp_path: Path) -> None:
    config = signscribe.TrainConfig(data=f"csv:{traduttore_csv}", model="test_speed_classifier", epochs=2, batch=8,
                                    patience=0, augment=False)  # fmt: skip
    signscribe.train(config, tmp_path / "speed")
    loaded = signscribe.load_pretrained(tmp_path / "speed")
    assert loaded.input_kind == "test_wrist_speed" and isinstance(loaded.features, WristSpeed)
    recognizer = signscribe.Recognizer(loaded)
    report, _ = signscribe.evaluate(recognizer, f"csv:{traduttore_csv}", split="val")
    assert report.samples == 12 and sum(map(sum, report.confusion)) == 12


# --- Recipe: add a dataset kind (one reader, registered by name) ------------------------------------------
def _read_glosses(path: Path) -> Dataset:
    """A text file of ``<label> <MP_Data sequence folder>`` lines."""
    lines = [line.split(" ", 1) for line in Path(path).read_text().splitlines() if line.strip()]
    return partition("glosses", Path(path), [Sample(f"{i}", Path(p), label) for i, (label, p) in enumerate(lines)])


signscribe.register_dataset_kind("test_glosses", _read_glosses)


def test_a_dataset_kind_added_outside_the_package_is_read_by_every_command(keypoints_archive: Path,
                                                                           tmp_path: Path) -> None:  # fmt: skip
    data = signscribe.open_dataset(f"mp_data:{keypoints_archive}")
    listing = tmp_path / "two.txt"
    listing.write_text("".join(f"{s.label} {s.path}\n" for s in data.samples if s.label in LABELS[:2]))
    result = CliRunner().invoke(app, ["dataset", "show", f"test_glosses:{listing}"])
    assert result.exit_code == 0 and "180 samples with media, 0 missing, 2 labels" in result.output
    report, _ = signscribe.evaluate(signscribe.Recognizer.from_pretrained("traduttore16"), f"test_glosses:{listing}")
    assert report.samples == 180 and report.top_k[1] > 0.9
    with pytest.raises(ValueError, match="--videos applies to wlasl and how2sign only, not test_glosses"):
        signscribe.open_dataset(f"test_glosses:{listing}", videos=tmp_path)


# --- Training extracts through the pose cache, with parallel workers ---------------------------------------
def test_train_extracts_through_the_pose_cache_with_workers(wlasl_dir: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    table = tmp_path / "four.csv"
    rows = [(wlasl_dir / "clips" / f"{clip}.mp4", label, split)
            for label, clips in WLASL_PAIRS.items() for clip, split in zip(clips, ("train", "val"), strict=True)
    ]  # fmt: skip
    table.write_text("path,label,split\n" + "".join(f"{p},{label},{split}\n" for p, label, split in rows))
    cache = tmp_path / "cache"
    monkeypatch.setenv("SIGNSCRIBE_CACHE_DIR", str(cache))
    tiny = tmp_path / "tiny.json"
    tiny.write_text(json.dumps({"model_config": {"dim": 16, "depth": 1, "heads": 2}, "patience": 0}))
    arguments = ["train", "--data", f"csv:{table}", "--config", str(tiny), "--epochs", "1", "--workers", "2"]
    result = CliRunner().invoke(app, [*arguments, "--out", str(tmp_path / "cli")])
    assert result.exit_code == 0, result.output
    assert "epoch 1: train loss" in result.output and "model folder" in result.output
    assert len(list(cache.rglob("*.pose"))) == 4  # one cache entry per clip, written by the workers

    extractor = HolisticExtractor(cache=PoseCache(cache))
    config = signscribe.TrainConfig.from_file(tiny, data=f"csv:{table}", epochs=1)
    signscribe.train(config, tmp_path / "api", extractor=extractor, workers=2)
    assert (extractor.cache.hits, extractor.cache.misses) == (4, 0)  # the second run extracts nothing


def test_one_function_takes_every_kind_of_clip(keypoints_archive: Path, both_hands_pose: PoseSequence,
                                               tmp_path: Path) -> None:  # fmt: skip
    sequence = signscribe.open_dataset(f"mp_data:{keypoints_archive}").samples[0].path
    from_folder = load_landmarks(sequence)
    assert from_folder.num_frames == 20 and from_folder.source == str(sequence)
    assert load_landmarks(both_hands_pose) is both_hands_pose
    np.testing.assert_array_equal(load_landmarks(both_hands_pose, end_frame=5).data, both_hands_pose.data[:5])
    pose_file = tmp_path / "clip.pose"
    save_pose(both_hands_pose, pose_file)
    clip = Clip(pose_file, start_frame=3, end_frame=10)
    ranged = load_landmarks(clip)
    np.testing.assert_array_equal(ranged.data, both_hands_pose.data[2:10])
    timed = load_landmarks(Clip(pose_file, start_time=0.5, end_time=1.0))
    assert timed.num_frames == round(0.5 * both_hands_pose.fps)
    np.testing.assert_array_equal(load_mp_sequence(sequence).data, from_folder.data)
    np.testing.assert_array_equal(load_landmarks(pose_file, start_frame=3, end_frame=10).data, ranged.data)
    with pytest.raises(ValueError, match="has a range of its own"):
        load_landmarks(clip, start_frame=2)


# --- The layering that ARCHITECTURE.md states ----------------------------------------------------------------
LAYERS = ("io", "pose", "data", "models", "inference", "evaluation", "training", "export", "serving", "cli")
# the base modules: they import only each other, and anyone may import them
BASE = {"cluster", "devices", "errors", "files", "lazy", "native_log", "processes", "progress", "version"}


def _imported_layers(path: Path) -> set[str]:
    """The top-level parts of signscribe that a module imports (``import`` and ``from ... import``)."""
    import ast

    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("signscribe."):
            names.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            names.update(a.name.split(".")[1] for a in node.names if a.name.startswith("signscribe."))
    return names


def test_each_folder_imports_only_the_folders_above_it() -> None:
    package = Path(signscribe.__file__).parent
    rank = {layer: index for index, layer in enumerate(LAYERS)}
    upward = []
    for path in package.rglob("*.py"):
        if path.parent == package and path.stem in ("__init__", "__main__"):
            continue  # the package's face and entry point sit above everything
        layer = path.relative_to(package).parts[0].removesuffix(".py")
        for imported in _imported_layers(path) - BASE - {layer}:
            if layer in BASE or rank[imported] > rank[layer]:
                upward.append(f"{path.relative_to(package)} imports signscribe.{imported}")
    assert not upward, upward


def test_every_file_and_folder_architecture_md_names_exists() -> None:
    """ARCHITECTURE.md names modules by path (``models/inputs/base.py``) or, in a folder's row, by
    name (``parts.py``): each must be in the tree, so the map cannot drift from it unseen."""
    root = Path(__file__).resolve().parents[2]
    package = root / "src" / "signscribe"
    text = (root / "ARCHITECTURE.md").read_text()
    named = set(re.findall(r"`([\w./-]+\.(?:py|js|md|json)|[\w/-]+/)`", text))
    trees = [package, *(root / folder for folder in ("scripts", "benchmarks", "tests", "configs", "docs"))]
    paths = {path.relative_to(root).as_posix() for tree in trees for path in [tree, *tree.rglob("*")]}
    generated = {"static/vendor/"}  # fetched by `signscribe web-assets`, not in a fresh clone

    def exists(name: str) -> bool:  # a path ends where it says: `parts.py`, `models/inputs/base.py`
        return name in generated or any(("/" + path).endswith("/" + name.rstrip("/")) for path in paths)

    missing = [name for name in sorted(named) if not exists(name)]
    assert len(named) > 50 and not missing, missing
