"""Getting the data: ``download wlasl``, ``prepare wlasl``, ``prepare how2sign``, and ``dataset show`` /
``dataset init`` (a dataset's summary; a table of one's own recordings)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from signscribe.cli import options as option
from signscribe.cli import terminal
from signscribe.cli.base import app, command, wrote
from signscribe.cli.terminal import bar, console, errors, plural
from signscribe.data.options import DatasetOptions

WLASL_LICENCE = (
    "WLASL is licensed under the Computational Use of Data Agreement (C-UDA 1.0): computational "
    "research only, no commercial use; the videos stay their websites' owners'. Read C-UDA-1.0.pdf "
    "beside WLASL_v0.3.json (https://github.com/dxli94/WLASL)."
)
HOW2SIGN_LICENCE = (
    "How2Sign is licensed under CC BY-NC 4.0: credit its authors, no commercial use (https://how2sign.github.io)."
)

download_app = typer.Typer(help="Fetch a dataset's videos.", no_args_is_help=True)
prepare_app = typer.Typer(help="Cut downloaded videos into clips ready to train on.", no_args_is_help=True)
dataset_app = typer.Typer(help="Look at a dataset, or list one's own recordings as one.", no_args_is_help=True)
app.add_typer(download_app, name="download", short_help="Fetch WLASL's videos: resumable, with a dead-link report")
app.add_typer(prepare_app, name="prepare", short_help="Cut raw WLASL or How2Sign videos into clips and a table")
app.add_typer(dataset_app, name="dataset", short_help="Summarise a dataset (show), or list a folder of clips (init)")

Json = Annotated[Path, typer.Option("--json", help="WLASL_v0.3.json (nslt_*.json beside it for --subset).")]
Subset = Annotated[int | None, typer.Option(help="Only the instances of nslt_<N>.json: 100, 300, 1000 or 2000.")]
Glosses = Annotated[
    str | None, typer.Option(metavar="FILE", help="Only these glosses: a file (one a line), or wlasl100 / wlasl300.")
]
Splits = Annotated[list[str] | None, typer.Option("--split", metavar="SPLIT", help="Only this split (repeatable).")]
RawDir = Annotated[Path, typer.Option("--raw", help="The folder of raw videos download wrote.")]


def _raws(json: Path, subset: int | None, glosses: str | None, split: list[str] | None) -> list[Any]:
    from signscribe.data.fetch.sources import raw_videos
    from signscribe.data.gloss_subset import read_glosses

    chosen = set(read_glosses(glosses)) if glosses else None
    return raw_videos(json, subset, chosen, set(split) if split else None)


@command("wlasl", group=download_app)
def download_wlasl(
    json: Json,
    subset: Subset = None,
    glosses: Glosses = None,
    split: Splits = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the raw videos.")] = Path("raw_videos"),
    jobs: Annotated[int, typer.Option(min=1, help="Downloads at once.")] = 4,
    per_host: Annotated[int, typer.Option(min=1, help="Downloads at once from one host.")] = 2,
    host_interval: Annotated[float, typer.Option(min=0, help="Seconds between two requests to one host.")] = 0.5,
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds without a byte before an attempt fails.")] = 30.0,
    attempts: Annotated[int, typer.Option(min=1, help="Tries of a URL that fails for a passing reason.")] = 4,
    retry_dead: Annotated[bool, typer.Option(help="Ask again the links an earlier run found dead.")] = False,
) -> None:
    """Fetch WLASL's raw videos (YouTube and other sites through yt-dlp, files over HTTP with resume),
    checked with PyAV; re-running skips what is complete and continues what is partial. Links that
    give no video go to OUT/download_report.csv with the reason."""
    from signscribe.data.fetch.download import REPORT, DownloadSettings, availability, count_statuses, download
    from signscribe.data.fetch.http import RetryPolicy
    from signscribe.data.fetch.sources import raw_videos, subset_members

    errors.print(WLASL_LICENCE, highlight=False)
    raws = _raws(json, subset, glosses, split)
    instances = sum(len(raw.instances) for raw in raws)
    fetching = f"{plural(instances, 'instance')} in {plural(len(raws), 'video')} to fetch into {out}"
    errors.print(fetching, highlight=False)
    policy = RetryPolicy(attempts=attempts, timeout=timeout)
    settings = DownloadSettings(jobs, per_host, host_interval, policy, retry_dead)
    with terminal.progress() as bars:
        outcomes = download(raws, out, settings, bar(bars, "downloading"))
    counts = count_statuses(outcomes)
    console.print(", ".join(f"{count} {status}" for status, count in sorted(counts.items())), highlight=False)
    shares = availability(subset_members(json), raw_videos(json), out)
    rows = [[f"WLASL{subset}", f"{usable:,}", f"{listed:,}", f"{usable / max(listed, 1):.1%}"]
            for subset, (usable, listed) in shares.items()]  # fmt: skip
    if rows:
        columns = ["subset", "instances", "of", "share"]
        console.print(terminal.table("usable now", columns, rows, columns[1:]))
    wrote(out / REPORT)
    if outcomes and not any(outcome.usable for outcome in outcomes):
        raise typer.Exit(code=1)


@command("wlasl", group=prepare_app)
def prepare_wlasl(
    json: Json,
    raw: RawDir = Path("raw_videos"),
    subset: Subset = None,
    glosses: Glosses = None,
    split: Splits = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the clips and wlasl.csv.")] = Path("wlasl"),
    crop: Annotated[bool, typer.Option(help="Crop each clip to its instance's bbox.")] = False,
) -> None:
    """Cut every instance from its raw video by frame_start/frame_end (each video decoded once) into
    OUT/videos/<video_id>.mp4, listed in OUT/wlasl.csv (path,label,split,signer): train --data csv:..."""
    from signscribe.data.fetch.prepare import prepare_wlasl as prepare

    errors.print(WLASL_LICENCE, highlight=False)
    with terminal.progress() as bars:
        result = prepare(_raws(json, subset, glosses, split), raw, out, crop, bar(bars, "cutting"))
    _report(result)


@command("how2sign", group=prepare_app)
def prepare_how2sign(
    csv: Annotated[Path, typer.Argument(help="A How2Sign how2sign_realigned_<split>.csv.")],
    videos: Annotated[Path, typer.Option("--videos", help="The folder of full videos (<VIDEO_NAME>.mp4).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for clips/ and the CSV.")] = Path("how2sign"),
) -> None:
    """Cut every sentence from its full video by START_REALIGNED/END_REALIGNED into OUT/clips, with the
    CSV copied beside: how2sign:OUT/<csv name> reads it."""
    from signscribe.data.fetch.prepare import prepare_how2sign as prepare

    errors.print(HOW2SIGN_LICENCE, highlight=False)
    with terminal.progress() as bars:
        result = prepare(csv, videos, out, bar(bars, "cutting"))
    _report(result)


def _report(result: Any) -> None:
    console.print(f"{plural(result.written, 'clip')} written, {result.kept} kept from before, "
                  f"{result.missing} without a source video, {len(result.failed)} failed", highlight=False)  # fmt: skip
    for where, reason in list(result.failed.items())[:20]:
        errors.print(f"{where}: {reason}", highlight=False, markup=False)
    wrote(result.table)


@command("show", group=dataset_app)
@option.offers(DatasetOptions)
def dataset_show(spec: option.DatasetSpec, data_options: dict[str, Any]) -> None:
    """Summarise a dataset: samples per split, labels, and instances whose media is missing."""
    from signscribe import open_dataset

    data = open_dataset(spec, **data_options)
    console.print(terminal.dataset_table(data))
    for note in data.notes:
        console.print(note)
    console.print(f"{len(data)} samples with media, {len(data.missing)} missing, {len(data.labels)} labels")


@command("init", group=dataset_app)
def dataset_init(
    folder: Annotated[Path, typer.Argument(help="A folder of <gloss>/<clip> (videos, photos, .pose).")],
    signer_pattern: Annotated[
        str | None, typer.Option(help="A regular expression finding the signer in a clip's name: its group 'signer'.")
    ] = None,
    min_clips: Annotated[int, typer.Option(min=1, help="Name the labels with fewer clips than this.")] = 5,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="The table (default FOLDER/dataset.csv).")] = None,
) -> None:
    """List a folder of one's own clips, laid out as <gloss>/<clip>, as a csv: dataset (path,label,split,signer)."""
    from signscribe.data.folders import init_dataset

    result = init_dataset(folder, signer_pattern, min_clips, out)
    signers = f" by {plural(result.signers, 'signer')}" if signer_pattern else ""
    console.print(f"{plural(result.clips, 'clip')} of {plural(len(result.per_class), 'label')}{signers}")
    if result.small:
        listed = ", ".join(f"{label} ({count})" for label, count in list(result.small.items())[:20])
        small = f"{plural(len(result.small), 'label')} with fewer than {min_clips} clips: {listed}"
        errors.print(small, highlight=False)
    if result.no_signer:
        errors.print(f"{plural(len(result.no_signer), 'clip')} whose name the pattern does not match, "
                     f"e.g. {result.no_signer[0]}", highlight=False)  # fmt: skip
    if result.ignored:
        errors.print(f"{plural(len(result.ignored), 'file')} passed over (not in a label's folder, or not media), "
                     f"e.g. {result.ignored[0]}", highlight=False)  # fmt: skip
    wrote(result.table)
    console.print(f"train with: signscribe train --data csv:{result.table}", highlight=False)
