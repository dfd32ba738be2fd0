"""``signscribe tune``: hyper-parameter search with Optuna."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from signscribe.cli import options as option
from signscribe.cli import terminal
from signscribe.cli.base import command, wrote
from signscribe.cli.terminal import console
from signscribe.training.config import DataOptions


@command()
@option.offers(DataOptions)
def tune(
    space: Annotated[Path, typer.Option(help="The search space: JSON or TOML, a parameter per train option.")],
    data: option.Data = None,
    config: option.Config = None,
    model: option.Family = None,
    epochs: option.PositiveInt = None,
    trials: Annotated[int, typer.Option(min=1, help="Trials in all (a resumed study counts those it holds).")] = 20,
    sampler: Annotated[str, typer.Option(help="tpe or random.")] = "tpe",
    pruner: Annotated[str, typer.Option(help="hyperband, median or none.")] = "hyperband",
    storage: Annotated[
        str | None, typer.Option(help="Optuna storage, e.g. sqlite:///tune.db (resumable); default: in memory.")
    ] = None,
    study_name: Annotated[str, typer.Option(help="The study's name in --storage.")] = "signscribe",
    workers: Annotated[
        int, typer.Option(min=1, help="Trials at once, in processes sharing the study through --storage.")
    ] = 1,
    ray: option.Ray = None,
    out: option.OutFolder = Path("tune"),
    *,
    data_options: dict[str, Any],
) -> None:
    """Search train's options over --space with Optuna.

    Each trial trains into --out/trial_NNN and is
    pruned on its validation top-1; prints the best parameters and writes best_config.json (for
    train --config), trials.csv, optimization_history.png and param_importances.png.

    --workers N runs N trials at once, sharing the study (default storage: --out/study.db); with --ray
    they are Ray tasks on the cluster. The same command with the same --storage and --study-name on
    other machines (PostgreSQL) joins the study."""
    from signscribe.training.config import TrainConfig
    from signscribe.training.tune import PRUNERS, SAMPLERS, read_space
    from signscribe.training.tune import tune as run

    option.check_choice(sampler, SAMPLERS, "--sampler")
    option.check_choice(pruner, PRUNERS, "--pruner")
    base = TrainConfig.from_options(config, **locals(), **data_options)
    if not base.data:
        raise ValueError("give --data KIND:PATH (or data in --config)")
    with terminal.progress() as bars:
        result = run(base, read_space(space), out, trials, sampler, pruner, storage, study_name,
                     log=bars.console.print, workers=workers, cluster=ray)  # fmt: skip
    console.print(f"best trial {result.best_trial} of {result.finished}: val top-1 {result.best_value:.4f}")
    for name, value in result.best_params.items():
        console.print(f"  {name} = {value!r}", highlight=False)
    wrote(result.config)
