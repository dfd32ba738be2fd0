"""Recognise a clip or every clip of a folder: parallel pose extraction into the cache, then the model,
and the results as a table, JSON, CSV and the top-10 ``inference_results.txt``."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from signscribe.errors import InputFileError, SignscribeError
from signscribe.files import write_text_atomic
from signscribe.inference.recognizer import Attention, NoGloss, Prediction, Recognizer
from signscribe.io import probe
from signscribe.io.inputs import PHOTO_SUFFIXES, VIDEO_SUFFIXES, Inputs, gather_inputs
from signscribe.pose.posefile import POSE_SUFFIX
from signscribe.pose.source import Clip, media_kind
from signscribe.progress import ProgressCallback

CLIP_SUFFIXES = (*VIDEO_SUFFIXES, POSE_SUFFIX, *PHOTO_SUFFIXES)
CLIPS = "videos, photos or .pose files"
PHOTO_MODEL = "fingerspelling"  # the bundled model of what a photo shows: a fingerspelled letter or a digit
LONG_VIDEO = 5  # a video longer than this many of the model's training clips is likely several signs
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
    """The results of ``recognize_paths``: one per clip, named relative to ``base``."""

    results: list[ClipResult]
    base: Path
    batch: bool  # whether a folder or several clips were recognised (and so a top-10 file is written)
    long: list[tuple[Path, float]] = field(default_factory=list)  # videos far longer than a sign, with seconds

    @property
    def failed(self) -> list[ClipResult]:
        return [r for r in self.results if r.error]


def recognize_clips(
    recognizer: Recognizer,
    clips: list[Path],
    top_k: int,
    workers: int = 1,
    on_progress: ProgressCallback | None = None,
    on_extracted: ProgressCallback | None = None,
    explain: bool = False,
    on_frames: ProgressCallback | None = None,
) -> list[ClipResult]:
    """Predictions for each clip (``on_progress`` counts them), with the model's attention when
    ``explain``; a clip that fails carries its reason and does not stop the run.

    With ``workers > 1`` the clips' inputs are first prepared in parallel (for landmark models: the
    videos extracted into the pose cache, counted by ``on_extracted``), then the model runs on each;
    ``on_frames`` follows the frames of the clip being read."""
    recognizer.loaded.features.prefetch([Clip(clip) for clip in clips], recognizer.extractor, workers, on_extracted)
    results = []
    for clip in clips:
        try:
            if explain:
                predictions, attention = recognizer.explain(clip, top_k=top_k, on_progress=on_frames)
                results.append(ClipResult(clip, predictions, attention=attention))
            else:
                predictions, no_gloss = recognizer.answer(clip, top_k=top_k, on_progress=on_frames)
                results.append(ClipResult(clip, predictions, no_gloss=no_gloss))
        except SignscribeError as error:
            results.append(ClipResult(clip, [], str(error)))
        if on_progress:
            on_progress(len(results), len(clips))
    return results


def recognize_paths(
    recognizer: Recognizer,
    paths: Sequence[Path],
    top_k: int,
    workers: int = 1,
    on_progress: ProgressCallback | None = None,
    on_extracted: ProgressCallback | None = None,
    explain: bool = False,
    on_frames: ProgressCallback | None = None,
) -> Recognition:
    """Recognise clips: files, every video and ``.pose`` file under folders, or glob patterns (at least
    the top 10 of each of a batch, for its top-10 file), with the model's attention when ``explain``.
    What a folder holds that cannot be read (a FIFO, a dangling link) fails with why."""
    inputs = gather_inputs(paths, CLIP_SUFFIXES, CLIPS)
    depth = max(top_k, 10) if inputs.batch else top_k
    results = recognize_clips(recognizer, inputs.files, depth, workers, on_progress, on_extracted, explain, on_frames)
    results += [ClipResult(path, [], str(InputFileError(path, reason))) for path, reason in inputs.skipped]
    return Recognition(results, inputs.base, inputs.batch, long_videos(inputs.files, recognizer.sign_seconds))


def only_photos(paths: Sequence[Path]) -> bool:
    """Whether ``paths`` (clips, folders, patterns) name photos and nothing else: then the model, when
    none is named, is ``PHOTO_MODEL``."""
    try:
        files = gather_inputs(paths, CLIP_SUFFIXES, CLIPS).files
    except (InputFileError, ValueError):
        return False  # recognize_paths says what is wrong
    return bool(files) and all(media_kind(file) == "photo" for file in files)


def long_videos(clips: list[Path], sign_seconds: float) -> list[tuple[Path, float]]:
    """The videos among ``clips`` longer than ``LONG_VIDEO`` signs (and 10 s), with their duration
    from the header: a model of isolated signs gives them one gloss for the whole, where a
    transcript (``signscribe transcribe``) gives one for each sign."""
    long = []
    for clip in clips:
        if media_kind(clip) == "video":
            with contextlib.suppress(SignscribeError):  # a clip that cannot be read has failed already
                if (seconds := probe(clip).duration) > max(10.0, LONG_VIDEO * sign_seconds):
                    long.append((clip, seconds))
    return long


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
    if recognition.batch and summary is not None:
        write_text_atomic(summary, top10_text(recognition.results, recognition.base))
        written.append(summary)
    return written


def clip_name(clip: Path, base: Path) -> str:
    """The clip's path relative to the folder of the inputs."""
    return Inputs(base=base).name(clip).as_posix()


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
