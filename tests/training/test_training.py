from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from conftest import traduttore_csv
from signscribe.data import open_dataset, read_mp_data
from signscribe.data.dataset import Sample
from signscribe.errors import InputFileError, SignscribeError
from signscribe.training import TrainConfig, train
from signscribe.training.loop import epoch_batches
from signscribe.training.splits import signer_folds, signer_split, stratified_split

LABELS = ("hello", "thank-you", "no", "water", "-", "i")
TINY = {"dim": 32, "depth": 1, "heads": 2}


@pytest.fixture(scope="session")
def small_real_csv(keypoints_archive: Path, tmp_path_factory) -> Path:
    """6 real traduttore labels x 20 sequences (10 from each of two signers), as a csv: dataset."""
    return traduttore_csv(keypoints_archive, tmp_path_factory.mktemp("small") / "small.csv", LABELS, 10)


def _config(table: Path, **changes) -> TrainConfig:
    options = {"data": f"csv:{table}", "model_config": TINY, "epochs": 4, "batch": 16, "lr": 3e-3, "seed": 3,
               "warmup_epochs": 0.5, "patience": 0}  # fmt: skip
    return TrainConfig(**{**options, **changes})


def test_training_loss_falls_and_beats_chance(small_real_csv: Path, tmp_path: Path) -> None:
    result = train(_config(small_real_csv, epochs=6), tmp_path / "run")
    history = result.history
    assert len(history) == 6
    assert history[-1]["train_loss"] < 0.8 * history[0]["train_loss"]
    assert result.best["val_top1"] > 2 / len(LABELS)  # chance is 1/6
    out = tmp_path / "run"
    for name in ("model.safetensors", "config.json", "labels.json", "model_card.md", "history.csv", "curves.png"):
        assert (out / name).is_file(), name
    rows = list(csv.DictReader((out / "history.csv").open()))
    assert list(rows[0]) == [
        "epoch",
        "lr",
        "train_loss",
        "train_top1",
        "train_top5",
        "val_loss",
        "val_top1",
        "val_top5",
    ]
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(json.loads((out / "labels.json").read_text())) == sorted(LABELS)
    # checkpoints hold no pickle: safetensors and JSON only
    assert sorted(p.name for p in (out / "checkpoint").iterdir()) == [
        "model.safetensors",
        "optimizer.safetensors",
        "state.json",
    ]
    assert load_file(out / "checkpoint" / "optimizer.safetensors")


def test_training_is_deterministic_and_resume_continues_exactly(small_real_csv: Path, tmp_path: Path) -> None:
    whole = train(_config(small_real_csv), tmp_path / "whole")
    again = train(_config(small_real_csv), tmp_path / "again")
    assert again.history == whole.history

    def interrupt_after_two(row: dict) -> None:
        if row["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(_config(small_real_csv), tmp_path / "split", on_epoch=interrupt_after_two)
    resumed = train(_config(small_real_csv), tmp_path / "split", resume=True)
    assert resumed.history == whole.history
    whole_weights = load_file(tmp_path / "whole" / "checkpoint" / "model.safetensors")
    resumed_weights = load_file(tmp_path / "split" / "checkpoint" / "model.safetensors")
    assert all((whole_weights[k] == resumed_weights[k]).all() for k in whole_weights)


def test_resume_refuses_changed_options_and_overwrite(small_real_csv: Path, tmp_path: Path) -> None:
    train(_config(small_real_csv, epochs=1), tmp_path / "run")
    with pytest.raises(SignscribeError, match="holds a previous run"):
        train(_config(small_real_csv, epochs=1), tmp_path / "run")
    with pytest.raises(SignscribeError, match=r"cannot resume with changed options \['lr'\]"):
        train(_config(small_real_csv, lr=1e-2), tmp_path / "run", resume=True)
    with pytest.raises(SignscribeError, match="no checkpoint to resume from"):
        train(_config(small_real_csv), tmp_path / "fresh", resume=True)


def test_signer_split_for_training(small_real_csv: Path, tmp_path: Path) -> None:
    result = train(_config(small_real_csv, epochs=1, split_by="signer", holdout_signer="1"), tmp_path / "run")
    card = (tmp_path / "run" / "model_card.md").read_text()
    assert "held-out signer 1" in card and "training sequences 60, validation sequences 60" in card
    assert result.history[0]["val_top1"] >= 0


def test_signer_folds_of_wlasl100_are_disjoint_and_balanced(wlasl100_csv: Path) -> None:
    from collections import Counter

    samples = open_dataset(f"csv:{wlasl100_csv}").samples
    counts = Counter(s.signer for s in samples)
    folds = signer_folds(samples, 5, seed=0)
    assert len(folds) == 5 and set().union(*folds) == set(counts) and sum(map(len, folds)) == len(counts)
    sizes = [sum(counts[signer] for signer in fold) for fold in folds]
    assert sum(sizes) == len(samples) == 1780
    assert max(sizes) - min(sizes) <= max(counts.values())  # no fold larger than another by a signer's clips
    assert signer_folds(samples, 5, seed=0) == folds and signer_folds(samples, 5, seed=1) != folds
    with pytest.raises(ValueError, match="between 2 and 96"):
        signer_folds(samples, 97)
    with pytest.raises(ValueError, match="need a signer for every sample"):
        signer_folds([Sample("x", Path("x.mp4"), "a")], 2)


def test_splits() -> None:
    samples = [Sample(f"{label}{i}", Path("x"), label, signer=str(i % 3)) for label in "abc" for i in range(10)]
    train_part, val_part = stratified_split(samples, 0.2, seed=0)
    assert len(val_part) == 6 and {s.label for s in val_part} == {"a", "b", "c"}
    assert stratified_split(samples, 0.2, seed=0) == (train_part, val_part)
    train_part, val_part = signer_split(samples, 0.3, seed=0)
    assert not {s.signer for s in train_part} & {s.signer for s in val_part}
    train_part, val_part = signer_split(samples, 0.3, seed=0, holdout="2")
    assert {s.signer for s in val_part} == {"2"}
    with pytest.raises(ValueError, match="signer '9' is not in the data"):
        signer_split(samples, 0.3, seed=0, holdout="9")
    with pytest.raises(ValueError, match="needs a signer for every sample"):
        signer_split([Sample("x", Path("x"), "a")], 0.3, seed=0)


def test_empty_dataset_is_a_clear_error(tmp_path: Path) -> None:
    table = tmp_path / "empty.csv"
    table.write_text("path,label\nmissing/a.mp4,hello\n")
    with pytest.raises(SignscribeError, match=r"empty.csv: the dataset has no samples with media \(1 missing\)"):
        train(_config(table), tmp_path / "run")


def test_config_files(tmp_path: Path, small_real_csv: Path) -> None:
    toml = tmp_path / "train.toml"
    toml.write_text(f'data = "csv:{small_real_csv}"\nepochs = 3\n[model_config]\ndim = 32\n')
    config = TrainConfig.from_file(toml, epochs=5, lr=None)
    assert (config.epochs, config.model_config, config.lr) == (5, {"dim": 32}, 1e-3)
    bad = tmp_path / "bad.json"
    bad.write_text('{"epochs": 3, "colour": "red"}')
    with pytest.raises(InputFileError, match=r"unknown option\(s\) \['colour'\]"):
        TrainConfig.from_file(bad)
    bad.write_text("{epochs: 3")
    with pytest.raises(InputFileError, match="not a valid json config"):
        TrainConfig.from_file(bad)
    with pytest.raises(ValueError, match="split_by must be"):
        TrainConfig(split_by="age")


def test_train_cli_on_a_folder_of_pose_files_and_resume(keypoints_archive: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from signscribe.cli import app
    from signscribe.pose import load_mp_sequence, save_pose

    data = read_mp_data(keypoints_archive)
    poses = tmp_path / "poses"
    for sample in data.samples:
        label, sequence = sample.id.split("/")
        if label in LABELS[:4] and int(sequence) % 10 == 0:
            save_pose(load_mp_sequence(sample.path), poses / label / f"{sequence}.pose")
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({"model": "stgcn", "model_config": {"widths": [16, 16]}, "batch": 8, "patience": 0}))
    runner = CliRunner()
    arguments = ["train", "--data", f"poses:{poses}", "--config", str(config), "--out", str(tmp_path / "run")]
    first = runner.invoke(app, [*arguments, "--epochs", "1"])
    assert first.exit_code == 0, first.output
    assert "epoch 1: train loss" in first.output and "model folder" in first.output
    again = runner.invoke(app, [*arguments, "--epochs", "1"])
    assert again.exit_code == 2 and "pass --resume" in again.output
    resumed = runner.invoke(app, [*arguments, "--epochs", "2", "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert "epoch 2: train loss" in resumed.output and "epoch 1: train loss" not in resumed.output
    assert len(list(csv.DictReader((tmp_path / "run" / "history.csv").open()))) == 2


def test_moving_average_and_new_options_resume_exactly(small_real_csv: Path, tmp_path: Path) -> None:
    augmentation = {"hand_drop_probability": 0.1, "crop_range": 0.2, "hand_rotation_degrees": 10}
    options = {"ema_decay": 0.9, "features": {"fill_gaps": 3, "dominant_hand": True}, "augmentation": augmentation,
               "bucket_by_length": True, "model_config": {**TINY, "motion": 2}}  # fmt: skip
    whole = train(_config(small_real_csv, **options), tmp_path / "whole")

    def interrupt_after_two(row: dict) -> None:
        if row["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(_config(small_real_csv, **options), tmp_path / "split", on_epoch=interrupt_after_two)
    assert (tmp_path / "split" / "checkpoint" / "averaged.safetensors").is_file()
    assert train(_config(small_real_csv, **options), tmp_path / "split", resume=True).history == whole.history
    saved = json.loads((tmp_path / "whole" / "config.json").read_text())
    assert saved["features"]["fill_gaps"] == 3 and saved["features"]["dominant_hand"] is True
    # the model folder holds the averaged weights, the checkpoint the trained ones
    folder, own = (
        load_file(tmp_path / "whole" / name) for name in ("model.safetensors", "checkpoint/model.safetensors")
    )
    assert any(not (folder[k] == own[k]).all() for k in folder)
    with pytest.raises(ValueError, match=r"augmentation: .*unexpected keyword argument 'wobble'"):
        train(_config(small_real_csv, augmentation={"wobble": 1}), tmp_path / "bad")
    with pytest.raises(ValueError, match=r"features: .*the landmarks input takes channels"):
        train(_config(small_real_csv, features={"colour": 1}), tmp_path / "bad2")


def test_batches_by_length_cover_the_epoch_once_and_pad_less() -> None:
    lengths = [int(n) for n in np.random.default_rng(0).integers(10, 80, size=1442)]
    order = torch.randperm(1442, generator=torch.Generator().manual_seed(1)).tolist()
    plain = epoch_batches(order, 32, None, torch.Generator().manual_seed(2))
    bucketed = epoch_batches(order, 32, lengths, torch.Generator().manual_seed(2))
    assert len(bucketed) == len(plain) == 46 and sorted(i for rows in bucketed for i in rows) == list(range(1442))

    def padded(batches: list[list[int]]) -> int:
        return sum(max(lengths[i] for i in rows) * len(rows) for rows in batches)

    assert padded(bucketed) < 0.7 * padded(plain)
    assert bucketed != epoch_batches(order, 32, lengths, torch.Generator().manual_seed(3))  # shuffled batches


def test_bf16_with_gradient_accumulation_trains_on_the_cpu(small_real_csv: Path, tmp_path: Path) -> None:
    """Mixed precision (bf16 autocast works on the CPU too) and gradients of 2 batches a step."""
    result = train(_config(small_real_csv, epochs=3, device="cpu", precision="bf16", accumulate=2), tmp_path / "run")
    losses = [row["train_loss"] for row in result.history]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert json.loads((tmp_path / "run" / "train_config.json").read_text())["precision"] == "bf16"


def test_missing_devices_are_clear_errors(small_real_csv: Path, tmp_path: Path, both_hands_clip: Path) -> None:
    from typer.testing import CliRunner

    from signscribe.cli import app
    from signscribe.devices import DeviceError, resolve_device

    assert resolve_device("auto") == resolve_device("cpu") or torch.cuda.is_available()
    runner = CliRunner()
    if not torch.cuda.is_available():
        for command in (
            ["recognize", str(both_hands_clip), "--device", "cuda"],
            ["train", "--data", f"csv:{small_real_csv}", "--device", "cuda", "--out", str(tmp_path / "gpu")],
        ):
            result = runner.invoke(app, command)
            assert result.exit_code == 2 and "sees no CUDA GPU on this machine" in result.output, result.output
        assert not (tmp_path / "gpu").exists()
        with pytest.raises(DeviceError, match="fp16 needs a CUDA GPU"):
            train(_config(small_real_csv, precision="fp16"), tmp_path / "fp16")
    with pytest.raises(DeviceError, match="--device must be one of auto, cpu, cuda, mps"):
        resolve_device("tpu")
