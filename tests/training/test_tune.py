"""``signscribe tune``: Optuna trials of ``train`` on real traduttore landmarks, pruned, resumed from
their SQLite storage, with a best config that ``train --config`` accepts."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import traduttore_csv
from signscribe.cli import app
from signscribe.errors import InputFileError
from signscribe.training.tune import read_space

runner = CliRunner()
LABELS = ("hello", "thank-you", "no", "water")
SPACE = """
lr = {type = "float", low = 1e-4, high = 1e-2, log = true}
batch = {type = "categorical", choices = [8, 16]}
"model_config.dim" = {type = "int", low = 16, high = 48, step = 16}
"""


@pytest.fixture(scope="module")
def landmarks_csv(keypoints_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 real traduttore labels x 12 sequences of two signers, as a csv: dataset."""
    return traduttore_csv(keypoints_archive, tmp_path_factory.mktemp("tune") / "small.csv", LABELS, 6)


def _tune(landmarks_csv: Path, tmp_path: Path, trials: int, *extra: str) -> str:
    (tmp_path / "space.toml").write_text(SPACE)
    (tmp_path / "base.json").write_text(json.dumps({"model_config": {"depth": 1, "heads": 2}, "epochs": 4}))
    args = ["tune", "--data", f"csv:{landmarks_csv}", "--config", tmp_path / "base.json", "--space",
            tmp_path / "space.toml", "--trials", trials, "--pruner", "median", "--storage",
            f"sqlite:///{tmp_path / 'tune.db'}", "--out", tmp_path / "out", *extra]  # fmt: skip
    result = runner.invoke(app, [str(arg) for arg in args])
    assert result.exit_code == 0, result.output
    return result.output


def _trials(tmp_path: Path) -> list[dict[str, str]]:
    with (tmp_path / "out" / "trials.csv").open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


@pytest.mark.slow
def test_six_pruned_trials_resume_from_storage_and_the_best_config_trains(landmarks_csv: Path, tmp_path: Path) -> None:
    _tune(landmarks_csv, tmp_path, 4)
    assert len(_trials(tmp_path)) == 4
    printed = _tune(landmarks_csv, tmp_path, 6)  # resumed: two more trials, not six
    trials = _trials(tmp_path)
    assert [int(row["number"]) for row in trials] == list(range(6))
    assert {row["state"] for row in trials} <= {"COMPLETE", "PRUNED"} and "PRUNED" in {row["state"] for row in trials}
    best = max((row for row in trials if row["state"] == "COMPLETE"), key=lambda row: float(row["val_top1"]))
    assert f"best trial {best['number']} of 6" in printed
    config = json.loads((tmp_path / "out" / "best_config.json").read_text())
    params = json.loads(best["params"])
    assert config["lr"] == params["lr"] and config["model_config"]["dim"] == params["model_config.dim"]
    assert (tmp_path / "out" / "optimization_history.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "out" / "param_importances.png").read_bytes().startswith(b"\x89PNG")
    trained = runner.invoke(app, ["train", "--config", str(tmp_path / "out" / "best_config.json"), "--epochs", "1",
                                  "--out", str(tmp_path / "again")])  # fmt: skip
    assert trained.exit_code == 0, trained.output


@pytest.mark.slow
def test_two_workers_share_one_study(landmarks_csv: Path, tmp_path: Path) -> None:
    import optuna

    _tune(landmarks_csv, tmp_path, 5, "--workers", "2")
    trials = _trials(tmp_path)
    assert [int(row["number"]) for row in trials] == list(range(5))  # no trial twice, none beyond the budget
    assert {row["state"] for row in trials} <= {"COMPLETE", "PRUNED"}
    study = optuna.load_study(study_name="signscribe", storage=f"sqlite:///{tmp_path / 'tune.db'}")
    processes = [trial.user_attrs["process"] for trial in study.trials]
    assert len(set(processes[1:])) == 2 and processes[0] not in processes[1:]  # the first here, then two workers
    assert len(list((tmp_path / "out").glob("trial_*"))) == 5


@pytest.mark.slow
def test_ray_tasks_share_one_study(landmarks_csv: Path, tmp_path: Path) -> None:
    import optuna

    ray = pytest.importorskip("ray", reason="Ray is the [ray] extra")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        printed = _tune(landmarks_csv, tmp_path, 4, "--workers", "2", "--ray", "auto")
    finally:
        ray.shutdown()
    assert "4 trials in 2 Ray task(s) of 1 core(s)" in printed
    trials = _trials(tmp_path)
    assert [int(row["number"]) for row in trials] == list(range(4)) and {row["state"] for row in trials} <= {
        "COMPLETE", "PRUNED"}  # fmt: skip
    study = optuna.load_study(study_name="signscribe", storage=f"sqlite:///{tmp_path / 'tune.db'}")
    assert len({trial.user_attrs["process"] for trial in study.trials}) == 2  # two tasks, none here


def test_a_bad_search_space_names_the_key(tmp_path: Path) -> None:
    cases = {
        'lrr = {type = "float", low = 0.1, high = 1.0}': "lrr: not a train option",
        'lr = {type = "gauss", low = 0.1, high = 1.0}': "lr: needs type one of float, int, categorical",
        'lr = {type = "float", low = 1.0, high = 0.1}': "lr: needs numbers low < high",
        'lr = {type = "float", low = 0.1, high = "1"}': "lr: needs numbers low < high",
        'batch = {type = "categorical"}': "batch: a categorical parameter needs choices",
        '"epochs.x" = {type = "int", low = 1, high = 2}': "epochs.x: not a train option",
    }
    for text, message in cases.items():
        (tmp_path / "space.toml").write_text(text)
        with pytest.raises(InputFileError, match=message):
            read_space(tmp_path / "space.toml")
