"""Training of landmark-to-English models (plain PyTorch, like the classifier's loop).

Every epoch writes, as seed 000 does, ``generated_texts.csv`` (``id, video_id, generated, true,
epoch``: the validation sentences decoded greedily) and ``validation_scores.csv`` (``epoch,
rouge1, rouge2, rougeL, bleu, chrf``), plus ``history.csv``, ``curves.png``, an atomic checkpoint
and, when the epoch is the best so far, the model folder.
"""

from __future__ import annotations

import csv
import json
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional

from signscribe.data import load_sequences, open_dataset, parse_spec
from signscribe.data.dataset import Sample
from signscribe.data.extraction import warm_cache
from signscribe.errors import SignscribeError
from signscribe.evaluation.plots import plot_curves
from signscribe.evaluation.translation import GENERATED_COLUMNS, SCORE_COLUMNS, translation_scores
from signscribe.files import write_csv_atomic, write_text_atomic
from signscribe.models.features import Batch, FeatureConfig, collate
from signscribe.models.folder import TOKENIZER, model_config_json, save_model_folder
from signscribe.models.registry import create_model, model_task
from signscribe.models.text import TextTokenizer
from signscribe.models.translation import GenerationConfig, generate
from signscribe.pose.augment import Augmenter
from signscribe.pose.extract import HolisticExtractor
from signscribe.training.checkpoint import resumable_state
from signscribe.training.config import ConfigFile
from signscribe.training.data import SequenceDataset
from signscribe.training.loop import CHECKPOINT, EpochHandlers, Hook, TrainResult, run_epochs

HISTORY_COLUMNS = ("epoch", "lr", "train_loss", "val_loss", "bleu", "chrf", "rouge1", "rouge2", "rougeL")
PANELS = (
    ("Loss", "cross-entropy per token", ("train_loss", "val_loss"), None),
    ("Validation", "score (0-100)", ("bleu", "chrf", "rougeL_100"), (0, 100)),
)
RESUMABLE_CHANGES = {"epochs", "patience"}


@dataclass
class TranslationConfig(ConfigFile):
    data: str = ""
    val: str | None = None
    videos: str | None = None
    val_videos: str | None = None  # the --val dataset's videos, when they are not in --videos
    model: str = "pose_to_text"
    model_config: dict[str, Any] = field(default_factory=dict)
    channels: int = 2
    hands_relative: bool = True
    max_frames: int = 256  # longer sequences are resampled down to this many frames
    vocab_size: int = 2000  # at most; a small corpus yields fewer subwords
    max_length: int = 64  # tokens per sentence, in training (longer ones are cut) and generation
    beam_size: int = 4  # saved as the model's default for `translate`; validation decodes greedily
    length_penalty: float = 1.0
    epochs: int = 60
    batch: int = 16
    lr: float = 5e-4
    weight_decay: float = 0.01
    warmup_epochs: float = 2.0
    label_smoothing: float = 0.1
    seed: int = 0
    val_fraction: float = 0.1
    augment: bool = True
    patience: int = 0  # epochs without a better validation BLEU before stopping; 0 never stops

    def __post_init__(self) -> None:
        if not 0 < self.val_fraction < 1:
            raise ValueError(f"val_fraction must be between 0 and 1, got {self.val_fraction}")
        if self.epochs < 1 or self.batch < 1 or self.lr <= 0 or self.max_length < 2:
            raise ValueError("epochs and batch must be at least 1, max_length at least 2, lr positive")
        GenerationConfig(self.max_length, self.beam_size, self.length_penalty)


def sentence_split(config: TranslationConfig) -> tuple[list[Sample], list[Sample]]:
    """Train and validation samples: ``--val``, else the data's own train and val (or test) splits,
    else a seeded random ``val_fraction`` of the data (at least one sentence)."""
    dataset = open_dataset(config.data, videos=config.videos)
    if not dataset.samples:
        raise SignscribeError(f"{config.data}: the dataset has no samples with media ({len(dataset.missing)} missing)")
    if config.val:
        own_videos = parse_spec(config.val)[0] in ("wlasl", "how2sign")
        videos = config.val_videos or (config.videos if own_videos else None)
        return dataset.samples, open_dataset(config.val, videos=videos).samples
    splits = dataset.split_counts()
    if "train" in splits and ("val" in splits or "test" in splits):
        return dataset.select("train").samples, dataset.select("val" if "val" in splits else "test").samples
    if len(dataset.samples) < 2:
        raise SignscribeError(f"{config.data}: one sentence cannot be split; give --val")
    order = np.random.default_rng(config.seed).permutation(len(dataset.samples))
    held = set(order[: max(1, round(config.val_fraction * len(order)))].tolist())
    return (
        [s for i, s in enumerate(dataset.samples) if i not in held],
        [s for i, s in enumerate(dataset.samples) if i in held],
    )


def _targets(sentences: list[list[int]], tokenizer: TextTokenizer) -> tuple[torch.Tensor, torch.Tensor]:
    """Decoder input (BOS + tokens) and target (tokens + EOS), padded."""
    length = max(len(ids) for ids in sentences) + 1
    inputs = torch.full((len(sentences), length), tokenizer.pad_id, dtype=torch.long)
    targets = torch.full((len(sentences), length), tokenizer.pad_id, dtype=torch.long)
    for row, ids in enumerate(sentences):
        inputs[row, : len(ids) + 1] = torch.tensor([tokenizer.bos_id, *ids])
        targets[row, : len(ids) + 1] = torch.tensor([*ids, tokenizer.eos_id])
    return inputs, targets


def translation_loss(
    model: torch.nn.Module, batch: Batch, ids: list[list[int]], tokenizer: TextTokenizer, smoothing: float
) -> torch.Tensor:
    """Teacher-forced cross-entropy per target token (padding ignored) for sentences ``ids``."""
    inputs, targets = _targets(ids, tokenizer)
    logits = model(batch.points, batch.present, batch.frames, inputs)
    return functional.cross_entropy(
        logits.flatten(0, 1), targets.flatten(), ignore_index=tokenizer.pad_id, label_smoothing=smoothing
    )


def validate(
    model: torch.nn.Module,
    dataset: SequenceDataset,
    ids: list[list[int]],
    tokenizer: TextTokenizer,
    config: TranslationConfig,
) -> tuple[float, list[str]]:
    """Teacher-forced loss per token and the greedy translations of the validation set."""
    model.eval()
    loss_sum, texts = 0.0, []
    greedy = GenerationConfig(config.max_length, beam_size=1)
    with torch.no_grad():
        for start in range(0, len(dataset), config.batch):
            rows = range(start, min(start + config.batch, len(dataset)))
            batch = collate([dataset[i] for i in rows])
            loss_sum += float(translation_loss(model, batch, [ids[i] for i in rows], tokenizer, 0.0)) * len(rows)
            generated = generate(
                model, batch.points, batch.present, batch.frames, tokenizer.bos_id, tokenizer.eos_id, greedy
            )
            texts += [tokenizer.decode(tokens) for tokens in generated]
    return loss_sum / len(dataset), texts


def _card(config: TranslationConfig, train: int, val: int, epoch: int, row: dict[str, float], params: int) -> str:
    return f"""# {config.model} (landmarks to English) trained with signscribe

- Data: `{config.data}`{f" (validation: `{config.val}`)" if config.val else ""}
- Sentences: training {train}, validation {val}
- Parameters: {params:,}; byte-level BPE tokenizer in `tokenizer.json`
- Best epoch {epoch}: validation BLEU {row["bleu"]:.2f}, chrF {row["chrf"]:.2f}, ROUGE-L {row["rougeL"]:.3f}, \
loss {row["val_loss"]:.3f} (greedy decoding; sacrebleu 13a, rouge-score F1)
- Trained {datetime.now(timezone.utc):%Y-%m-%d} with `signscribe train-translation` (options in `train_config.json`).

Input: MediaPipe Holistic landmarks, normalised on the shoulders (see `config.json`). A model trained
on a few sentences only memorises them; train on the full How2Sign training set for real use.
"""


def _previous_generated(path: Path, up_to_epoch: int) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as file:
        return [row for row in csv.DictReader(file) if int(row["epoch"]) <= up_to_epoch]


def train_translation(
    config: TranslationConfig,
    out: Path,
    resume: bool = False,
    hook: Hook | None = None,
    extractor: HolisticExtractor | None = None,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
    workers: int = 1,
) -> TrainResult:
    """Train a translation model on ``config.data`` and write the model folder and logs into ``out``."""
    if model_task(config.model) != "translation":
        raise SignscribeError(f"{config.model} is a {model_task(config.model)} model; train it with train")
    torch.use_deterministic_algorithms(True)
    checkpoint_dir = out / CHECKPOINT
    saved_state = resumable_state(checkpoint_dir, config.to_dict(), resume, RESUMABLE_CHANGES)
    extractor = extractor or HolisticExtractor()

    train_samples, val_samples = sentence_split(config)
    every = train_samples + val_samples
    warm_cache(every, extractor, workers, hook("extracting landmarks", len(every)) if hook and workers > 1 else None)
    loaded = {}
    for name, samples in (("train", train_samples), ("val", val_samples)):
        advance = hook(f"loading {name} landmarks", len(samples)) if hook else None
        sequences, kept, _ = load_sequences(samples, extractor, config.hands_relative, advance)
        if not sequences:
            raise SignscribeError(f"{config.val or config.data}: no usable landmarks in the {name} part")
        loaded[name] = (sequences, kept)
    (train, train_kept), (val, val_kept) = loaded["train"], loaded["val"]

    if saved_state is not None:
        tokenizer = TextTokenizer.from_json(saved_state["tokenizer"])
    else:
        tokenizer = TextTokenizer.train([s.label or "" for s in train_kept], config.vocab_size)
    limit = config.max_length - 1
    train_ids = [tokenizer.encode(s.label or "")[:limit] for s in train_kept]
    val_ids = [tokenizer.encode(s.label or "")[:limit] for s in val_kept]
    features = FeatureConfig(config.channels, config.hands_relative, config.max_frames)
    torch.manual_seed(config.seed)
    model_config = {
        "num_points": features.num_points,
        "channels": features.channels,
        "pad_id": tokenizer.pad_id,
        **config.model_config,
    }
    model = create_model(config.model, tokenizer.vocab_size, **model_config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    augmenter = Augmenter() if config.augment else None
    train_set = SequenceDataset(train, list(range(len(train))), features, augmenter, config.seed)
    val_set = SequenceDataset(val, list(range(len(val))), features)
    folder_config = model_config_json(
        config.model,
        model_config,
        features,
        tokenizer.vocab_size,
        {"fps": statistics.median(s.fps for s in train), "frames": statistics.median(s.num_frames for s in train)},
        tokenizer={"file": TOKENIZER, "bos_id": tokenizer.bos_id, "eos_id": tokenizer.eos_id},
        generation=asdict(GenerationConfig(config.max_length, config.beam_size, config.length_penalty)),
    )
    params = sum(p.numel() for p in model.parameters())
    start_epoch = saved_state["epoch"] + 1 if saved_state is not None else 1
    generated_rows = _previous_generated(out / "generated_texts.csv", start_epoch - 1)
    references = [s.label or "" for s in val_kept]

    def step(indices: list[int]) -> tuple[torch.Tensor, dict[str, float]]:
        batch = collate([train_set[i] for i in indices])
        return translation_loss(model, batch, [train_ids[i] for i in indices], tokenizer, config.label_smoothing), {}

    def evaluate(epoch: int) -> dict[str, float]:
        val_loss, texts = validate(model, val_set, val_ids, tokenizer, config)
        for sample, text, reference in zip(val_kept, texts, references, strict=True):
            generated_rows.append(
                {"id": len(generated_rows), "video_id": sample.id, "generated": text, "true": reference, "epoch": epoch}
            )
        scores = translation_scores(texts, references)
        return {"val_loss": val_loss, **{name: getattr(scores, name) for name in SCORE_COLUMNS[1:]}}

    def publish(epoch: int, row: dict[str, float], improved: bool, history: list[dict[str, float]]) -> None:
        if improved:
            card = _card(config, len(train), len(val), epoch, row, params)
            save_model_folder(model, out, folder_config, {TOKENIZER: tokenizer.to_json()}, card)
        write_csv_atomic(out / "generated_texts.csv", GENERATED_COLUMNS, generated_rows)
        write_csv_atomic(out / "validation_scores.csv", SCORE_COLUMNS, history)
        write_csv_atomic(out / "history.csv", HISTORY_COLUMNS, history)
        plot_curves([{**r, "rougeL_100": 100 * r["rougeL"]} for r in history], out / "curves.png", PANELS)

    write_text_atomic(out / "train_config.json", json.dumps(config.to_dict(), indent=2))
    handlers = EpochHandlers(
        step,
        evaluate,
        lambda row: (row["bleu"], -row["val_loss"]),
        publish,
        lambda: {"tokenizer": tokenizer.to_json()},
    )
    return run_epochs(
        config, model, optimizer, len(train_set), train_set.set_epoch, out, saved_state, handlers, hook, on_epoch
    )
