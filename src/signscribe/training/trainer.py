"""The training loop (plain PyTorch): seeded, resumable, logged per epoch, early-stopped."""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional

from signscribe.data import load_sequences, open_dataset
from signscribe.data.dataset import Dataset, Sample
from signscribe.errors import SignscribeError
from signscribe.evaluation.metrics import classification_report, top_k_accuracy
from signscribe.evaluation.plots import plot_curves
from signscribe.files import write_csv_atomic, write_text_atomic
from signscribe.models.features import FeatureConfig, collate
from signscribe.models.folder import LABELS, labels_json, model_config_json, save_model_folder
from signscribe.models.registry import create_model, model_task
from signscribe.pose.augment import Augmenter
from signscribe.pose.extract import HolisticExtractor
from signscribe.pose.sequence import PoseSequence
from signscribe.training.checkpoint import resumable_state
from signscribe.training.config import TrainConfig
from signscribe.training.data import SequenceDataset
from signscribe.training.loop import CHECKPOINT, EpochHandlers, Hook, TrainResult, run_epochs
from signscribe.training.splits import signer_split, stratified_split

HISTORY_COLUMNS = ("epoch", "lr", "train_loss", "train_top1", "train_top5", "val_loss", "val_top1", "val_top5")
# Options that may change between a run and its resumption.
RESUMABLE_CHANGES = {"epochs", "patience"}


@dataclass
class SplitData:
    labels: list[str]
    train: list[PoseSequence]
    train_labels: list[int]
    val: list[PoseSequence]
    val_labels: list[int]
    failed: list[tuple[Sample, str]] = field(default_factory=list)


def _open(spec: str, config: TrainConfig) -> Dataset:
    dataset = open_dataset(
        spec, videos=config.videos, subset=config.subset, sequences_per_signer=config.sequences_per_signer
    )
    if not dataset.samples:
        raise SignscribeError(f"{spec}: the dataset has no samples with media ({len(dataset.missing)} missing)")
    return dataset


def split_samples(config: TrainConfig) -> tuple[list[str], list[Sample], list[Sample]]:
    """Labels and the train/validation samples, following ``--val``, the data's own splits, or a new split."""
    dataset = _open(config.data, config)
    if config.val:
        return dataset.labels, dataset.samples, _open(config.val, config).samples
    splits = dataset.split_counts()
    if config.split_by == "random" and "train" in splits and ("val" in splits or "test" in splits):
        held = "val" if "val" in splits else "test"
        return dataset.labels, dataset.select("train").samples, dataset.select(held).samples
    if config.split_by == "signer":
        train, val = signer_split(dataset.samples, config.val_fraction, config.seed, config.holdout_signer)
    else:
        train, val = stratified_split(dataset.samples, config.val_fraction, config.seed)
    return dataset.labels, train, val


def prepare(config: TrainConfig, extractor: HolisticExtractor, hook: Hook | None = None) -> SplitData:
    labels, train_samples, val_samples = split_samples(config)
    if not val_samples:
        raise SignscribeError(f"{config.data}: no validation samples; give --val or data with more per label")
    index = {label: i for i, label in enumerate(labels)}
    unknown = sorted({s.label for s in train_samples + val_samples if s.label not in index}, key=str)
    if unknown:
        raise SignscribeError(f"{config.val or config.data}: labels {unknown[:5]} are not in the label list")
    loaded = {}
    for name, samples in (("train", train_samples), ("val", val_samples)):
        advance = hook(f"loading {name} landmarks", len(samples)) if hook else None
        loaded[name] = load_sequences(samples, extractor, config.hands_relative, advance)
    (train, train_kept, train_failed), (val, val_kept, val_failed) = loaded["train"], loaded["val"]
    if not train or not val:
        raise SignscribeError(f"{config.data}: no usable landmarks in the {'train' if not train else 'val'} part")
    return SplitData(
        labels,
        train,
        [index[s.label] for s in train_kept],
        val,
        [index[s.label] for s in val_kept],
        train_failed + val_failed,
    )


def _class_weights(labels: list[int], classes: int) -> torch.Tensor:
    counts = np.bincount(labels, minlength=classes).astype(np.float32)
    weights = np.where(counts > 0, len(labels) / (classes * np.maximum(counts, 1)), 0.0)
    return torch.from_numpy(weights / weights[counts > 0].mean())


def predict_logits(model: torch.nn.Module, dataset: SequenceDataset, batch: int) -> torch.Tensor:
    model.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(dataset), batch):
            items = collate([dataset[i] for i in range(start, min(start + batch, len(dataset)))])
            outputs.append(model(items.points, items.present, items.frames))
    return torch.cat(outputs)


def model_card(config: TrainConfig, data: SplitData, epoch: int, metrics: dict[str, float], params: int) -> str:
    return f"""# {config.model} trained with signscribe

- Data: `{config.data}`{f" (validation: `{config.val}`)" if config.val else ""}
- Labels: {len(data.labels)}; training sequences {len(data.train)}, validation sequences {len(data.val)}
- Split: {config.split_by}{f", held-out signer {config.holdout_signer}" if config.holdout_signer else ""}
- Parameters: {params:,}
- {"Best" if config.select_best else "Last"} epoch {epoch}: validation top-1 {metrics["val_top1"]:.1%}, \
top-5 {metrics["val_top5"]:.1%}, loss {metrics["val_loss"]:.3f}
- Trained {datetime.now(timezone.utc):%Y-%m-%d} with `signscribe train` (options in `train_config.json`).

Input: MediaPipe Holistic landmarks, normalised on the shoulders (see `config.json`).
"""


def train(
    config: TrainConfig,
    out: Path,
    resume: bool = False,
    hook: Hook | None = None,
    extractor: HolisticExtractor | None = None,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> TrainResult:
    """Train a model on ``config.data`` and write a model folder (the best epoch) plus logs into ``out``."""
    if model_task(config.model) != "recognition":
        raise SignscribeError(f"{config.model} is a {model_task(config.model)} model; train it with train-translation")
    torch.use_deterministic_algorithms(True)
    checkpoint_dir = out / CHECKPOINT
    saved_state = resumable_state(checkpoint_dir, config.to_dict(), resume, RESUMABLE_CHANGES)

    features = FeatureConfig(config.channels, config.hands_relative, config.max_frames)
    data = prepare(config, extractor or HolisticExtractor(), hook)
    torch.manual_seed(config.seed)
    model_config = {"num_points": features.num_points, "channels": features.channels, **config.model_config}
    model = create_model(config.model, len(data.labels), **model_config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    augmenter = Augmenter(mirror_probability=config.mirror_probability) if config.augment else None
    train_set = SequenceDataset(data.train, data.train_labels, features, augmenter, config.seed)
    val_set = SequenceDataset(data.val, data.val_labels, features)
    weights = _class_weights(data.train_labels, len(data.labels)) if config.class_weighting else None
    folder_config = model_config_json(
        config.model,
        model_config,
        features,
        len(data.labels),
        {
            "fps": statistics.median(s.fps for s in data.train),
            "frames": statistics.median(s.num_frames for s in data.train),
        },
    )
    params = sum(p.numel() for p in model.parameters())

    def step(indices: list[int]) -> tuple[torch.Tensor, dict[str, float]]:
        batch = collate([train_set[i] for i in indices])
        logits = model(batch.points, batch.present, batch.frames)
        loss = functional.cross_entropy(logits, batch.labels, weight=weights, label_smoothing=config.label_smoothing)
        accuracy = {f"train_top{k}": top_k_accuracy(logits.detach(), batch.labels, k) for k in (1, 5)}
        return loss, accuracy

    def evaluate(epoch: int) -> dict[str, float]:
        report = classification_report(
            predict_logits(model, val_set, config.batch), torch.tensor(data.val_labels), data.labels
        )
        top5 = report.top_k.get(5, report.top_k[max(report.top_k)])
        return {"val_loss": report.loss, "val_top1": report.top_k[1], "val_top5": top5}

    def publish(epoch: int, row: dict[str, float], improved: bool, history: list[dict[str, float]]) -> None:
        if improved or not config.select_best:
            card = model_card(config, data, epoch, row, params)
            save_model_folder(model, out, folder_config, {LABELS: labels_json(data.labels)}, card)
        write_csv_atomic(out / "history.csv", HISTORY_COLUMNS, history)
        plot_curves(history, out / "curves.png")

    write_text_atomic(out / "train_config.json", json.dumps(config.to_dict(), indent=2))
    handlers = EpochHandlers(step, evaluate, lambda row: (row["val_top1"], -row["val_loss"]), publish)
    return run_epochs(
        config, model, optimizer, len(train_set), train_set.set_epoch, out, saved_state, handlers, hook, on_epoch
    )
