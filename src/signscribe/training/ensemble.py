"""An ensemble of seeds (``train --seeds 0 1 2``): one recipe trained once a seed, each member its own
run in ``OUT/members/seed-N``, then combined into one ``ensemble`` model folder in ``OUT`` that
averages the members' probabilities (``signscribe.models.families.ensemble``).

The members run one after another here, or all at once as Ray tasks (``cluster``), each with its
share of the cores. Their landmarks are extracted into the pose cache once, before any member
starts (on the cluster, when there is one). They share one validation split (``split_seed``, by
default the first seed's split), so the ensemble's validation figure is measured on clips that
no member trained on. A finished member is kept; an interrupted one resumes from its checkpoint
(``resume``). On a cluster of several machines, ``OUT`` and the pose cache must be folders every
node sees.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from signscribe.cluster import run_tasks, task_cores
from signscribe.errors import SignscribeError
from signscribe.evaluation.evaluate import evaluate_samples
from signscribe.inference.recognizer import Recognizer
from signscribe.models.families.ensemble import combine
from signscribe.progress import ProgressHook
from signscribe.training.config import TrainConfig
from signscribe.training.loop import CHECKPOINT, TrainResult
from signscribe.training.outline import fill_pose_cache
from signscribe.training.recognition import RecognitionTask, train
from signscribe.training.splits import split_samples

MEMBERS = "members"


def member_folder(out: Path, seed: int) -> Path:
    return out / MEMBERS / f"seed-{seed}"


def _train_member(config: TrainConfig, out: Path, resume: bool, threads: int | None) -> TrainResult:
    """One member, here or in a Ray task (``threads``: the cores it was given). A member whose run
    has a checkpoint resumes from it when ``resume``."""
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    return train(config, out, resume=resume and (out / CHECKPOINT / "state.json").is_file())


def train_ensemble(
    config: TrainConfig,
    out: Path,
    seeds: list[int],
    cluster: str | None = None,
    resume: bool = False,
    workers: int = 1,
    hook: ProgressHook | None = None,
    log: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train a member of ``config`` for each of ``seeds`` and combine them into the model folder ``out``;
    the result's ``best`` row holds the ensemble's validation top-1 and top-5, its ``history`` a row
    a member (``seed``, ``val_top1``)."""
    if len(set(seeds)) < 2:
        raise SignscribeError(f"an ensemble needs two seeds or more, got {seeds}")
    shared = config if config.split_seed is not None else dataclasses.replace(config, split_seed=seeds[0])
    members = [dataclasses.replace(shared, seed=seed) for seed in seeds]
    fill_pose_cache(RecognitionTask, shared, workers, cluster, hook)
    folders = [member_folder(out, seed) for seed in seeds]
    if cluster is None:
        results = []
        for seed, member, folder in zip(seeds, members, folders, strict=True):
            if log is not None:
                log(f"member seed {seed} into {folder}")
            results.append(_train_member(member, folder, resume, None))
    else:
        cores = task_cores(cluster, len(seeds))
        if log is not None:
            log(f"{len(seeds)} members at once on the Ray cluster, {cores} core(s) each")
        calls: list[tuple[Any, ...]] = [(m, f, resume, cores) for m, f in zip(members, folders, strict=True)]
        results = run_tasks(cluster, _train_member, calls, cores)
    rows = [{"seed": seed, "val_top1": result.best["val_top1"]} for seed, result in zip(seeds, results, strict=True)]
    card = "# An ensemble of seeds\n\n" + "\n".join(f"- seed {r['seed']}: val top-1 {r['val_top1']:.4f}" for r in rows)
    combine(folders, out, card + "\n", config.frame_rate)
    _, _, val = split_samples(shared, RecognitionTask.stratify)
    report, _ = evaluate_samples(Recognizer.from_pretrained(out), val, shared.val or shared.data)
    best = {"val_top1": report.top_k[1], "val_top5": report.top_k.get(5, 1.0)}  # 5 classes or fewer: all of them
    member_line = ", ".join(f"{r['val_top1']:.1%}" for r in rows)
    summary = (
        f"ensemble of {len(seeds)} seeds in {out}: val top-1 {best['val_top1']:.1%} (the members alone: {member_line})"
    )
    return TrainResult(out, 0, best, rows, False, summary)
