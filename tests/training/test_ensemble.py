"""An ensemble of seeds (``train --seeds``) on real traduttore landmarks: a member a seed, all on one
validation split, combined into one folder; a re-run with ``--resume`` trains nothing again; on a
Ray cluster the members are tasks that train what they train here."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import traduttore_csv
from signscribe.cli import app
from signscribe.inference import Recognizer
from signscribe.training.config import TrainConfig
from signscribe.training.ensemble import member_folder, train_ensemble

LABELS = ("hello", "thank-you", "water", "no")
MODEL = {"dim": 32, "depth": 1, "heads": 2}
SETTINGS = {"batch": 16, "epochs": 3, "patience": 0, "augment": False}


@pytest.fixture(scope="module")
def table(keypoints_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return traduttore_csv(keypoints_archive, tmp_path_factory.mktemp("words") / "words.csv", LABELS, 6)


def _history(folder: Path) -> list[dict[str, str]]:
    with (folder / "history.csv").open(newline="") as file:
        return list(csv.DictReader(file))


def test_seeds_train_members_on_one_split_and_combine_them(table: Path, tmp_path: Path) -> None:
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({"model_config": MODEL, **SETTINGS}))
    out = tmp_path / "ensemble"
    command = [
        "train",
        "--data",
        f"csv:{table}",
        "--config",
        str(config),
        "--out",
        str(out),
        "--seeds",
        "3",
        "--seeds",
        "4",
    ]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    assert "ensemble of 2 seeds" in result.output
    members = [member_folder(out, seed) for seed in (3, 4)]
    saved = [json.loads((folder / "train_config.json").read_text()) for folder in members]
    assert [s["seed"] for s in saved] == [3, 4] and {s["split_seed"] for s in saved} == {3}  # one split
    assert _history(members[0]) != _history(members[1])  # two seeds: two different runs
    folder = json.loads((out / "config.json").read_text())
    assert folder["architecture"] == "ensemble" and len(folder["model_config"]["members"]) == 2
    ensemble, alone = Recognizer.from_pretrained(out), [Recognizer.from_pretrained(m) for m in members]
    sample = next(line.split(",")[0] for line in table.read_text().splitlines()[1:])
    clip = Path(sample)
    mean = np.mean([r.scores([clip])[0] for r in alone], axis=0)
    np.testing.assert_allclose(ensemble.scores([clip])[0], mean, atol=1e-5)  # the members' mean

    histories = [_history(m) for m in members]
    again = CliRunner().invoke(app, [*command, "--resume"])
    assert again.exit_code == 0, again.output
    assert [_history(m) for m in members] == histories  # finished members are kept, not trained again


def test_a_member_each_ray_task_trains_what_it_trains_here(table: Path, tmp_path: Path) -> None:
    ray = pytest.importorskip("ray", reason="Ray is the [ray] extra")
    config = TrainConfig(data=f"csv:{table}", model_config=MODEL, **SETTINGS)
    local = train_ensemble(config, tmp_path / "local", [0, 1])
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        on_ray = train_ensemble(config, tmp_path / "ray", [0, 1], cluster="auto")
    finally:
        ray.shutdown()
    for seed in (0, 1):
        here, there = (_history(member_folder(tmp_path / name, seed)) for name in ("local", "ray"))
        assert len(here) == len(there) == SETTINGS["epochs"]
        for a, b in zip(here, there, strict=True):
            assert abs(float(a["val_loss"]) - float(b["val_loss"])) < 1e-3, (a, b)
    assert abs(local.best["val_top1"] - on_ray.best["val_top1"]) < 0.05
