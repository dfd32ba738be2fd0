"""The ``signscribe`` command line: one Typer app over the whole toolkit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from signscribe import __version__
from signscribe.errors import SignscribeError
from signscribe.files import write_text_atomic

if TYPE_CHECKING:
    from signscribe.data.extraction import ExtractionSummary

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
    str | None, typer.Option("--data", help="A dataset as KIND:PATH (wlasl, how2sign, mp_data, csv).")
]
VideosOption = Annotated[Path | None, typer.Option(help="Video folder for wlasl: and how2sign: datasets.")]
SubsetOption = Annotated[int | None, typer.Option(help="WLASL subset: 100, 300, 1000 or 2000.")]


@app.command()
def dataset(
    spec: Annotated[str, typer.Argument(help="A dataset as KIND:PATH (wlasl, how2sign, mp_data, csv).")],
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

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=errors) as progress:
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
