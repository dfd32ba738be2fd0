"""The core commands: probe, extract, train, train-translation, evaluate, recognize, models,
samples and serve."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from signscribe.cli import options as option
from signscribe.cli import terminal
from signscribe.cli.base import app, command, wrote
from signscribe.cli.terminal import bar, console, errors
from signscribe.data.options import DatasetOptions
from signscribe.training.config import DataOptions

if TYPE_CHECKING:
    from signscribe.training import TrainingOptions, TrainResult

SHOWN_FAILURES = 20


@command()
def probe(video: Annotated[Path, typer.Argument(help="A video file.")]) -> None:
    """Show a video's fps, frame count, duration, resolution and codec."""
    from signscribe.io import probe as probe_video

    console.print(terminal.probe_table(probe_video(video)))


@command()
@option.offers(DatasetOptions)
def extract(
    inputs: Annotated[list[Path] | None, typer.Argument(help="Videos or folders of videos.")] = None,
    out: Annotated[
        str, typer.Option("--out", "-o", help="Folder for the files: a path, or an fsspec URL (s3://bucket/poses).")
    ] = "poses",
    output_format: Annotated[
        str,
        typer.Option(
            "--format", help="pose (a .pose file a clip) or asl-signs (Kaggle's Parquet layout; with --data)."
        ),
    ] = "pose",
    data: option.Data = None,
    split: Annotated[str | None, typer.Option(help="Only this split of the dataset.")] = None,
    workers: option.Workers = 1,
    face: Annotated[bool, typer.Option(help="Also keep the 468 face landmarks.")] = False,
    max_side: Annotated[int | None, typer.Option(min=64, help="Shrink frames to this longer side first.")] = None,
    fps: option.FrameRate = None,
    cache: Annotated[bool, typer.Option(help="Reuse and fill the pose cache.")] = True,
    ray: option.Ray = None,
    *,
    data_options: dict[str, Any],
) -> None:
    """Extract MediaPipe Holistic landmarks into .pose files or the asl-signs layout (resumable: existing
    outputs are skipped)."""
    from signscribe import ExtractionSettings, extract_poses

    if bool(inputs) == bool(data):
        raise ValueError("give either videos/folders or --data KIND:PATH")
    items: list[Any] = option.dataset_samples(data, data_options, split) if data else list(inputs or [])
    settings = ExtractionSettings(include_face=face, max_side=max_side, frame_rate=fps)
    with terminal.progress() as bars:
        actors = workers if ray is None or workers > 1 else None  # on a cluster: one actor a core by default
        summary = extract_poses(items, out, settings, actors, cache, bar(bars, "extracting"), ray, output_format)
    for line in summary.describe():
        console.print(line, highlight=False, markup=False)
    if summary.failures and not summary.done and not summary.skipped:
        raise typer.Exit(code=1)


def _train(trainer: Callable[..., TrainResult], kind: type[TrainingOptions], values: dict[str, Any]) -> None:
    """Run a training command: ``--config`` (if any) with the command line's options over it; with
    ``--nproc N``, the same command in N processes started by torchrun (data-parallel)."""
    from signscribe.training.distributed import Distributed, launch, without_option

    settings = kind.from_options(values["config"], **values, **values["data_options"])
    if not settings.data:
        raise ValueError("give --data KIND:PATH (or data in --config)")
    if values.get("seeds"):  # an ensemble: a member a seed (as Ray tasks with --ray), combined into --out
        from signscribe.training.ensemble import train_ensemble

        if values["nproc"] > 1:
            raise ValueError("--seeds trains whole runs side by side; give it without --nproc")
        trainer = functools.partial(train_ensemble, seeds=values["seeds"], cluster=values["ray"])
    elif values.get("ray"):
        raise ValueError("--ray trains the members of an ensemble (--seeds) at once; one run trains here")
    if values["nproc"] > 1 and not Distributed.from_environment().active:
        raise typer.Exit(code=launch(values["nproc"], without_option(sys.argv[1:], "--nproc")))
    if not Distributed.from_environment().main:  # the other processes of a data-parallel run print nothing
        trainer(settings, values["out"], resume=values["resume"], workers=values["workers"])
        return
    with terminal.progress() as bars:
        options = {"hook": terminal.phase_bars(bars), "log": bars.console.print, "workers": values["workers"]}
        result = trainer(settings, values["out"], resume=values["resume"], **options)
    console.print(result.summary)


@command()
@option.offers(DataOptions)
def train(
    data: option.Data = None,
    config: option.Config = None,
    model: option.Family = None,
    weights: Annotated[str | None, typer.Option(help="Start from this checkpoint (.pt or .safetensors).")] = None,
    init_from: Annotated[str | None, typer.Option(help="Start from this model's encoder, with a new head.")] = None,
    freeze_encoder: Annotated[bool | None, typer.Option(help="With --init-from: train only the head.")] = None,
    epochs: option.PositiveInt = None,
    batch: option.PositiveInt = None,
    lr: option.Lr = None,
    fps: option.FrameRate = None,
    device: option.Device = None,
    precision: Annotated[str | None, typer.Option(help="fp32, bf16 or fp16 (CUDA) mixed precision.")] = None,
    accumulate: Annotated[int | None, typer.Option(min=1, help="Batches per optimizer step.")] = None,
    loader_workers: Annotated[int | None, typer.Option(min=0, help="DataLoader processes building batches.")] = None,
    frame_cache: Annotated[
        Path | None, typer.Option(help="RGB models: decode each clip once into this folder (--workers at a time).")
    ] = None,
    workers: option.Workers = 1,
    nproc: option.Nproc = 1,
    seeds: Annotated[
        list[int] | None,
        typer.Option(help="Train a member a seed (repeat it) and combine them into an ensemble in --out."),
    ] = None,
    ray: option.Ray = None,
    out: option.OutFolder = Path("model"),
    resume: option.Resume = False,
    *,
    data_options: dict[str, Any],
) -> None:
    """Train a sign classifier (landmarks are extracted once, through the pose cache); writes a model
    folder, history.csv and curves.png into --out. With --seeds, an ensemble: a member a seed in
    --out/members (on a Ray cluster at once with --ray), combined in --out."""
    from signscribe import TrainConfig
    from signscribe import train as run

    _train(run, TrainConfig, locals())


@command(name="train-translation")
@option.offers(DataOptions)
def train_translation(
    data: option.Data = None,
    config: option.Config = None,
    model: option.Family = None,
    epochs: option.PositiveInt = None,
    batch: option.PositiveInt = None,
    lr: option.Lr = None,
    vocab_size: Annotated[int | None, typer.Option(min=16, help="Largest subword vocabulary.")] = None,
    beam_size: Annotated[int | None, typer.Option(min=1, help="The saved model's default beam.")] = None,
    workers: option.Workers = 1,
    nproc: option.Nproc = 1,
    out: option.OutFolder = Path("translation-model"),
    resume: option.Resume = False,
    *,
    data_options: dict[str, Any],
) -> None:
    """Train a landmarks-to-English model on sentences (how2sign:, csv: with a sentence label, poses:).

    Each epoch writes generated_texts.csv, validation_scores.csv, history.csv and curves.png into --out."""
    from signscribe import TranslationConfig
    from signscribe import train_translation as run

    _train(run, TranslationConfig, locals())


@command()
@option.offers(DatasetOptions)
def evaluate(
    data: Annotated[str, typer.Option("--data", help=option.KINDS_HELP, metavar="KIND:PATH")],
    model: option.Model = None,
    split: Annotated[str | None, typer.Option(help="Only this split (e.g. test).")] = None,
    fps: option.FrameRate = None,
    device: option.Device = None,
    runtime: option.Runtime = "auto",
    workers: option.Workers = 1,
    ray: option.Ray = None,
    signer: Annotated[str | None, typer.Option(help="Only this signer's samples.")] = None,
    report: Annotated[Path | None, typer.Option(help="Folder for report.json and confusion_matrix.png.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the JSON report here.")] = None,
    strict: Annotated[bool, typer.Option(help="Fail (exit 1) when any sample is missing or fails to load.")] = False,
    prompt_config: option.PromptConfig = None,
    labels: option.Labels = None,
    load_in_4bit: option.LoadIn4bit = None,
    load_in_8bit: option.LoadIn8bit = None,
    dtype: option.Dtype = None,
    *,
    data_options: dict[str, Any],
) -> None:
    """Top-1/2/5/10 accuracy (per instance and per class), loss, per-class precision and recall.

    A vlm: model ranks --labels (default: the --glosses list) by its likelihood of each."""
    from signscribe import Recognizer
    from signscribe import evaluate as run
    from signscribe.evaluation import write_report
    from signscribe.export.runtime import on_runtime

    answers = (labels or data_options.get("glosses")) if option.is_vlm(model) else None
    vlm = option.vlm_options(prompt_config, answers, load_in_4bit, load_in_8bit, dtype)
    recognizer = Recognizer.from_pretrained(model, frame_rate=fps, device=device or "auto", vlm=vlm, cluster=ray)
    recognizer = on_runtime(recognizer, runtime)
    if not option.is_vlm(model):
        recognizer.only(labels)
    with terminal.progress() as bars:
        loading = bar(bars, "loading landmarks")
        result, failed = run(recognizer, data, split, signer, on_progress=loading, workers=workers, **data_options)
    console.print(terminal.evaluation_table(result))
    for sample, reason in failed[:SHOWN_FAILURES]:
        errors.print(f"  [red]left out[/red] {sample.id}: {reason}", highlight=False)
    if failed:
        more = f" ({len(failed) - SHOWN_FAILURES} not listed)" if len(failed) > SHOWN_FAILURES else ""
        missing = sum(reason.startswith("media not found") for _, reason in failed)
        errors.print(
            f"{len(failed)} sample(s) left out of the figures above: {missing} with missing media, "
            f"{len(failed) - missing} failed to load{more}"
        )
    wrote(*write_report(result, report, json_out))
    if failed and strict:
        errors.print("[red]error:[/red] --strict: samples were left out", highlight=False)
        raise typer.Exit(code=1)


@command()
def recognize(
    clips: Annotated[
        list[Path], typer.Argument(help="Videos, photos, .pose files, folders of them, or glob patterns.")
    ],
    model: option.Model = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, help="Glosses to report per clip.")] = 5,
    output_format: Annotated[
        str | None, typer.Option("--format", help="table, json or csv (default: --out's extension, else table).")
    ] = None,
    out: option.OutFile = None,
    results: Annotated[
        Path | None, typer.Option(help="Several clips: the top-10 file (default: inference_results.txt beside --out).")
    ] = None,
    workers: option.Workers = 1,
    ray: option.Ray = None,
    fps: option.FrameRate = None,
    device: option.Device = None,
    runtime: option.Runtime = "auto",
    explain: Annotated[bool, typer.Option(help="Attention weights in the results and a heatmap PNG per clip.")] = False,
    heatmaps: Annotated[
        Path | None, typer.Option(help="Folder of the heatmaps (default: beside --out, or here).")
    ] = None,
    prompt_config: option.PromptConfig = None,
    labels: option.Labels = None,
    load_in_4bit: option.LoadIn4bit = None,
    load_in_8bit: option.LoadIn8bit = None,
    dtype: option.Dtype = None,
    no_reject: Annotated[
        bool, typer.Option("--no-reject", help="Always rank the glosses, at rest or for signs the model does not know.")
    ] = False,
    no_limits: option.NoLimits = False,
) -> None:
    """Rank glosses with confidences for each clip given, and every clip of the folders given.

    A clip in which the signer rests gets no gloss ("no sign"), and so does one whose best gloss is
    below the confidence the model calibrated on signs outside its vocabulary ("not one of the N
    signs this model knows"); --no-reject keeps the forced choice (for benchmarks). A video over
    10 minutes is refused from its header unless --no-limits is given.

    --workers extracts the clips side by side, or one long video in that many parts at once. For
    several clips or a folder, a consolidated top-10 text file is also written: to --results, or as
    inference_results.txt beside --out (without either, none). --explain adds the model's attention
    over each clip (gloss_classifier, pose_transformer with pooling=attention).

    A photo (JPEG, PNG, WebP) shows a hand shape: a model of the hand input kind reads it, and when
    only photos are given --model defaults to fingerspelling. --labels letters (or digits) ranks one
    set only: V and 2, W and 6, O and 0 are the same hands.

    --model vlm:<hub id or folder> is a video language model: with --labels it ranks them by its
    likelihood of each, without it answers in its own words."""
    from signscribe import Recognizer
    from signscribe.export.runtime import on_runtime
    from signscribe.inference.clips import (
        PHOTO_MODEL,
        RESULT_FORMATS,
        format_results,
        only_photos,
        recognize_paths,
        write_recognition,
    )

    output_format = option.result_format(output_format, out, RESULT_FORMATS)
    photos_only = only_photos(clips)
    model = model or (PHOTO_MODEL if photos_only else None)
    vlm = option.vlm_options(prompt_config, labels if option.is_vlm(model) else None, load_in_4bit, load_in_8bit, dtype)
    # a folder's clips are extracted side by side; one video is cut into parts extracted side by side
    parts = workers if len(clips) == 1 and clips[0].is_file() and ray is None else 1
    recognizer = Recognizer.from_pretrained(
        model, frame_rate=fps, device=device or "auto", vlm=vlm, extraction_workers=parts, cluster=ray
    )
    recognizer = on_runtime(recognizer, runtime)
    if not option.is_vlm(model):
        recognizer.only(labels)
    recognizer.reject = not no_reject
    recognizer.limits = option.clip_limits(no_limits)
    if explain and not recognizer.explains:
        architecture = recognizer.loaded.config.get("architecture")
        note = f"this {architecture} model has no attention to show; --explain is left out"
        errors.print(f"[yellow]note:[/yellow] {note} (gloss_classifier and pose_transformer with pooling=attention "
                     "have one)", highlight=False)  # fmt: skip
        explain = False
    with terminal.progress() as bars:
        extracting = bar(bars, "extracting landmarks", visible=workers > 1)
        progress = bar(bars, "recognising")
        # one clip: its frames, with an ETA (a photo has none to read)
        frames = bar(bars, "reading frames", visible=parts == workers and not photos_only)
        recognition = recognize_paths(recognizer, clips, top_k, workers, progress, extracting, explain, frames)
    if out is None and output_format == "table":
        console.print(*terminal.recognition_tables(recognition, top_k))
    elif out is None:
        print(format_results(recognition.results, top_k, output_format, recognition.base), end="")
    wrote(*write_recognition(recognition, top_k, output_format, out, results))
    if explain:
        from signscribe.evaluation.plots import plot_recognition_attention

        wrote(*plot_recognition_attention(recognition, heatmaps or (out.parent if out else Path("."))))
    for note in terminal.recognition_notes(recognition, model or "default", recognizer.sign_seconds):
        errors.print(f"[yellow]note:[/yellow] {escape(note)}", highlight=False)
    for result in recognition.failed:
        errors.print(f"[red]failed[/red] {escape(terminal.failure(result.clip, result.error))}", highlight=False)
    if len(recognition.failed) == len(recognition.results):
        raise typer.Exit(code=1)


@command(name="models")
def list_model_families(
    name: Annotated[
        str | None, typer.Argument(help="A model (bundled name, folder or hub id): its glosses and figures.")
    ] = None,
    labels: Annotated[bool, typer.Option("--labels", help="With NAME: only its glosses, one a line.")] = False,
) -> None:
    """The bundled models (for `--model NAME` everywhere), then the model families (for `train --model`
    and `train-translation --model`) with their task and input kind. With NAME, that model: its task,
    family and input, its glosses, and the validation figures of its card."""
    from signscribe.models import list_models, model_family
    from signscribe.models.bundled import bundled_models, default_model_name
    from signscribe.models.pretrained import describe_pretrained

    if name is None:
        if labels:
            raise ValueError("--labels lists the glosses of one model: give its NAME")
        console.print(terminal.bundled_table(bundled_models(), default_model_name()))
        console.print(terminal.families_table([model_family(family) for family in list_models()]))
        return
    summary = describe_pretrained(name)
    if labels:
        for gloss in summary.labels:
            console.print(gloss, highlight=False, markup=False, soft_wrap=True)
        return
    for part in terminal.model_summary(summary):
        console.print(part)


@command()
def samples(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Copy the samples into this folder.")] = None,
) -> None:
    """The samples that ship with signscribe: 12 landmark clips of 4 signs by 3 signers (traduttore,
    MIT licence) and their samples.csv. Lists them, or copies them with --out."""
    from signscribe.data.samples import SAMPLES_DIR, copy_samples

    if out is None:
        console.print(f"{SAMPLES_DIR} (copy them with --out DIR):", highlight=False)
        console.print((SAMPLES_DIR / "samples.csv").read_text(encoding="utf-8").rstrip(), highlight=False)
        return
    errors.print(f"copied {len(copy_samples(out))} files into {out}", highlight=False)


@command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    model: option.Model = None,
    data_dir: Annotated[Path | None, typer.Option(help="Jobs database and uploads (default: user data dir).")] = None,
    max_upload_mb: Annotated[float | None, typer.Option(min=0.01, help="Largest accepted upload.")] = None,
    rate_limit: Annotated[int | None, typer.Option(min=0, help="Requests a minute per client; 0 = off.")] = None,
    device: option.Device = None,
    runtime: option.Runtime = "auto",
    prompt_config: option.PromptConfig = None,
    labels: option.Labels = None,
    load_in_4bit: option.LoadIn4bit = None,
    load_in_8bit: option.LoadIn8bit = None,
    dtype: option.Dtype = None,
) -> None:
    """Serve the REST API, the WebSocket stream and the web page (docs at /docs).

    API keys come from SIGNSCRIBE_API_KEYS (comma-separated) or SIGNSCRIBE_API_KEYS_FILE, CORS origins
    from SIGNSCRIBE_CORS_ORIGINS; the options here win over SIGNSCRIBE_DATA_DIR, SIGNSCRIBE_MAX_UPLOAD_MB
    and SIGNSCRIBE_RATE_LIMIT. A vlm: model answers REST requests and jobs; live streams refuse it."""
    from signscribe.serving import ServerSettings, serve_forever

    upload_bytes = int(max_upload_mb * 1024 * 1024) if max_upload_mb else None
    settings = ServerSettings.from_env(
        model=model, data_dir=data_dir, max_upload_bytes=upload_bytes, rate_limit_per_minute=rate_limit, device=device,
        runtime=runtime, model_options=option.vlm_options(prompt_config, labels, load_in_4bit, load_in_8bit, dtype),
    )  # fmt: skip
    serve_forever(settings, host, port, lambda line: errors.print(line, highlight=False))


__all__ = ["app", "command"]
