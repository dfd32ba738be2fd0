"""The ``signscribe`` command line: one Typer app over the whole toolkit."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from signscribe import __version__
from signscribe.errors import SignscribeError
from signscribe.files import write_text_atomic

if TYPE_CHECKING:
    from signscribe.data.extraction import ExtractionSummary
    from signscribe.inference.batch import ClipResult
    from signscribe.training.config import ConfigFile

OptionsType = TypeVar("OptionsType", bound="ConfigFile")

app = typer.Typer(
    name="signscribe",
    help="Sign-language video to text: pose extraction, datasets, recognition.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        console.print(f"signscribe {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Sign-language video to text."""


def _fail(error: Exception) -> typer.Exit:
    errors.print(f"[red]error:[/red] {error}", highlight=False)
    return typer.Exit(code=2)


@app.command()
def probe(video: Annotated[Path, typer.Argument(help="A video file.")]) -> None:
    """Show a video's fps, frame count, duration, resolution and codec."""
    from signscribe.io import probe as probe_video

    try:
        info = probe_video(video)
    except SignscribeError as error:
        raise _fail(error) from None
    table = Table(show_header=False)
    for name in ("fps", "frame_count", "duration", "width", "height", "codec"):
        value = getattr(info, name)
        table.add_row(name, f"{value:.3f}" if isinstance(value, float) else str(value))
    console.print(table)


DataOption = Annotated[
    str | None, typer.Option("--data", help="A dataset as KIND:PATH (wlasl, how2sign, mp_data, csv, poses).")
]
VideosOption = Annotated[Path | None, typer.Option(help="Video folder for wlasl: and how2sign: datasets.")]
SubsetOption = Annotated[int | None, typer.Option(help="WLASL subset: 100, 300, 1000 or 2000.")]
SignerBlockOption = Annotated[
    int | None, typer.Option(help="mp_data: each signer recorded this many consecutive sequence numbers.")
]
ValOption = Annotated[str | None, typer.Option(help="Validation data as KIND:PATH (default: a split of --data).")]
ConfigOption = Annotated[Path | None, typer.Option(help="JSON or TOML file with any of these options.")]
FamilyOption = Annotated[str | None, typer.Option(help="Model family (see `signscribe models`).")]
EpochsOption = Annotated[int | None, typer.Option(min=1)]
BatchOption = Annotated[int | None, typer.Option(min=1)]
LrOption = Annotated[float | None, typer.Option(min=0.0)]
SeedOption = Annotated[int | None, typer.Option()]
ResumeOption = Annotated[bool, typer.Option(help="Continue the run whose checkpoint is in --out.")]
ModelOption = Annotated[
    str | None,
    typer.Option("--model", "-m", help="Model folder or hub id (default: the model shipped in the package)."),
]


def _progress() -> Progress:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    return Progress(*columns, console=errors)


def _step_hook(progress: Progress) -> Callable[[str, int], Callable[[], None]]:
    """``hook(description, total)`` adds a bar and returns the function that advances it by one."""

    def hook(description: str, total: int) -> Callable[[], None]:
        task = progress.add_task(description, total=total)
        return lambda: progress.advance(task)

    return hook


@app.command()
def dataset(
    spec: Annotated[str, typer.Argument(help="A dataset as KIND:PATH (wlasl, how2sign, mp_data, csv, poses).")],
    videos: VideosOption = None,
    subset: SubsetOption = None,
) -> None:
    """Summarise a dataset: samples per split, labels, and instances whose media is missing."""
    from signscribe.data import open_dataset

    try:
        data = open_dataset(spec, videos=videos, subset=subset)
    except (SignscribeError, ValueError) as error:
        raise _fail(error) from None
    table = Table(title=f"{data.kind}: {data.source}")
    table.add_column("split")
    table.add_column("samples", justify="right")
    for split, count in sorted(data.split_counts().items(), key=lambda item: str(item[0])):
        table.add_row(str(split), str(count))
    console.print(table)
    console.print(f"{len(data)} samples with media, {len(data.missing)} missing, {len(data.labels)} labels")


@app.command()
def extract(
    inputs: Annotated[list[Path] | None, typer.Argument(help="Videos or folders of videos.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the .pose files.")] = Path("poses"),
    data: DataOption = None,
    videos: VideosOption = None,
    subset: SubsetOption = None,
    split: Annotated[str | None, typer.Option(help="Only this split of the dataset.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Processes extracting in parallel.")] = 1,
    face: Annotated[bool, typer.Option(help="Also keep the 468 face landmarks.")] = False,
    max_side: Annotated[int | None, typer.Option(min=64, help="Shrink frames to this longer side first.")] = None,
    cache: Annotated[bool, typer.Option(help="Reuse and fill the pose cache.")] = True,
) -> None:
    """Extract MediaPipe Holistic landmarks into .pose files (resumable: existing outputs are skipped)."""
    from signscribe.data import open_dataset
    from signscribe.data.extraction import jobs_for_paths, jobs_for_samples, run_extraction
    from signscribe.pose import ExtractionSettings, default_cache_dir

    if bool(inputs) == bool(data):
        raise _fail(ValueError("give either videos/folders or --data KIND:PATH"))
    try:
        if data:
            dataset_ = open_dataset(data, videos=videos, subset=subset)
            if split:
                dataset_ = dataset_.select(split)
            if dataset_.missing:
                errors.print(f"{len(dataset_.missing)} instances have no media and are left out")
            jobs = jobs_for_samples(dataset_.samples, out)
        else:
            missing = [path for path in inputs or [] if not path.exists()]
            if missing:
                raise SignscribeError(f"{missing[0]}: file not found")
            jobs = jobs_for_paths(inputs or [], out)
        settings = ExtractionSettings(include_face=face, max_side=max_side)
    except (SignscribeError, ValueError) as error:
        raise _fail(error) from None
    if not jobs:
        raise _fail(SignscribeError("no videos to extract"))

    with _progress() as progress:
        task = progress.add_task("extracting", total=len(jobs))
        summary = run_extraction(
            jobs,
            settings,
            workers=workers,
            cache_dir=default_cache_dir() if cache else None,
            on_result=lambda result: progress.advance(task),
        )
    _print_summary(summary)
    write_text_atomic(out / "extract_summary.json", json.dumps(summary.to_dict(), indent=2))
    if summary.failures and not summary.done and not summary.skipped:
        raise typer.Exit(code=1)


def _print_summary(summary: ExtractionSummary) -> None:
    shares = summary.shares()
    console.print(
        f"done {summary.done}, skipped {summary.skipped} (already extracted), failed {len(summary.failures)}; "
        f"{summary.frames} frames: body {shares['pose']:.1%}, left hand {shares['left_hand']:.1%}, "
        f"right hand {shares['right_hand']:.1%}"
    )
    for identifier, reason in summary.failures:
        console.print(f"  [red]failed[/red] {identifier}: {reason}", highlight=False)


def _training_options(kind: type[OptionsType], config: Path | None, options: dict[str, Any]) -> OptionsType:
    """The options of a training command: ``--config`` (if any) with the command line's over it."""
    if config is not None:
        settings = kind.from_file(config, **options)
    else:
        settings = kind(**{k: v for k, v in options.items() if v is not None})
    if not settings.data:
        raise ValueError("give --data KIND:PATH (or data in --config)")
    return settings


@app.command()
def train(
    data: DataOption = None,
    val: ValOption = None,
    config: ConfigOption = None,
    model: FamilyOption = None,
    epochs: EpochsOption = None,
    batch: BatchOption = None,
    lr: LrOption = None,
    seed: SeedOption = None,
    split_by: Annotated[str | None, typer.Option(help="random (stratified by label) or signer.")] = None,
    holdout_signer: Annotated[str | None, typer.Option(help="With --split-by signer: validate on this signer.")] = None,
    videos: VideosOption = None,
    subset: SubsetOption = None,
    sequences_per_signer: SignerBlockOption = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the model and the training logs.")] = Path(
        "model"
    ),
    resume: ResumeOption = False,
) -> None:
    """Train a sign classifier on landmarks; writes a model folder, history.csv and curves.png into --out."""
    from signscribe.training import TrainConfig
    from signscribe.training import train as run_training

    options = {
        "data": data,
        "val": val,
        "model": model,
        "epochs": epochs,
        "batch": batch,
        "lr": lr,
        "seed": seed,
        "split_by": split_by,
        "holdout_signer": holdout_signer,
        "videos": str(videos) if videos else None,
        "subset": subset,
        "sequences_per_signer": sequences_per_signer,
    }
    try:
        settings = _training_options(TrainConfig, config, options)
        with _progress() as progress:
            hook = _step_hook(progress)

            def report(row: dict[str, float]) -> None:
                progress.console.print(
                    f"epoch {row['epoch']}: train loss {row['train_loss']:.3f} top-1 {row['train_top1']:.1%} | "
                    f"val loss {row['val_loss']:.3f} top-1 {row['val_top1']:.1%} top-5 {row['val_top5']:.1%}"
                )

            result = run_training(settings, out, resume=resume, hook=hook, on_epoch=report)
    except (SignscribeError, ValueError) as error:
        raise _fail(error) from None
    stop = " (stopped early)" if result.stopped_early else ""
    kept = f"epoch {result.best_epoch}" if settings.select_best else f"the last epoch, {result.history[-1]['epoch']}"
    console.print(
        f"best epoch {result.best_epoch}{stop}: val top-1 {result.best['val_top1']:.1%}, "
        f"top-5 {result.best['val_top5']:.1%}; model folder {out} holds {kept}"
    )


@app.command(name="train-translation")
def train_translation(
    data: DataOption = None,
    val: ValOption = None,
    config: ConfigOption = None,
    model: FamilyOption = None,
    epochs: EpochsOption = None,
    batch: BatchOption = None,
    lr: LrOption = None,
    seed: SeedOption = None,
    vocab_size: Annotated[int | None, typer.Option(min=16, help="Largest subword vocabulary.")] = None,
    beam_size: Annotated[int | None, typer.Option(min=1, help="The saved model's default beam.")] = None,
    videos: VideosOption = None,
    val_videos: Annotated[Path | None, typer.Option(help="Video folder of --val, if not --videos.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Processes extracting landmarks in parallel first.")] = 1,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the model and the training logs.")] = Path(
        "translation-model"
    ),
    resume: ResumeOption = False,
) -> None:
    """Train a landmarks-to-English model on sentences (how2sign:, csv: with a sentence label, poses:).

    Each epoch writes generated_texts.csv, validation_scores.csv, history.csv and curves.png into --out."""
    from signscribe.pose import HolisticExtractor, PoseCache
    from signscribe.training.translation import TranslationConfig
    from signscribe.training.translation import train_translation as run_training

    options = {
        "data": data,
        "val": val,
        "model": model,
        "epochs": epochs,
        "batch": batch,
        "lr": lr,
        "seed": seed,
        "vocab_size": vocab_size,
        "beam_size": beam_size,
        "videos": str(videos) if videos else None,
        "val_videos": str(val_videos) if val_videos else None,
    }
    try:
        settings = _training_options(TranslationConfig, config, options)
        with _progress() as progress:

            def report(row: dict[str, float]) -> None:
                progress.console.print(
                    f"epoch {row['epoch']}: train loss {row['train_loss']:.3f} | val loss {row['val_loss']:.3f} "
                    f"BLEU {row['bleu']:.2f} chrF {row['chrf']:.2f} ROUGE-L {row['rougeL']:.3f}"
                )

            result = run_training(
                settings,
                out,
                resume=resume,
                hook=_step_hook(progress),
                extractor=HolisticExtractor(cache=PoseCache()),
                on_epoch=report,
                workers=workers,
            )
    except (SignscribeError, ValueError) as error:
        raise _fail(error) from None
    stop = " (stopped early)" if result.stopped_early else ""
    console.print(
        f"best epoch {result.best_epoch}{stop}: val BLEU {result.best['bleu']:.2f}, "
        f"ROUGE-L {result.best['rougeL']:.3f}; model folder {out}"
    )


@app.command()
def translate(
    clips: Annotated[list[Path], typer.Argument(help="Videos or .pose files, one sentence each.")],
    model: Annotated[str, typer.Option("--model", "-m", help="Translation model folder or hub id.")],
    beam_size: Annotated[int | None, typer.Option(min=1, help="1 = greedy (default: the model's).")] = None,
    max_length: Annotated[int | None, typer.Option(min=1, help="Most tokens to generate.")] = None,
    length_penalty: Annotated[float | None, typer.Option(help="Above 0 favours longer sentences.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write one sentence per line here.")] = None,
) -> None:
    """Translate signing clips to English sentences with a model from train-translation."""
    from signscribe.inference.translator import Translator

    try:
        translator = Translator.from_pretrained(model)
        sentences = []
        with _progress() as progress:
            task = progress.add_task("translating", total=len(clips))
            for clip in clips:
                sentences.append(translator.translate(clip, beam_size, max_length, length_penalty))
                progress.advance(task)
    except (SignscribeError, ValueError) as error:
        raise _fail(error) from None
    if out is not None:
        write_text_atomic(out, "".join(f"{sentence}\n" for sentence in sentences))
        console.print(f"wrote {out}")
    else:
        for clip, sentence in zip(clips, sentences, strict=True):
            print(f"{clip}\t{sentence}" if len(clips) > 1 else sentence)


@app.command(name="evaluate-translation")
def evaluate_translation(
    hyp: Annotated[Path, typer.Option(help="Hypotheses, one per line, or a generated_texts.csv.")],
    ref: Annotated[Path | None, typer.Option(help="References, one per line (not with a CSV).")] = None,
    epoch: Annotated[int | None, typer.Option(help="With a generated_texts.csv: this epoch (default: last).")] = None,
    lowercase: Annotated[bool, typer.Option(help="Case-insensitive BLEU and chrF.")] = False,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the scores as JSON here.")] = None,
) -> None:
    """Corpus BLEU (sacrebleu, 13a) with its signature, chrF, and ROUGE-1/2/L F1 (rouge-score, mean)."""
    from signscribe.evaluation.translation import read_generated_texts, read_lines, translation_scores

    try:
        if hyp.suffix == ".csv":
            if ref is not None:
                raise ValueError("a generated_texts.csv holds its references; leave out --ref")
            hypotheses, references, chosen = read_generated_texts(hyp, epoch)
            console.print(f"{hyp}: epoch {chosen}")
        else:
            if ref is None:
                raise ValueError("give --ref with the reference sentences")
            hypotheses, references = read_lines(hyp), read_lines(ref)
            if len(hypotheses) != len(references):
                raise SignscribeError(f"{hyp}: {len(hypotheses)} lines but {ref} has {len(references)}")
        scores = translation_scores(hypotheses, references, lowercase)
    except (SignscribeError, ValueError) as error:
        raise _fail(error) from None
    table = Table(title=f"{scores.sentences} sentences")
    table.add_column("metric")
    table.add_column("score", justify="right")
    for name, value in (("BLEU", scores.bleu), ("chrF", scores.chrf)):
        table.add_row(name, f"{value:.2f}")
    for name in ("rouge1", "rouge2", "rougeL"):
        table.add_row(f"{name} F1", f"{getattr(scores, name):.4f}")
    console.print(table)
    console.print(scores.bleu_signature, highlight=False)
    console.print(scores.chrf_signature, highlight=False)
    if json_out is not None:
        write_text_atomic(json_out, json.dumps(scores.to_dict(), indent=2) + "\n")
        console.print(f"wrote {json_out}")


@app.command()
def evaluate(
    data: Annotated[str, typer.Option("--data", help="A dataset as KIND:PATH.")],
    model: ModelOption = None,
    split: Annotated[str | None, typer.Option(help="Only this split (e.g. test).")] = None,
    videos: VideosOption = None,
    subset: SubsetOption = None,
    sequences_per_signer: SignerBlockOption = None,
    signer: Annotated[str | None, typer.Option(help="Only this signer's samples.")] = None,
    report: Annotated[Path | None, typer.Option(help="Folder for report.json and confusion_matrix.png.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the JSON report here.")] = None,
) -> None:
    """Top-1/2/5/10 accuracy (per instance and per class), loss, per-class precision and recall."""
    from signscribe.evaluation import evaluate as run_evaluation
    from signscribe.evaluation import write_report
    from signscribe.inference import Recognizer

    try:
        recognizer = Recognizer.from_pretrained(model)
        with _progress() as progress:
            task = progress.add_task("loading landmarks", total=None)
            result, failed = run_evaluation(
                recognizer,
                data,
                split,
                videos,
                subset,
                sequences_per_signer,
                signer,
                on_progress=lambda: progress.advance(task),
            )
    except (SignscribeError, ValueError) as error:
        raise _fail(error) from None
    table = Table(title=f"{result.samples} samples, loss {result.loss:.3f}")
    table.add_column("k")
    table.add_column("top-k accuracy", justify="right")
    table.add_column("mean per class", justify="right")
    for k, value in result.top_k.items():
        table.add_row(str(k), f"{value:.1%}", f"{result.mean_class_top_k[k]:.1%}")
    console.print(table)
    for sample, reason in failed:
        console.print(f"  [red]failed[/red] {sample.id}: {reason}", highlight=False)
    for path in write_report(result, report, json_out):
        console.print(f"wrote {path}")


@app.command()
def recognize(
    clip: Annotated[Path, typer.Argument(help="A video, a .pose file, or a folder of them.")],
    model: ModelOption = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, help="Glosses to report per clip.")] = 5,
    output_format: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the results here instead of stdout.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Processes extracting landmarks in parallel.")] = 1,
) -> None:
    """Rank glosses with confidences for a clip, or for every clip of a folder.

    For a folder, a consolidated top-10 text file (inference_results.txt) is also written beside
    --out (or in the current folder)."""
    from signscribe.inference import Recognizer
    from signscribe.inference.batch import clips_in, format_results, recognize_all, top10_text

    if output_format not in ("table", "json", "csv"):
        raise _fail(ValueError(f"--format must be table, json or csv, not {output_format!r}"))
    if not clip.exists():
        raise _fail(SignscribeError(f"{clip}: file not found"))
    clips = clips_in(clip)
    if not clips:
        raise _fail(SignscribeError(f"{clip}: no videos or .pose files in this folder"))
    try:
        recognizer = Recognizer.from_pretrained(model)
    except SignscribeError as error:
        raise _fail(error) from None
    depth = max(top_k, 10) if clip.is_dir() else top_k
    with _progress() as progress:
        extracting = progress.add_task("extracting landmarks", total=len(clips), visible=workers > 1)
        task = progress.add_task("recognising", total=len(clips))
        results = recognize_all(
            recognizer,
            clips,
            depth,
            workers,
            on_result=lambda r: progress.advance(task),
            on_extracted=lambda: progress.advance(extracting),
        )
    base = clip if clip.is_dir() else clip.parent
    text = format_results(results, top_k, output_format, base)
    if out is not None:
        write_text_atomic(out, text)
        console.print(f"wrote {out}")
    elif output_format == "table":
        _print_tables(results, top_k, base)
    else:
        print(text, end="")
    if clip.is_dir():
        summary = (out.parent if out else Path.cwd()) / "inference_results.txt"
        write_text_atomic(summary, top10_text(results, base))
        console.print(f"wrote {summary}")
    failed = [r for r in results if r.error]
    for result in failed:
        errors.print(f"[red]failed[/red] {result.clip}: {result.error}", highlight=False)
    if len(failed) == len(results):
        raise typer.Exit(code=1)


def _print_tables(results: list[ClipResult], top_k: int, base: Path) -> None:
    from signscribe.inference.batch import clip_name

    for result in results:
        if result.error:
            continue
        table = Table(title=clip_name(result.clip, base))
        table.add_column("rank", justify="right")
        table.add_column("gloss")
        table.add_column("confidence", justify="right")
        for rank, prediction in enumerate(result.predictions[:top_k], start=1):
            table.add_row(str(rank), prediction.gloss, f"{prediction.confidence:.1%}")
        console.print(table)


@app.command()
def transcribe(
    video: Annotated[Path, typer.Argument(help="A video (or a .pose file) of continuous signing.")],
    model: ModelOption = None,
    output_format: Annotated[str, typer.Option("--format", help="table, json, srt or vtt.")] = "table",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the transcript here, not to stdout.")] = None,
    annotate: Annotated[
        Path | None, typer.Option(help="Also write a copy of the video with landmarks and captions (MP4).")
    ] = None,
    window: Annotated[int | None, typer.Option(min=2, help="Frames per window (default: the model's clips).")] = None,
    stride: Annotated[int | None, typer.Option(min=1, help="Frames between windows (default: window / 4).")] = None,
    min_confidence: Annotated[float, typer.Option(min=0.0, max=1.0, help="Drop segments below this.")] = 0.5,
    min_hand_presence: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of a window's frames with a hand to count as signing.")
    ] = 0.5,
    min_motion: Annotated[
        float, typer.Option(min=0.0, help="Hand motion (shoulder widths per frame) to count as signing.")
    ] = 0.01,
) -> None:
    """A timed gloss transcript of continuous signing: sliding-window recognition, sign/no-sign
    segmentation, and segments with start, end, gloss and confidence."""
    from signscribe.inference.annotate import LandmarkSpool, annotate_video
    from signscribe.inference.subtitles import TRANSCRIPT_FORMATS, format_transcript
    from signscribe.inference.transcribe import LandmarkFrame, Transcriber, TranscriptionSettings
    from signscribe.io import probe as probe_video

    if output_format not in TRANSCRIPT_FORMATS:
        raise _fail(ValueError(f"--format must be one of {', '.join(TRANSCRIPT_FORMATS)}, not {output_format!r}"))
    if annotate is not None and video.suffix == ".pose":
        raise _fail(ValueError("--annotate draws on the video; give a video, not a .pose file"))
    try:
        settings = TranscriptionSettings(window, stride, min_confidence, min_hand_presence, min_motion)
        transcriber = Transcriber.from_pretrained(model, settings)
        expected = probe_video(video).frame_count if video.suffix != ".pose" else None
        with LandmarkSpool() as spool, _progress() as progress:
            task = progress.add_task("transcribing", total=expected)

            def on_frame(frame: LandmarkFrame) -> None:
                progress.advance(task)
                if annotate is not None:
                    spool.add(frame)

            transcript = transcriber.transcribe(video, on_frame=on_frame)
            if annotate is not None:
                drawing = progress.add_task("drawing", total=transcript.frames)
                annotate_video(video, transcript, spool.read(), annotate, lambda: progress.advance(drawing))
    except (SignscribeError, ValueError) as error:
        raise _fail(error) from None
    if out is not None:
        text = format_transcript(transcript, "json" if output_format == "table" else output_format)
        write_text_atomic(out, text)
        console.print(f"wrote {out}")
    elif output_format == "table":
        table = Table(title=f"{video.name}: {len(transcript.segments)} segments in {transcript.duration:.2f} s")
        for column in ("start", "end", "gloss", "confidence"):
            table.add_column(column, justify="left" if column == "gloss" else "right")
        for segment in transcript.segments:
            table.add_row(f"{segment.start:.2f}", f"{segment.end:.2f}", segment.gloss, f"{segment.confidence:.1%}")
        console.print(table)
    else:
        print(format_transcript(transcript, output_format), end="")
    if annotate is not None:
        console.print(f"wrote {annotate}")


@app.command(name="models")
def list_model_families() -> None:
    """List the model families: recognition ones for `train --model`, translation ones for
    `train-translation --model`."""
    from signscribe.models import list_models, model_task

    for name in list_models():
        console.print(f"{name}\t{model_task(name)}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    model: ModelOption = None,
    data_dir: Annotated[Path | None, typer.Option(help="Jobs database and uploads (default: user data dir).")] = None,
    max_upload_mb: Annotated[float | None, typer.Option(min=0.01, help="Largest accepted upload.")] = None,
    rate_limit: Annotated[
        int | None, typer.Option(min=0, help="Requests a minute per key or address; 0 = off.")
    ] = None,
) -> None:
    """Serve the REST API, the WebSocket stream and the web page (docs at /docs).

    API keys come from SIGNSCRIBE_API_KEYS (comma-separated) or SIGNSCRIBE_API_KEYS_FILE, CORS origins
    from SIGNSCRIBE_CORS_ORIGINS; the options here win over SIGNSCRIBE_DATA_DIR, SIGNSCRIBE_MAX_UPLOAD_MB
    and SIGNSCRIBE_RATE_LIMIT."""
    import uvicorn

    from signscribe.serving import ServerSettings, create_app

    try:
        settings = ServerSettings.from_env(
            model=model,
            data_dir=data_dir,
            max_upload_bytes=int(max_upload_mb * 1024 * 1024) if max_upload_mb else None,
            rate_limit_per_minute=rate_limit,
        )
        application = create_app(settings)
    except SignscribeError as error:
        raise _fail(error) from None
    keys = f"{len(settings.api_keys)} API key(s) required" if settings.api_keys else "no API key required"
    console.print(f"signscribe serving on http://{host}:{port} ({keys}; data in {settings.data_dir})")
    uvicorn.run(application, host=host, port=port, log_level="warning")
