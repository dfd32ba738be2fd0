"""What the command line shows: progress bars that ``on_progress(done, total)`` callbacks move, and Rich
tables of each kind of result. Rendering only; the work is done by the public API."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.columns import Columns
from rich.console import Console, RenderableType
from rich.markdown import Markdown
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

if TYPE_CHECKING:
    from signscribe.data import Dataset
    from signscribe.evaluation.metrics import ClassificationReport
    from signscribe.evaluation.translation import TranslationScores
    from signscribe.inference.clips import Recognition
    from signscribe.inference.transcribe import Transcript
    from signscribe.io import VideoInfo
    from signscribe.models.bundled import BundledModel
    from signscribe.models.pretrained import ModelSummary
    from signscribe.models.registry import ModelFamily
    from signscribe.progress import ProgressCallback

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


def failure(clip: Path | str, reason: str) -> str:
    """A failed clip's line: its reason, which names the file once (a reason about the file starts
    with its path already)."""
    return reason if reason.startswith(str(clip)) else f"{clip}: {reason}"


def plural(count: int, noun: str) -> str:
    """``1 segment``, ``2 segments``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def progress() -> Progress:
    """Bars on stderr, so that stdout holds only results."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, TimeRemainingColumn(), console=errors)


def bar(bars: Progress, description: str, visible: bool = True) -> ProgressCallback:
    """A new bar, moved by ``on_progress(done, total)``."""
    task = bars.add_task(description, total=None, visible=visible)
    return lambda done, total: bars.update(task, completed=done, total=total)


def phase_bars(bars: Progress) -> Callable[[str, int], Callable[[], None]]:
    """A training ``ProgressHook``: each phase adds a bar and gets the function that advances it."""

    def hook(description: str, total: int) -> Callable[[], None]:
        task = bars.add_task(description, total=total)
        return lambda: bars.advance(task)

    return hook


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[str] = ()) -> Table:
    """A table; columns named in ``right`` are right-aligned (numbers). No columns: no header."""
    shown = Table(title=title, show_header=bool(columns))
    for column in columns or ("", ""):
        shown.add_column(column, justify="right" if column in right else "left")
    for row in rows:
        shown.add_row(*row)
    return shown


def probe_table(info: VideoInfo) -> Table:
    names = ("fps", "frame_count", "duration", "width", "height", "codec")
    values = [getattr(info, name) for name in names]
    return table(
        "", (), [(n, f"{v:.3f}" if isinstance(v, float) else str(v)) for n, v in zip(names, values, strict=True)]
    )


def dataset_table(data: Dataset) -> Table:
    counts = sorted(data.split_counts().items(), key=lambda item: str(item[0]))
    return table(
        f"{data.kind}: {data.source}",
        ("split", "samples"),
        [(s or "(none given)", str(n)) for s, n in counts],
        ("samples",),
    )


def evaluation_table(report: ClassificationReport) -> Table:
    rows = [(str(k), f"{v:.1%}", f"{report.mean_class_top_k[k]:.1%}") for k, v in report.top_k.items()]
    columns = ("k", "top-k accuracy", "mean per class")
    return table(f"{report.samples} samples, loss {report.loss:.3f}", columns, rows, columns[1:])


def scores_table(scores: TranslationScores) -> Table:
    rows = [("BLEU", f"{scores.bleu:.2f}"), ("chrF", f"{scores.chrf:.2f}")]
    rows += [(f"{name} F1", f"{getattr(scores, name):.4f}") for name in ("rouge1", "rouge2", "rougeL")]
    return table(f"{scores.sentences} sentences", ("metric", "score"), rows, ("score",))


def recognition_tables(recognition: Recognition, top_k: int) -> list[Table]:
    """A ranked table per clip that was recognised."""
    from signscribe.inference.clips import clip_name

    return [
        table(
            clip_name(result.clip, recognition.base),
            ("rank", "gloss", "confidence"),
            [(str(rank), p.gloss, f"{p.confidence:.1%}") for rank, p in enumerate(result.predictions[:top_k], 1)]
            or [("", result.no_gloss.message if result.no_gloss else "", "")],
            ("rank", "confidence"),
        )
        for result in recognition.results
        if not result.error
    ]


def recognition_notes(recognition: Recognition, model: str, sign_seconds: float) -> list[str]:
    """What a user should know of the results: where to look when a sign is none the model knows, and
    that a long video wants a transcript."""
    notes = []
    if any(result.no_gloss and result.no_gloss.code == "unknown_sign" for result in recognition.results):
        notes.append(f"a sign this model does not know: `signscribe models {model} --labels` lists the signs it "
                     "knows, `signscribe models` the other models, and `signscribe bank add` teaches a sign from "
                     "a few examples")  # fmt: skip
    for clip, seconds in recognition.long:
        notes.append(f"{clip} lasts {seconds:.0f} s, and this model reads one sign of about {sign_seconds:.1f} s: it "
                     "gives one gloss for the whole clip; `signscribe transcribe` gives a gloss for each sign, with "
                     "its time")  # fmt: skip
    return notes


def transcript_table(transcript: Transcript, name: str) -> Table:
    rows = [(f"{s.start:.2f}", f"{s.end:.2f}", s.gloss, f"{s.confidence:.1%}") for s in transcript.segments]
    title = f"{name}: {plural(len(transcript.segments), 'segment')} in {transcript.duration:.2f} s"
    return table(title, ("start", "end", "gloss", "confidence"), rows, ("start", "end", "confidence"))


def bundled_table(models: list[BundledModel], default: str) -> Table:
    rows = [(f"{m.name}{' (default)' if m.name == default else ''}", str(len(m.labels)), m.data, m.licence)
            for m in models]  # fmt: skip
    return table("bundled models", ("name", "labels", "trained on", "licence"), rows, ("labels",))


def families_table(families: list[ModelFamily]) -> Table:
    rows = [(family.name, family.task, family.input_kind) for family in families]
    return table("model families", ("family", "task", "input kind"), rows)


def card_figures(card: str) -> str:
    """The first section of a model card whose heading speaks of validation or accuracy, up to the end
    of its first table: the figures a user asks for first."""
    section = re.search(r"^## [^\n]*(?:validation|accuracy)[^\n]*\n.*?(?=^## |\Z)", card, re.M | re.S | re.I)
    if section is None:
        return ""
    table_end = re.search(r"^\|[^\n]*\n(?!\|)", section.group(0), re.M)
    return section.group(0)[: table_end.end()] if table_end else section.group(0)


def model_summary(summary: ModelSummary) -> list[RenderableType]:
    """What ``signscribe models NAME`` shows: the facts, the glosses, the card's title and figures."""
    title = next((line[2:] for line in summary.card.splitlines() if line.startswith("# ")), summary.folder.name)
    facts = [("folder", str(summary.folder)), ("task", summary.task), ("family", summary.architecture),
             ("input", summary.input_kind), ("glosses", str(len(summary.labels)))]  # fmt: skip
    if summary.label_sets:
        sets = ", ".join(f"{name} ({len(labels)})" for name, labels in summary.label_sets.items())
        facts.append(("--labels sets", sets))
    parts: list[RenderableType] = [table(title, (), facts)]
    if summary.labels:
        parts.append(Columns([escape(gloss) for gloss in summary.labels], equal=True, title="glosses"))
    if figures := card_figures(summary.card):
        parts.append(Markdown(figures))
    if summary.card:
        parts.append(f"The whole card: {escape(str(summary.folder / 'model_card.md'))}")
    return parts
