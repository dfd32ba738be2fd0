"""Training of landmark-to-English models (``signscribe train-translation``).

Every epoch writes, in the layout of the LLaVA-NeXT-Video / Video-LLaVA How2Sign fine-tuning
scripts, ``generated_texts.csv`` (``id, video_id, generated, true, epoch``: the validation
sentences decoded greedily) and ``validation_scores.csv`` (``epoch, rouge1, rouge2, rougeL, bleu,
chrf``), plus what every training run writes: ``history.csv``, ``curves.png``, an atomic
checkpoint and, when the epoch is the best so far, the model folder.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from torch.nn import functional

from signscribe.evaluation.plots import Panel
from signscribe.evaluation.translation import GENERATED_COLUMNS, SCORE_COLUMNS, translation_scores
from signscribe.files import write_csv_atomic
from signscribe.models.families.pose_to_text import GenerationConfig, generate
from signscribe.models.inputs import ExampleSet, ModelBatch, PreparedSamples
from signscribe.models.pretrained import TOKENIZER
from signscribe.models.text import TextTokenizer
from signscribe.training.config import TranslationConfig
from signscribe.training.distributed import unwrapped
from signscribe.training.loop import EpochHandlers, TrainResult
from signscribe.training.outline import TrainingData, TrainingTask, train_model

HISTORY_COLUMNS = ("epoch", "lr", "train_loss", "val_loss", "bleu", "chrf", "rouge1", "rouge2", "rougeL")
PANELS: tuple[Panel, ...] = (
    ("Loss", "cross-entropy per token", ("train_loss", "val_loss"), None),
    ("Validation", "score (0-100)", ("bleu", "chrf", "rougeL_100"), (0, 100)),
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
    model: torch.nn.Module, batch: ModelBatch, ids: list[list[int]], tokenizer: TextTokenizer, smoothing: float
) -> torch.Tensor:
    """Teacher-forced cross-entropy per target token (padding ignored) for sentences ``ids``."""
    inputs, targets = _targets(ids, tokenizer)
    logits = model(*batch.inputs, inputs)
    return functional.cross_entropy(
        logits.flatten(0, 1), targets.flatten(), ignore_index=tokenizer.pad_id, label_smoothing=smoothing
    )


def validate(
    model: torch.nn.Module,
    dataset: ExampleSet,
    ids: list[list[int]],
    tokenizer: TextTokenizer,
    config: TranslationConfig,
) -> tuple[float, list[str]]:
    """Teacher-forced loss per token and the greedy translations of the validation set."""
    model.eval()
    loss_sum, texts = 0.0, []
    greedy = GenerationConfig(config.max_length, beam_size=1)
    with torch.no_grad():
        groups = dataset.batches(config.batch)
        for rows, batch in zip(groups, dataset.loader(groups), strict=True):
            loss_sum += float(translation_loss(model, batch, [ids[i] for i in rows], tokenizer, 0.0)) * len(rows)
            generated = generate(model, *batch.inputs, tokenizer.bos_id, tokenizer.eos_id, greedy)
            texts += [tokenizer.decode(tokens) for tokens in generated]
    return loss_sum / len(dataset), texts


def previous_generated(path: Path, up_to_epoch: int) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as file:
        return [row for row in csv.DictReader(file) if int(row["epoch"]) <= up_to_epoch]


class TranslationTask(TrainingTask):
    task = "translation"
    stratify = False
    history_columns = HISTORY_COLUMNS
    panels = PANELS
    config: TranslationConfig

    def __init__(
        self, config: TranslationConfig, data: TrainingData, out: Path, saved_state: dict[str, Any] | None
    ) -> None:
        super().__init__(config, data, out, saved_state)
        sentences = [s.label or "" for s in data.train.samples]
        if saved_state is not None:
            self.tokenizer = TextTokenizer.from_json(saved_state["tokenizer"])
        else:
            self.tokenizer = TextTokenizer.train(sentences, config.vocab_size)
        limit = config.max_length - 1
        self.ids = {
            name: [self.tokenizer.encode(s.label or "")[:limit] for s in part.samples]
            for name, part in (("train", data.train), ("val", data.val))
        }
        start_epoch = saved_state["epoch"] + 1 if saved_state is not None else 1
        self.generated_rows = previous_generated(out / "generated_texts.csv", start_epoch - 1)

    @property
    def num_outputs(self) -> int:
        return self.tokenizer.vocab_size

    def targets(self, part: PreparedSamples) -> list[int]:
        return list(range(len(part.items)))  # sentence numbers: the token ids are looked up by them

    def model_options(self) -> dict[str, Any]:
        return {"pad_id": self.tokenizer.pad_id}

    def task_info(self) -> dict[str, Any]:
        config = self.config
        return {
            "tokenizer": {"file": TOKENIZER, "bos_id": self.tokenizer.bos_id, "eos_id": self.tokenizer.eos_id},
            "generation": asdict(GenerationConfig(config.max_length, config.beam_size, config.length_penalty)),
        }

    def folder_files(self) -> dict[str, str]:
        return {TOKENIZER: self.tokenizer.to_json()}

    def card(self, epoch: int, row: dict[str, float], params: int) -> str:
        config = self.config
        return f"""# {config.model} (landmarks to English) trained with signscribe

- Data: `{config.data}`{f" (validation: `{config.val}`)" if config.val else ""}
- Sentences: training {len(self.data.train.items)}, validation {len(self.data.val.items)}
- Parameters: {params:,}; byte-level BPE tokenizer in `tokenizer.json`
- Best epoch {epoch}: validation BLEU {row["bleu"]:.2f}, chrF {row["chrf"]:.2f}, ROUGE-L {row["rougeL"]:.3f}, \
loss {row["val_loss"]:.3f} (greedy decoding; sacrebleu 13a, rouge-score F1)
- Trained {datetime.now(timezone.utc):%Y-%m-%d} with `signscribe train-translation` (options in `train_config.json`).

Input: MediaPipe Holistic landmarks, normalised on the shoulders (see `config.json`). A model trained
on a few sentences only memorises them; train on the full How2Sign training set for real use.
"""

    def describe_epoch(self, row: dict[str, float]) -> str:
        return (
            f"epoch {row['epoch']}: train loss {row['train_loss']:.3f} | val loss {row['val_loss']:.3f} "
            f"BLEU {row['bleu']:.2f} chrF {row['chrf']:.2f} ROUGE-L {row['rougeL']:.3f}"
        )

    def describe_result(self, result: TrainResult) -> str:
        stop = " (stopped early)" if result.stopped_early else ""
        return (
            f"best epoch {result.best_epoch}{stop}: val BLEU {result.best['bleu']:.2f}, "
            f"ROUGE-L {result.best['rougeL']:.3f}; model folder {result.out}"
        )

    def curve_rows(self, history: list[dict[str, float]]) -> list[dict[str, float]]:
        return [{**row, "rougeL_100": 100 * row["rougeL"]} for row in history]

    def handlers(
        self,
        model: torch.nn.Module,
        train_set: ExampleSet,
        val_set: ExampleSet,
        save_folder: Callable[[int, dict[str, float]], None],
    ) -> EpochHandlers:
        config, tokenizer, out = self.config, self.tokenizer, self.out
        train_ids, val_ids = self.ids["train"], self.ids["val"]
        references = [s.label or "" for s in self.data.val.samples]

        def step(indices: list[int], batch: ModelBatch) -> tuple[torch.Tensor, dict[str, float]]:
            loss = translation_loss(model, batch, [train_ids[i] for i in indices], tokenizer, config.label_smoothing)
            return loss, {}

        def evaluate(epoch: int) -> dict[str, float]:
            val_loss, texts = validate(unwrapped(model), val_set, val_ids, tokenizer, config)
            for sample, text, reference in zip(self.data.val.samples, texts, references, strict=True):
                row = {"id": len(self.generated_rows), "video_id": sample.id, "generated": text, "true": reference}
                self.generated_rows.append({**row, "epoch": epoch})
            scores = translation_scores(texts, references)
            return {"val_loss": val_loss, **{name: getattr(scores, name) for name in SCORE_COLUMNS[1:]}}

        def publish(epoch: int, row: dict[str, float], improved: bool, history: list[dict[str, float]]) -> None:
            if improved:
                save_folder(epoch, row)
            write_csv_atomic(out / "generated_texts.csv", GENERATED_COLUMNS, self.generated_rows)
            write_csv_atomic(out / "validation_scores.csv", SCORE_COLUMNS, history)

        return EpochHandlers(
            step,
            evaluate,
            lambda row: (row["bleu"], -row["val_loss"]),
            publish,
            lambda: {"tokenizer": tokenizer.to_json()},
        )


def train_translation(config: TranslationConfig, out: Path, **options: Any) -> TrainResult:
    """Train a translation model on ``config.data`` and write the model folder and logs into ``out``.
    ``options`` are those of ``train_model``: ``resume``, ``hook``, ``extractor``, ``on_epoch``,
    ``workers``, ``log``."""
    return train_model(TranslationTask, config, out, **options)
