"""Video language model commands: ``train-vlm`` (LoRA / QLoRA fine-tuning) and ``vlm-merge``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from signscribe.cli import options as option
from signscribe.cli import terminal
from signscribe.cli.base import command, wrote
from signscribe.cli.terminal import console
from signscribe.training.config import DataOptions


@command(name="train-vlm")
@option.offers(DataOptions)
def train_vlm(
    base: Annotated[str | None, typer.Option(help="The model to fine-tune: a hub id or a local folder.")] = None,
    data: option.Data = None,
    config: option.Config = None,
    task: Annotated[
        str | None, typer.Option(help="auto (translation for how2sign:, else recognition), recognition or translation.")
    ] = None,
    prompt_config: option.PromptConfig = None,
    frames: Annotated[int | None, typer.Option(min=1, help="Frames sampled per clip (default 8).")] = None,
    lora_r: Annotated[int | None, typer.Option(min=1, help="LoRA rank (default 16).")] = None,
    lora_alpha: Annotated[int | None, typer.Option(min=1, help="LoRA scale numerator (default 32).")] = None,
    lora_dropout: Annotated[float | None, typer.Option(min=0.0, max=0.99, help="Default 0.05.")] = None,
    load_in_4bit: option.LoadIn4bit = None,
    load_in_8bit: option.LoadIn8bit = None,
    dtype: option.Dtype = None,
    device: option.Device = None,
    epochs: option.PositiveInt = None,
    batch: option.PositiveInt = None,
    grad_accum: Annotated[int | None, typer.Option(min=1, help="Batches per optimiser step (default 8).")] = None,
    lr: option.Lr = None,
    max_new_tokens: Annotated[int | None, typer.Option(min=1, help="Longest validation answer.")] = None,
    frame_cache: Annotated[
        Path | None, typer.Option(help="Keep the sampled clips here, read memory-mapped (large datasets).")
    ] = None,
    out: option.OutFolder = Path("vlm-adapters"),
    resume: option.Resume = False,
    merge: Annotated[Path | None, typer.Option(help="Afterwards, also write the merged whole model here.")] = None,
    *,
    data_options: dict[str, Any],
) -> None:
    """Fine-tune a video language model (LLaVA-NeXT-Video, Video-LLaVA, InternVL3) with LoRA, or QLoRA
    with --load-in-4bit, on how2sign: sentences or wlasl: glosses.

    Each epoch writes generated_texts.csv, validation_scores.csv and history.csv into --out; the best
    epoch's adapters are saved there (load them with --model vlm:OUT)."""
    from signscribe.training.config import VlmTrainingConfig
    from signscribe.training.vlm import merge_adapters
    from signscribe.training.vlm import train_vlm as run

    settings = VlmTrainingConfig.from_options(config, **locals(), **data_options)
    if not settings.data:
        raise ValueError("give --data KIND:PATH (or data in --config)")
    with terminal.progress() as bars:
        result = run(settings, out, resume=resume, hook=terminal.phase_bars(bars), log=bars.console.print)
    console.print(result.summary)
    if merge is not None:
        wrote(merge_adapters(out, merge))


@command(name="vlm-merge")
def vlm_merge(
    adapters: Annotated[Path, typer.Argument(help="A folder of adapters from train-vlm.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the merged model.")],
    dtype: option.Dtype = None,
) -> None:
    """Fold trained adapters into their base model's weights: a whole checkpoint that loads without
    PEFT (--model vlm:OUT), and that other tools can read."""
    from signscribe.training.vlm import merge_adapters

    wrote(merge_adapters(adapters, out, dtype))
