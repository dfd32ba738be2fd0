"""Fine-tuning a video language model with LoRA (QLoRA on a 4-bit base): ``signscribe train-vlm``.

The project's own epoch loop, not TRL's ``SFTTrainer``: each example is the model's prompt with a
clip and its answer (a How2Sign sentence, or a WLASL gloss), the loss is on the answer and its end
only, and gradients add up over ``grad_accum`` batches. After each epoch the validation clips are
answered greedily and, as the How2Sign scripts did and ``train-translation`` does,
``generated_texts.csv`` (``id, video_id, generated, true, epoch``) and ``validation_scores.csv``
(``epoch, rouge1, rouge2, rougeL, bleu, chrf``) are rewritten; ``history.csv`` adds the losses and
the share of answers that equal the reference exactly. The adapters of the best epoch (BLEU for
sentences, exact answers for glosses; then the validation loss) are saved in ``--out`` as PEFT
writes them, with the tokenizer, the preprocessor config, ``vlm.yaml`` (the base model and the
prompt), ``labels.txt`` for glosses and a model card: ``vlm:OUT`` loads them. ``checkpoint/`` holds
the adapters and optimiser of the last epoch for ``--resume``; ``merge_adapters`` writes a whole
model with the adapters folded in.
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from signscribe.data import parse_spec
from signscribe.data.dataset import Sample
from signscribe.errors import SignscribeError
from signscribe.evaluation.translation import GENERATED_COLUMNS, SCORE_COLUMNS, translation_scores
from signscribe.files import write_csv_atomic, write_text_atomic
from signscribe.models.hub import checkpoint_folder
from signscribe.models.inputs import PreparedSamples, prepare_samples
from signscribe.models.inputs.video_prompt import VideoPromptConfig
from signscribe.models.vlm.loading import (
    LABELS_FILE,
    VlmCheckpoint,
    build_model,
    load_network,
    locate_checkpoint,
    resolve_settings,
)
from signscribe.models.vlm.model import VisionLanguageModel
from signscribe.models.vlm.settings import SETTINGS_FILE, VlmSettings, extra, read_settings, settings_text
from signscribe.pose.extract import HolisticExtractor
from signscribe.progress import ProgressHook
from signscribe.training.checkpoint import load_checkpoint, resumable_state, save_checkpoint
from signscribe.training.config import VlmTrainingConfig
from signscribe.training.loop import CHECKPOINT
from signscribe.training.splits import split_samples
from signscribe.training.translation import previous_generated
from signscribe.version import __version__

HISTORY_COLUMNS = ("epoch", "train_loss", "val_loss", "exact", "bleu", "chrf", "rouge1", "rouge2", "rougeL")
RESUMABLE_CHANGES = {"epochs", "device", "frame_cache"}
# The language model's projections; the vision tower (whose layers share these names) stays frozen.
LORA_TARGETS = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"
PROCESSOR_FILES = ("preprocessor_config.json", "video_preprocessor_config.json", "processor_config.json")


@dataclass(frozen=True)
class VlmTrainResult:
    epochs_run: int
    best_epoch: int
    best: dict[str, float]
    history: list[dict[str, float]]
    out: Path

    @property
    def summary(self) -> str:
        scores = ", ".join(f"{name} {self.best[name]:.3g}" for name in ("bleu", "exact", "val_loss"))
        return f"best epoch {self.best_epoch} of {self.epochs_run} ({scores}); adapters in {self.out}"


def task_of(config: VlmTrainingConfig) -> str:
    if config.task != "auto":
        return config.task
    return "translation" if parse_spec(config.data)[0] == "how2sign" else "recognition"


def training_settings(config: VlmTrainingConfig) -> VlmSettings:
    """The prompt config's settings with the run's base model, frames, precision and placement."""
    settings = read_settings(config.prompt_config) if config.prompt_config else VlmSettings()
    return settings.updated(
        model=config.base,
        frames=config.frames,
        max_new_tokens=config.max_new_tokens,
        load_in_4bit=config.load_in_4bit or None,
        load_in_8bit=config.load_in_8bit or None,
        dtype=config.dtype,
        device=config.device,
        temperature=0.0,  # validation answers greedily
        num_beams=1,
    )


def trainable_network(checkpoint: VlmCheckpoint, settings: VlmSettings, config: VlmTrainingConfig) -> Any:
    """The base model with trainable LoRA adapters (the base's own adapters, when it has them)."""
    peft = extra("peft")
    network = load_network(checkpoint, settings, trainable=True)
    if checkpoint.adapters is not None:
        return network
    if settings.load_in_4bit or settings.load_in_8bit:
        network = peft.prepare_model_for_kbit_training(network, use_gradient_checkpointing=False)
    lora = peft.LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=LORA_TARGETS,
        task_type="CAUSAL_LM",
    )
    return peft.get_peft_model(network, lora)


def _videos(pipeline: VideoPromptConfig, prepared: PreparedSamples, rows: list[int]) -> torch.Tensor:
    return torch.stack([pipeline.example(prepared.items[i]) for i in rows])


def _batches(count: int, size: int, rng: np.random.Generator | None = None) -> list[list[int]]:
    order = rng.permutation(count).tolist() if rng is not None else list(range(count))
    return [order[start : start + size] for start in range(0, count, size)]


def peak_memory(device: torch.device) -> str:
    """The run's peak so far: the GPU's allocated memory on CUDA, else the process's resident set."""
    if device.type == "cuda":
        allocated = torch.cuda.max_memory_allocated(device) / 1024**3
        return f"{allocated:.2f} GiB allocated on {torch.cuda.get_device_name(device)}"
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2:.2f} GiB resident ({device.type})"


def _card(
    config: VlmTrainingConfig, settings: VlmSettings, task: str, epoch: int, row: dict[str, float], memory: str
) -> str:
    quantised = "4-bit (QLoRA)" if settings.load_in_4bit else "8-bit" if settings.load_in_8bit else "full precision"
    return (
        f"# {task} adapters for {config.base}\n\n"
        f"LoRA adapters (r {config.lora_r}, alpha {config.lora_alpha}, dropout {config.lora_dropout}) on the "
        f"language model of `{config.base}`, trained by signscribe {__version__} with `signscribe train-vlm` "
        f"on `{config.data}` ({quantised} base, {settings.frames} frames a clip).\n\n"
        f"Saved at epoch {epoch}: validation BLEU {row['bleu']:.2f}, chrF {row['chrf']:.2f}, "
        f"ROUGE-L {row['rougeL']:.3f}, exact answers {row['exact']:.3f}, loss {row['val_loss']:.4f}.\n\n"
        f"Training's peak memory up to then: {memory} (batch {config.batch}).\n\n"
        f"Use: `signscribe {'translate' if task == 'translation' else 'recognize'} --model vlm:THIS_FOLDER CLIP`.\n"
    )


def save_adapters(model: VisionLanguageModel, checkpoint: VlmCheckpoint, out: Path, files: dict[str, str]) -> None:
    """The adapters, tokenizer, preprocessor config and ``files`` (name to text) written into a fresh
    folder, then swapped into ``out`` one file at a time."""
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        model.network.save_pretrained(staging)
        (staging / "README.md").unlink(missing_ok=True)  # PEFT's template card; ours is model_card.md
        model.tokenizer.save_pretrained(staging)
        for name in PROCESSOR_FILES:
            if (checkpoint.files / name).is_file():
                shutil.copyfile(checkpoint.files / name, staging / name)
        for name, text in files.items():
            (staging / name).write_text(text, encoding="utf-8")
        for path in staging.iterdir():
            os.replace(path, out / path.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _prepare(
    pipeline: VideoPromptConfig, samples: list[Sample], name: str, source: str, hook: ProgressHook | None
) -> PreparedSamples:
    """Each clip's frames sampled once for the whole run."""
    advance = hook(f"sampling {name} frames", len(samples)) if hook else None
    prepared = prepare_samples(
        pipeline, samples, HolisticExtractor(), None if advance is None else lambda done, total: advance()
    )
    if not prepared.items:
        raise SignscribeError(f"{source}: no clip of the {name} part could be read")
    return prepared


def _answers(part: PreparedSamples) -> list[str]:
    return [sample.label or "" for sample in part.samples]


def _train_epoch(
    model: VisionLanguageModel,
    pipeline: VideoPromptConfig,
    train: PreparedSamples,
    optimizer: torch.optim.Optimizer,
    config: VlmTrainingConfig,
    epoch: int,
    hook: ProgressHook | None,
) -> float:
    """One pass over the training clips in a seeded order; the mean loss per clip."""
    torch.manual_seed(config.seed + epoch)  # dropout: the same on a resumed run
    model.train()
    answers = _answers(train)
    groups = _batches(len(train.items), config.batch, np.random.default_rng(config.seed + epoch))
    advance = hook(f"epoch {epoch}/{config.epochs}", len(groups)) if hook else None
    loss_sum = 0.0
    for step, rows in enumerate(groups, start=1):
        loss = model.loss(_videos(pipeline, train, rows), [answers[i] for i in rows])
        (loss / config.grad_accum).backward()
        loss_sum += loss.item() * len(rows)
        if step % config.grad_accum == 0 or step == len(groups):
            optimizer.step()
            optimizer.zero_grad()
        if advance is not None:
            advance()
    return loss_sum / len(train.items)


@torch.no_grad()
def _validate(
    model: VisionLanguageModel, pipeline: VideoPromptConfig, val: PreparedSamples, batch: int
) -> tuple[list[str], dict[str, float]]:
    """The greedy answers to the validation clips, and their loss and scores."""
    model.eval()
    references = _answers(val)
    texts, loss_sum = [], 0.0
    for rows in _batches(len(val.items), batch):
        video = _videos(pipeline, val, rows)
        loss_sum += float(model.loss(video, [references[i] for i in rows])) * len(rows)
        texts += model.generate_text(video)
    scores = translation_scores(texts, references)
    pairs = zip(texts, references, strict=True)
    exact = float(np.mean([text.strip().lower() == reference.strip().lower() for text, reference in pairs]))
    row = {"val_loss": loss_sum / len(val.items), "exact": exact}
    return texts, {**row, **{name: getattr(scores, name) for name in SCORE_COLUMNS[1:]}}


def _rank(row: dict[str, float], task: str) -> tuple[float, float]:
    """What chooses the saved epoch: BLEU for sentences, exact answers for glosses, then the loss."""
    return (row["bleu"] if task == "translation" else row["exact"], -row["val_loss"])


def train_vlm(
    config: VlmTrainingConfig,
    out: Path,
    resume: bool = False,
    hook: ProgressHook | None = None,
    log: Callable[[str], None] | None = None,
) -> VlmTrainResult:
    """Fine-tune ``config.base`` on ``config.data`` (see the module's docstring)."""
    peft = extra("peft")
    if not config.base:
        raise SignscribeError("give --base: the hub id or folder of the model to fine-tune")
    task = task_of(config)
    defaults = VlmTrainingConfig().to_dict()
    saved = resumable_state(out / CHECKPOINT, config.to_dict(), resume, RESUMABLE_CHANGES, defaults)
    labels, train_samples, val_samples = split_samples(config, stratify=task == "recognition")
    settings = training_settings(config)
    checkpoint = locate_checkpoint(checkpoint_folder(config.base, "video language model", "--base DIR"), settings)
    torch.manual_seed(config.seed)
    network = trainable_network(checkpoint, settings, config)
    model, pipeline = build_model(checkpoint, settings, task, trainable=True, network=network)
    pipeline = dataclasses.replace(pipeline, frame_cache=config.frame_cache)
    train = _prepare(pipeline, train_samples, "train", config.data, hook)
    val = _prepare(pipeline, val_samples, "val", config.val or config.data, hook)
    trained = [parameter for parameter in network.parameters() if parameter.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=config.lr, weight_decay=config.weight_decay)
    history: list[dict[str, float]] = []
    best: dict[str, float] = {}
    best_epoch, start = 0, 1
    if saved is not None:
        state, weights, _ = load_checkpoint(out / CHECKPOINT, optimizer)
        peft.set_peft_model_state_dict(network, weights)
        history, best, best_epoch, start = state["history"], state["best"], state["best_epoch"], state["epoch"] + 1
    generated_rows = previous_generated(out / "generated_texts.csv", start - 1)
    base = str(Path(config.base).resolve()) if Path(config.base).is_dir() else config.base
    files = {SETTINGS_FILE: settings_text(settings.updated(model=base, device="auto"))}
    if task == "recognition":
        files[LABELS_FILE] = "".join(f"{label}\n" for label in labels)
    write_text_atomic(out / "train_config.json", json.dumps(config.to_dict(), indent=2))

    for epoch in range(start, config.epochs + 1):
        train_loss = _train_epoch(model, pipeline, train, optimizer, config, epoch, hook)
        texts, scores = _validate(model, pipeline, val, config.batch)
        for sample, text, reference in zip(val.samples, texts, _answers(val), strict=True):
            row = {"id": len(generated_rows), "video_id": sample.id, "generated": text, "true": reference}
            generated_rows.append({**row, "epoch": epoch})
        row = {"epoch": epoch, "train_loss": train_loss, **scores}
        history.append(row)
        if not best or _rank(row, task) > _rank(best, task):
            best, best_epoch = dict(row), epoch
            card = _card(config, settings, task, epoch, row, peak_memory(model.device))
            save_adapters(model, checkpoint, out, {**files, "model_card.md": card})
        write_csv_atomic(out / "generated_texts.csv", GENERATED_COLUMNS, generated_rows)
        write_csv_atomic(out / "validation_scores.csv", SCORE_COLUMNS, history)
        write_csv_atomic(out / "history.csv", HISTORY_COLUMNS, history)
        state = {"epoch": epoch, "config": config.to_dict(), "history": history, "best": best, "best_epoch": best_epoch}
        save_checkpoint(out / CHECKPOINT, peft.get_peft_model_state_dict(network), optimizer, state)
        if log is not None:
            log(f"epoch {epoch}: loss {train_loss:.4f}, val loss {row['val_loss']:.4f}, "
                f"BLEU {row['bleu']:.2f}, exact {row['exact']:.3f}")  # fmt: skip
    return VlmTrainResult(len(history), best_epoch, best, history, out)


def merge_adapters(folder: str | Path, out: Path, dtype: str | None = None) -> Path:
    """A whole model in ``out``: the base of ``folder``'s adapters (loaded in full precision) with the
    adapters folded into its weights, its tokenizer, preprocessor config, ``vlm.yaml`` (now without a
    base to fetch) and labels; ``vlm:OUT`` loads it like any checkpoint, without PEFT."""
    source, settings = resolve_settings(str(folder), None, dtype=dtype, load_in_4bit=False, load_in_8bit=False)
    checkpoint = locate_checkpoint(source, settings)
    if checkpoint.adapters is None:
        raise SignscribeError(f"{folder}: holds no adapters to merge (no adapter_config.json)")
    merged = load_network(checkpoint, settings.updated(device="cpu")).merge_and_unload()
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        merged.save_pretrained(staging)
        for name in os.listdir(checkpoint.adapters):
            if name.startswith("tokenizer") or name in (*PROCESSOR_FILES, LABELS_FILE, "special_tokens_map.json"):
                shutil.copyfile(checkpoint.adapters / name, staging / name)
        whole = dataclasses.replace(settings, model=None, device="auto")  # no base: the folder is the model
        (staging / SETTINGS_FILE).write_text(settings_text(whole), encoding="utf-8")
        for path in staging.iterdir():
            os.replace(path, out / path.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out
