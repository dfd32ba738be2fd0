"""Data-parallel training (``train --nproc 2``: torchrun, gloo on this CPU) on real traduttore landmarks:
two processes sharing each global batch train the model one process trains with that batch (dropout
and augmentation off, the only randomness that depends on how a batch is dealt out), write the same
kind of folder, and resume."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import traduttore_csv
from signscribe.training.distributed import Distributed, without_option

LABELS = ("hello", "thank-you", "no", "water", "i", "-")
# The stated tolerance: the same figures up to float rounding (gradients summed in another order)
LOSS_TOLERANCE = 1e-4


def _train(table: Path, config: Path, out: Path, *extra: str) -> list[dict[str, str]]:
    command = [sys.executable, "-m", "signscribe", "train", "--data", f"csv:{table}", "--config", str(config),
               "--out", str(out), *extra]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    with (out / "history.csv").open(newline="") as file:
        return list(csv.DictReader(file))


def test_two_processes_train_what_one_trains_with_the_same_global_batch(
    keypoints_archive: Path, tmp_path: Path
) -> None:
    table = traduttore_csv(keypoints_archive, tmp_path / "words.csv", LABELS, 8)
    config = tmp_path / "exact.json"
    model = {"dim": 32, "depth": 1, "heads": 2, "dropout": 0.0, "head_dropout": 0.0}
    settings = {"batch": 16, "epochs": 6, "patience": 0, "split_by": "signer", "augment": False}
    config.write_text(json.dumps({"model_config": model, **settings}))
    one = _train(table, config, tmp_path / "one")
    two = _train(table, config, tmp_path / "two", "--nproc", "2")
    assert len(one) == len(two) == 6
    for a, b in zip(one, two, strict=True):
        assert abs(float(a["val_loss"]) - float(b["val_loss"])) < LOSS_TOLERANCE, (a, b)
        assert abs(float(a["train_loss"]) - float(b["train_loss"])) < LOSS_TOLERANCE, (a, b)
        assert a["val_top1"][:6] == b["val_top1"][:6]
    files = {p.name for p in (tmp_path / "one").iterdir()}
    assert files == {p.name for p in (tmp_path / "two").iterdir()} and "model.safetensors" in files

    resumed = _train(table, config, tmp_path / "two", "--nproc", "2", "--epochs", "8", "--resume")
    assert [row["epoch"] for row in resumed] == [str(epoch) for epoch in range(1, 9)]
    assert resumed[:6] == two


def test_a_global_batch_is_dealt_out_to_every_process() -> None:
    batch = [7, 3, 9, 1, 4]
    parts = [Distributed(rank, 2).share(batch) for rank in range(2)]
    assert parts == [[7, 9, 4], [3, 1]] and sorted(parts[0] + parts[1]) == sorted(batch)
    assert Distributed(2, 3).share([5, 6]) == [5]  # a batch smaller than the processes: every one takes part
    assert without_option(["--data", "x", "--nproc", "2", "--nproc=3", "--out", "o"], "--nproc") == [
        "--data", "x", "--out", "o"]  # fmt: skip


@pytest.mark.parametrize("variables", [{}, {"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"}])
def test_a_process_reads_its_place_from_torchrun(monkeypatch: pytest.MonkeyPatch, variables: dict[str, str]) -> None:
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    place = Distributed.from_environment()
    assert (place.active, place.main) == ((True, False) if variables else (False, True))
