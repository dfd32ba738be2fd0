"""Recognise a clip or every clip of a folder: parallel pose extraction into the cache, then the model,
and the results as a table, JSON, CSV and the top-10 ``inference_results.txt``."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from signscribe.errors import InputFileError, SignscribeError
from signscribe.files import write_text_atomic
from signscribe.inference.recognizer import Attention, NoGloss, Prediction, Recognizer
from signscribe.pose.batch import VIDEO_SUFFIXES
from signscribe.pose.posefile import POSE_SUFFIX
from signscribe.pose.source import Clip
from signscribe.progress import ProgressCallback

CLIP_SUFFIXES = (*VIDEO_SUFFIXES, POSE_SUFFIX)
RESULT_FORMATS = ("table", "json", "csv")
TOP10_FILE = "inference_results.txt"  # a section of top-10 glosses per video, as the WLASL2000 I3D batch CLI writes


@dataclass
class ClipResult:
    clip: Path
    predictions: list[Prediction]
    error: str = ""
    attention: Attention | None = None  # with explain
    no_gloss: NoGloss | None = None  # why a clip that was read gets no gloss (then ``predictions`` is empty)


@dataclass
class Recognition:
    """The results of ``recognize_path``: one per clip, named relative to ``base``."""

    results: list[ClipResult]
    base: Path
    folder: bool  # whether a folder was recognised (and so a top-10 file is written)

    @property
    def failed(self) -> list[ClipResult]:
        return [r for r in self.results if r.error]


def clips_in(path: Path) -> list[Path]:
    """The clip itself, or the videos and ``.pose`` files under a folder, sorted."""
    if path.is_dir():
        return [p for p in sorted(path.rglob("*")) if p.is_file() and p.suffix.lower() in CLIP_SUFFIXES]
    return [path]


def unreadable_in(path: Path) -> list[ClipResult]:
    """The entries under a folder named like clips that are no regular file (a FIFO, a socket, a
    device, a link that loops or leads nowhere), each failed with what it is: never opened (reading a
    FIFO would wait for ever), never skipped unsaid."""
    if not path.is_dir():
        return []
    failed = []
    for entry in sorted(path.rglob("*")):
        if entry.suffix.lower() not in CLIP_SUFFIXES or entry.is_file() or entry.is_dir():
            continue
        if entry.is_symlink():
            reason = "a symbolic link that loops or leads to nothing"
        else:
            reason = "a FIFO" if entry.is_fifo() else "a socket or device"
        failed.append(ClipResult(entry, [], str(InputFileError(entry, f"not a regular file: {reason}"))))
    return failed


def recognize_clips(
    recognizer: Recognizer,
    clips: list[Path],
    top_k: int,
    workers: int = 1,
    on_progress: ProgressCallback | None = None,
    on_extracted: ProgressCallback | None = None,
    explain: bool = False,
) -> list[ClipResult]:
    """Predictions for each clip (``on_progress`` counts them), with the model's attention when
    ``explain``; a clip that fails carries its reason and does not stop the run.

    With ``workers > 1`` the clips' inputs are first prepared in parallel (for landmark models: the
    videos extracted into the pose cache, counted by ``on_extracted``), then the model runs on each."""
    recognizer.loaded.features.prefetch([Clip(clip) for clip in clips], recognizer.extractor, workers, on_extracted)
    results = []
    for clip in clips:
        try:
            if explain:
                predictions, attention = recognizer.explain(clip, top_k=top_k)
                results.append(ClipResult(clip, predictions, attention=attention))
            else:
                predictions, no_gloss = recognizer.answer(clip, top_k=top_k)
                results.append(ClipResult(clip, predictions, no_gloss=no_gloss))
        except SignscribeError as error:
            results.append(ClipResult(clip, [], str(error)))
        if on_progress:
            on_progress(len(results), len(clips))
    return results


def recognize_path(
    recognizer: Recognizer,
    path: Path,
    top_k: int,
    workers: int = 1,
    on_progress: ProgressCallback | None = None,
    on_extracted: ProgressCallback | None = None,
    explain: bool = False,
) -> Recognition:
    """Recognise a clip, or every video and ``.pose`` file under a folder (at least the top 10 of
    each, for the folder's top-10 file), with the model's attention when ``explain``."""
    if not path.exists():
        raise InputFileError(path, "file not found")
    clips, unreadable = clips_in(path), unreadable_in(path)
    if not clips and not unreadable:
        raise InputFileError(path, "no videos or .pose files in this folder")
    folder = path.is_dir()
    depth = max(top_k, 10) if folder else top_k
    results = recognize_clips(recognizer, clips, depth, workers, on_progress, on_extracted, explain)
    results += unreadable
    return Recognition(results, path if folder else path.parent, folder)


def write_recognition(
    recognition: Recognition, top_k: int, output_format: str, out: Path | None, top10: Path | None = None
) -> list[Path]:
    """Write the results to ``out`` in ``output_format`` (``table`` writes tab-separated text) and, for a
    folder, the top-10 file to ``top10``, else beside ``out`` (with neither, none); returns the files
    written."""
    written = []
    if out is not None:
        write_text_atomic(out, format_results(recognition.results, top_k, output_format, recognition.base))
        written.append(out)
    summary = top10 or (out.parent / TOP10_FILE if out else None)
    if recognition.folder and summary is not None:
        write_text_atomic(summary, top10_text(recognition.results, recognition.base))
        written.append(summary)
    return written


def clip_name(clip: Path, base: Path) -> str:
    """The clip's path relative to the folder it was found in."""
    return clip.relative_to(base).as_posix() if clip.is_relative_to(base) else str(clip)


def results_as_dict(results: list[ClipResult], top_k: int, base: Path) -> dict[str, Any]:
    """The JSON shape of ``recognize --format json`` (and of the REST API)."""
    return {
        "results": [
            {
                "video": clip_name(r.clip, base),
                "predictions": [
                    {"rank": rank, "gloss": p.gloss, "confidence": round(p.confidence, 6)}
                    for rank, p in enumerate(r.predictions[:top_k], start=1)
                ],
                **({"attention": asdict(r.attention)} if r.attention is not None else {}),
                **({"no_gloss": asdict(r.no_gloss)} if r.no_gloss is not None else {}),
            }
            for r in results
            if not r.error
        ],
        "failed": [{"video": clip_name(r.clip, base), "reason": r.error} for r in results if r.error],
    }


def format_results(results: list[ClipResult], top_k: int, output_format: str, base: Path) -> str:
    """JSON, CSV (``video,rank,gloss,confidence``) or tab-separated text for the ``table`` format; a clip
    with no gloss has one row with an empty rank and its reason's code in brackets as the gloss."""
    if output_format not in RESULT_FORMATS:
        raise ValueError(f"format must be one of {', '.join(RESULT_FORMATS)}, not {output_format!r}")
    if output_format == "json":
        return json.dumps(results_as_dict(results, top_k, base), indent=2) + "\n"
    text = io.StringIO()
    writer = csv.writer(text, delimiter="," if output_format == "csv" else "\t", lineterminator="\n")
    if output_format == "csv":
        writer.writerow(["video", "rank", "gloss", "confidence"])
    for r in results:
        if r.no_gloss is not None:  # no rank, no gloss: the reason's code where the gloss would be
            writer.writerow([clip_name(r.clip, base), "", f"({r.no_gloss.code})", ""])
        for rank, p in enumerate(r.predictions[:top_k], start=1):
            writer.writerow([clip_name(r.clip, base), rank, p.gloss, f"{p.confidence:.6f}"])
    return text.getvalue()


def top10_text(results: list[ClipResult], base: Path) -> str:
    """``inference_results.txt``: a ``=== <video> ===`` section per video with its top-10 glosses
    and confidences, or ``FAILED: <reason>``."""
    sections = []
    for result in results:
        lines = [f"=== {clip_name(result.clip, base)} ==="]
        if result.error:
            lines.append(f"FAILED: {result.error}")
        if result.no_gloss is not None:
            lines.append(f"NO GLOSS: {result.no_gloss.message}")
        lines += [f"{rank:>2}. {p.gloss:<24} {p.confidence:7.2%}" for rank, p in enumerate(result.predictions[:10], 1)]
        sections.append("\n".join(lines))
    return "\n\n".join(sections) + "\n"
