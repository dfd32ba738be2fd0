"""The epoch loop every trainer shares (plain PyTorch): a seeded order and seeded augmentation per
epoch, linear warm-up then cosine learning rate, gradient clipping, an optional moving average of
the weights, early stopping, an atomic checkpoint after every epoch and exact resumption from it."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch

from signscribe.devices import autocast, device_of
from signscribe.models.inputs import ExampleSet, ModelBatch
from signscribe.progress import ProgressHook
from signscribe.training.checkpoint import load_checkpoint, save_checkpoint
from signscribe.training.distributed import Distributed

CHECKPOINT = "checkpoint"
BUCKET_BATCHES = 8  # with bucket_by_length, this many batches of the shuffled order are sorted by length together


class LoopOptions(Protocol):
    epochs: int
    batch: int
    bucket_by_length: bool
    lr: float
    warmup_epochs: float
    seed: int
    patience: int
    ema_decay: float
    precision: str
    accumulate: int

    def to_dict(self) -> dict[str, Any]: ...


@dataclass
class EpochHandlers:
    """What a trainer adds to the loop.

    ``step(indices, batch)`` computes the loss of a batch of training samples (their indices and the
    batch built from them) and metric values (batch means) for the history row; ``evaluate(epoch)``
    gives the validation entries of the row; ``rank(row)`` orders epochs (higher is better);
    ``publish(epoch, row, improved, history)`` writes the model folder and the logs; ``extra_state()``
    adds JSON to the checkpoint.
    """

    step: Callable[[list[int], ModelBatch], tuple[torch.Tensor, dict[str, float]]]
    evaluate: Callable[[int], dict[str, float]]
    rank: Callable[[dict[str, float]], tuple[float, ...]]
    publish: Callable[[int, dict[str, float], bool, list[dict[str, float]]], None]
    extra_state: Callable[[], dict[str, Any]] = dict


class WeightAverage:
    """An exponential moving average of a model's floating-point weights and buffers; evaluation and
    the saved model use it. The decay ramps up over the first steps, so early weights fade fast."""

    def __init__(self, model: torch.nn.Module, decay: float, shadow: dict[str, torch.Tensor] | None = None) -> None:
        self.decay, self.updates = decay, 0
        current = {k: v.detach().clone() for k, v in model.state_dict().items() if v.is_floating_point()}
        self.shadow = shadow if shadow is not None else current

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for name, value in model.state_dict().items():
            if name in self.shadow:
                self.shadow[name].lerp_(value, 1 - decay)

    @contextmanager
    def applied(self, model: torch.nn.Module) -> Iterator[None]:
        """The model holds the averaged weights inside the block, its own again after it."""
        own = {name: value.clone() for name, value in model.state_dict().items() if name in self.shadow}
        model.load_state_dict(self.shadow, strict=False)
        try:
            yield
        finally:
            model.load_state_dict(own, strict=False)


@dataclass
class TrainResult:
    """A finished run: its folder, the best epoch and its history row, every row, whether early
    stopping ended it, and a line that says so (the task's words)."""

    out: Path
    best_epoch: int
    best: dict[str, float]
    history: list[dict[str, float]]
    stopped_early: bool
    summary: str = ""


def learning_rate(config: LoopOptions, step: int, steps_per_epoch: int) -> float:
    """Linear warm-up, then cosine decay to zero at the last epoch."""
    warmup = max(1, round(config.warmup_epochs * steps_per_epoch))
    total = max(config.epochs * steps_per_epoch, warmup + 1)
    if step < warmup:
        return config.lr * (step + 1) / warmup
    return config.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / (total - warmup))))


def epoch_batches(
    order: list[int], batch: int, lengths: list[int] | None, generator: torch.Generator
) -> list[list[int]]:
    """The batches of an epoch: ``order`` cut into batches of ``batch``. With ``lengths``, each stretch
    of ``BUCKET_BATCHES`` batches of ``order`` is sorted by length before it is cut, so a batch pads
    little, and the batches are then shuffled (by ``generator``); the count of batches is the same."""
    if lengths is None:
        return [order[start : start + batch] for start in range(0, len(order), batch)]
    pool = batch * BUCKET_BATCHES
    groups = []
    for start in range(0, len(order), pool):
        stretch = sorted(order[start : start + pool], key=lambda index: lengths[index])
        groups += [stretch[first : first + batch] for first in range(0, len(stretch), batch)]
    return [groups[index] for index in torch.randperm(len(groups), generator=generator).tolist()]


def run_epochs(
    config: LoopOptions,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    train_set: ExampleSet,
    out: Path,
    saved_state: dict[str, Any] | None,
    handlers: EpochHandlers,
    hook: ProgressHook | None = None,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
    parallel: Distributed | None = None,
) -> TrainResult:
    """Train on ``train_set`` from epoch 1, or from after the checkpoint in ``out`` when ``saved_state``
    is given; with ``parallel`` active, this process's share of each global batch (``distributed.py``),
    the checkpoint written by rank 0 only."""
    parallel = parallel or Distributed()
    checkpoint_dir = out / CHECKPOINT
    train_size = len(train_set)
    steps_per_epoch = math.ceil(train_size / config.batch)
    pipeline = train_set.pipeline
    lengths = [pipeline.example_length(item) for item in train_set.prepared] if config.bucket_by_length else None
    history: list[dict[str, float]] = []
    best: dict[str, float] = {}
    best_epoch, start_epoch, stale = 0, 1, 0
    averaged = None
    if saved_state is not None:
        state, weights, averaged = load_checkpoint(checkpoint_dir, optimizer)
        model.load_state_dict(weights)
        history, best, best_epoch, stale = state["history"], state["best"], state["best_epoch"], state["stale"]
        start_epoch = state["epoch"] + 1
    average = WeightAverage(model, config.ema_decay, averaged) if config.ema_decay else None
    if average is not None and saved_state is not None:
        average.updates = (start_epoch - 1) * steps_per_epoch

    device = device_of(model)
    scaler = torch.amp.GradScaler(device.type, enabled=config.precision == "fp16")  # bf16 needs no scaling
    stopped_early = False
    for epoch in range(start_epoch, config.epochs + 1):
        if config.patience and stale >= config.patience:
            stopped_early = True
            break
        torch.manual_seed(config.seed * 100_003 + epoch)
        train_set.set_epoch(epoch)
        generator = torch.Generator().manual_seed(config.seed * 7919 + epoch)
        order = torch.randperm(train_size, generator=generator).tolist()
        groups = [parallel.share(group) for group in epoch_batches(order, config.batch, lengths, generator)]
        model.train()
        advance = hook(f"epoch {epoch}/{config.epochs}", steps_per_epoch) if hook else None
        sums: dict[str, float] = {"train_loss": 0.0, "examples": 0.0}
        lr = config.lr
        optimizer.zero_grad()
        for step, (indices, batch) in enumerate(zip(groups, train_set.loader(groups), strict=True)):
            lr = learning_rate(config, (epoch - 1) * steps_per_epoch + step, steps_per_epoch)
            for group in optimizer.param_groups:
                group["lr"] = lr
            with autocast(device, config.precision):
                loss, metrics = handlers.step(indices, batch)
            scaler.scale(loss / config.accumulate).backward()
            if (step + 1) % config.accumulate == 0 or step + 1 == steps_per_epoch:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad()
                if average is not None:
                    average.update(model)
            for name, value in {"train_loss": float(loss.detach()), "examples": 1.0, **metrics}.items():
                sums[name] = sums.get(name, 0.0) + value * len(indices)
            if advance:
                advance()
        sums = parallel.sum(sums)
        examples = sums.pop("examples")
        row = {"epoch": epoch, "lr": lr, **{name: total / examples for name, total in sums.items()}}
        with average.applied(model) if average is not None else nullcontext():
            row.update(handlers.evaluate(epoch))
            history.append(row)
            improved = not best or handlers.rank(row) > handlers.rank(best)
            if improved:
                best, best_epoch, stale = dict(row), epoch, 0
            else:
                stale += 1
            handlers.publish(epoch, row, improved, history)
        if parallel.main:
            state = {"epoch": epoch, "config": config.to_dict(), "history": history, "best": best,
                     "best_epoch": best_epoch, "stale": stale, **handlers.extra_state()}  # fmt: skip
            shadow = average.shadow if average is not None else None
            save_checkpoint(checkpoint_dir, model.state_dict(), optimizer, state, shadow)
        if on_epoch:
            on_epoch(row)
    return TrainResult(out, best_epoch, best, history, stopped_early)
