"""Hyper-parameter search with Optuna (``signscribe tune``): trials of ``train`` with parameters drawn
from a search space, pruned on their validation top-1 epoch by epoch, kept in a study whose storage
(``sqlite:///tune.db``) lets an interrupted search resume.

The search space is a JSON or TOML file, a parameter per key, named like ``train``'s options (a dot
reaches into ``model_config``, ``features`` or ``augmentation``)::

    lr = {type = "float", low = 1e-4, high = 3e-3, log = true}
    batch = {type = "categorical", choices = [16, 32]}
    "model_config.dim" = {type = "int", low = 64, high = 256, step = 64}

Each trial trains into ``OUT/trial_NNN``; the search writes ``best_config.json`` (the base config with
the best trial's parameters, for ``train --config``), ``trials.csv``, and the plots
``optimization_history.png`` and ``param_importances.png``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from signscribe.cluster import run_tasks, task_cores
from signscribe.errors import InputFileError, SignscribeError
from signscribe.files import write_csv_atomic, write_text_atomic
from signscribe.processes import spawn_pool, worker_failures
from signscribe.training.config import TrainConfig
from signscribe.training.outline import fill_pose_cache
from signscribe.training.recognition import RecognitionTask, train

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SAMPLERS = ("tpe", "random")
PRUNERS = ("hyperband", "median", "none")
KINDS = ("float", "int", "categorical")
NESTED = ("model_config", "features", "augmentation")
METRIC = "val_top1"


@dataclass(frozen=True)
class Parameter:
    """One searched option: ``float`` or ``int`` in ``[low, high]`` (``log`` scale, ``step``), or one
    of ``choices``."""

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: Any) -> Any:
        if self.kind == "categorical":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind == "int":
            step = int(self.step or 1)
            return trial.suggest_int(self.name, int(self.low), int(self.high), step=step, log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)


def read_space(path: str | Path) -> list[Parameter]:
    """The parameters of a JSON or TOML search space; a bad entry is an error naming the file and key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        values = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except OSError as error:
        raise InputFileError(path, f"cannot read the search space ({error.strerror})") from error
    except (ValueError, tomllib.TOMLDecodeError) as error:
        raise InputFileError(path, f"not valid {'TOML' if path.suffix == '.toml' else 'JSON'} ({error})") from error
    if not isinstance(values, dict) or not values:
        raise InputFileError(path, "a search space maps option names to {type, low, high} or {type, choices}")
    known = set(TrainConfig.__dataclass_fields__)
    space = []
    for name, spec in values.items():
        root = name.split(".")[0]
        if root not in known or ("." in name and root not in NESTED):
            raise InputFileError(path, f"{name}: not a train option (nested keys go in {', '.join(NESTED)})")
        if not isinstance(spec, dict) or spec.get("type") not in KINDS:
            raise InputFileError(path, f"{name}: needs type one of {', '.join(KINDS)}")
        kind = spec["type"]
        if kind == "categorical" and not spec.get("choices"):
            raise InputFileError(path, f"{name}: a categorical parameter needs choices")
        bounds = (spec.get("low"), spec.get("high"))
        if kind != "categorical" and not (
            all(isinstance(bound, (int, float)) for bound in bounds) and bounds[0] < bounds[1]
        ):
            raise InputFileError(path, f"{name}: needs numbers low < high")
        extra = set(spec) - {"type", "low", "high", "log", "step", "choices"}
        if extra:
            raise InputFileError(path, f"{name}: unknown keys {sorted(extra)}")
        space.append(Parameter(name, kind, spec.get("low"), spec.get("high"), bool(spec.get("log", False)),
                               spec.get("step"), tuple(spec.get("choices", ()))))  # fmt: skip
    return space


def with_parameters(base: TrainConfig, values: dict[str, Any]) -> TrainConfig:
    """``base`` with the trial's values (dotted names go into the nested option)."""
    options = base.to_dict()
    for name, value in values.items():
        root, _, key = name.partition(".")
        if key:
            options[root] = {**options[root], key: value}
        else:
            options[root] = value
    return TrainConfig(**options)


@dataclass(frozen=True)
class TuneResult:
    best_value: float
    best_params: dict[str, Any]
    best_trial: int
    finished: int  # trials that completed or were pruned
    config: Path


def _sampler(name: str, seed: int) -> Any:
    import optuna

    return optuna.samplers.TPESampler(seed=seed) if name == "tpe" else optuna.samplers.RandomSampler(seed=seed)


def _pruner(name: str, epochs: int) -> Any:
    import optuna

    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=epochs, reduction_factor=3)
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
    return optuna.pruners.NopPruner()


def _plots(study: Any, out: Path) -> list[Path]:
    """The optimisation history and, with two finished trials or more, the parameters' importances."""
    import matplotlib
    import optuna

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as plots

    written = []
    drawings = {"optimization_history.png": plots.plot_optimization_history}
    if len([t for t in study.trials if t.value is not None]) >= 2:
        drawings["param_importances.png"] = plots.plot_param_importances
    for name, draw in drawings.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # optuna's matplotlib plots
            try:
                axes = draw(study)
            except (ValueError, RuntimeError):  # importances of parameters that never varied
                continue
        axes.figure.savefig(out / name, dpi=100, bbox_inches="tight")
        plt.close(axes.figure)
        written.append(out / name)
    return written


@dataclass(frozen=True)
class _Search:
    """What every process of a search needs to run its trials (picklable, for ``workers``)."""

    base: TrainConfig
    space: list[Parameter]
    out: Path
    sampler: str
    pruner: str
    storage: str | None
    study_name: str

    def study(self) -> Any:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        logging.getLogger("optuna").setLevel(logging.WARNING)
        return optuna.create_study(
            study_name=self.study_name,
            storage=self.storage,
            load_if_exists=True,
            direction="maximize",
            sampler=_sampler(self.sampler, self.base.seed),
            pruner=_pruner(self.pruner, self.base.epochs),
        )

    def run(self, study: Any, log: Callable[[str], None] | None, trials: int, **train_options: Any) -> None:
        """Run ``trials`` trials of the study here."""
        import optuna

        def objective(trial: Any) -> float:
            values = {parameter.name: parameter.suggest(trial) for parameter in self.space}
            config = with_parameters(self.base, values)
            trial.set_user_attr("process", os.getpid())

            def report(row: dict[str, float]) -> None:
                trial.report(row[METRIC], int(row["epoch"]))
                if trial.should_prune():
                    raise optuna.TrialPruned()

            result = train(config, self.out / f"trial_{trial.number:03d}", on_epoch=report, **train_options)
            if log is not None:
                log(f"trial {trial.number}: {METRIC} {result.best[METRIC]:.4f} with {values}")
            return float(result.best[METRIC])

        study.optimize(objective, n_trials=trials)


def _done() -> tuple[Any, ...]:
    """The states of a trial that counts as run: complete or pruned."""
    from optuna.trial import TrialState

    return TrialState.COMPLETE, TrialState.PRUNED


def _worker(search: _Search, threads: int, trials: int) -> None:
    """One more process of the search: ``trials`` trials of the shared study."""
    import torch

    torch.set_num_threads(threads)
    search.run(search.study(), lambda line: print(line, flush=True), trials)


def tune(
    base: TrainConfig,
    space: list[Parameter],
    out: Path,
    trials: int = 20,
    sampler: str = "tpe",
    pruner: str = "hyperband",
    storage: str | None = None,
    study_name: str = "signscribe",
    log: Callable[[str], None] | None = None,
    workers: int = 1,
    cluster: str | None = None,
    **train_options: Any,
) -> TuneResult:
    """Run ``trials`` trials in all (a resumed study counts those it holds) and write the results.

    With ``workers`` above 1, that many processes run trials at once, sharing one study: the first
    trial runs here first (its landmarks extracted into the pose cache by ``workers`` processes), then
    the rest are dealt out among ``workers`` processes. They share the study through ``storage`` (default:
    ``sqlite:///OUT/study.db``; SQLite on one machine, PostgreSQL or MySQL across machines, where the
    same command on each machine joins the study). With ``cluster`` (a Ray address) the landmarks are
    extracted on the cluster first, and the ``workers`` are Ray tasks, each with its share of the cores."""
    try:
        import optuna
    except ImportError as error:
        raise SignscribeError("tune needs optuna: pip install 'signscribe[tune]'") from error
    if sampler not in SAMPLERS or pruner not in PRUNERS:
        raise ValueError(f"sampler must be one of {SAMPLERS} and pruner one of {PRUNERS}")
    if (workers > 1 or cluster is not None) and storage is None:
        out.mkdir(parents=True, exist_ok=True)
        storage = f"sqlite:///{(out / 'study.db').resolve()}"
    search = _Search(base, space, out, sampler, pruner, storage, study_name)
    study = search.study()
    for stale in study.get_trials(states=(optuna.trial.TrialState.RUNNING,)):  # an interrupted run's
        study.tell(stale.number, state=optuna.trial.TrialState.FAIL)
    remaining = trials - len(study.get_trials(states=_done()))
    if cluster is not None and remaining > 0:
        fill_pose_cache(RecognitionTask, base, workers, cluster)
    elif remaining > 0:
        search.run(study, log, 1 if workers > 1 else remaining, workers=workers, **train_options)
        remaining -= 1 if workers > 1 else remaining
    if (workers > 1 or cluster is not None) and remaining > 0:  # dealt out: no worker can overshoot the budget
        shares = [share for index in range(workers) if (share := remaining // workers + (index < remaining % workers))]
        if cluster is not None:
            cores = task_cores(cluster, len(shares))
            if log is not None:
                log(f"{remaining} trials in {len(shares)} Ray task(s) of {cores} core(s), sharing {storage}")
            run_tasks(cluster, _worker, [(search, cores, share) for share in shares], cores)
        else:
            threads = max(1, (os.cpu_count() or 1) // workers)
            with worker_failures(), spawn_pool(workers) as pool:
                for future in [pool.submit(_worker, search, threads, share) for share in shares]:
                    future.result()
    finished = study.get_trials(states=_done())
    best = study.best_trial
    out.mkdir(parents=True, exist_ok=True)
    config_path = out / "best_config.json"
    write_text_atomic(config_path, json.dumps(with_parameters(base, best.params).to_dict(), indent=2))
    rows = [{"number": t.number, "state": t.state.name, METRIC: t.value, "params": json.dumps(t.params)}
            for t in study.trials]  # fmt: skip
    write_csv_atomic(out / "trials.csv", ("number", "state", METRIC, "params"), rows)
    _plots(study, out)
    return TuneResult(float(best.value), dict(best.params), best.number, len(finished), config_path)
