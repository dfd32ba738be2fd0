"""Recognise every clip of a folder: parallel pose extraction into the cache, then the model."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from signscribe.data.dataset import Sample
from signscribe.data.extraction import VIDEO_SUFFIXES, warm_cache
from signscribe.errors import SignscribeError
from signscribe.inference.recognizer import Prediction, Recognizer

CLIP_SUFFIXES = (*VIDEO_SUFFIXES, ".pose")


@dataclass
class ClipResult:
    clip: Path
    predictions: list[Prediction]
    error: str = ""


def clips_in(path: Path) -> list[Path]:
    """The clip itself, or the videos and ``.pose`` files under a folder, sorted."""
    if path.is_dir():
        return [p for p in sorted(path.rglob("*")) if p.is_file() and p.suffix.lower() in CLIP_SUFFIXES]
    return [path]


def recognize_all(
    recognizer: Recognizer,
    clips: Iterable[Path],
    top_k: int,
    workers: int = 1,
    on_result: Callable[[ClipResult], None] | None = None,
    on_extracted: Callable[[], None] | None = None,
) -> list[ClipResult]:
    """Predictions for each clip; a clip that fails carries its reason and does not stop the run.

    With ``workers > 1`` and a pose cache, the videos' landmarks are first extracted into the cache
    in parallel (``on_extracted`` is called after each), then the model runs on each clip."""
    clips = list(clips)
    warm_cache([Sample(clip.stem, clip, None) for clip in clips], recognizer.extractor, workers, on_extracted)
    results = []
    for clip in clips:
        try:
            result = ClipResult(clip, recognizer.predict(clip, top_k=top_k))
        except SignscribeError as error:
            result = ClipResult(clip, [], str(error))
        results.append(result)
        if on_result:
            on_result(result)
    return results


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
            }
            for r in results
            if not r.error
        ],
        "failed": [{"video": clip_name(r.clip, base), "reason": r.error} for r in results if r.error],
    }


def format_results(results: list[ClipResult], top_k: int, output_format: str, base: Path) -> str:
    """JSON, CSV (``video,rank,gloss,confidence``) or tab-separated text for the ``table`` format."""
    if output_format == "json":
        return json.dumps(results_as_dict(results, top_k, base), indent=2) + "\n"
    text = io.StringIO()
    writer = csv.writer(text, delimiter="," if output_format == "csv" else "\t", lineterminator="\n")
    if output_format == "csv":
        writer.writerow(["video", "rank", "gloss", "confidence"])
    for r in results:
        for rank, p in enumerate(r.predictions[:top_k], start=1):
            writer.writerow([clip_name(r.clip, base), rank, p.gloss, f"{p.confidence:.6f}"])
    return text.getvalue()


def top10_text(results: list[ClipResult], base: Path) -> str:
    """The seeds' ``inference_results.txt``: a section of top-10 glosses per video."""
    sections = []
    for result in results:
        lines = [f"=== {clip_name(result.clip, base)} ==="]
        if result.error:
            lines.append(f"FAILED: {result.error}")
        lines += [f"{rank:>2}. {p.gloss:<24} {p.confidence:7.2%}" for rank, p in enumerate(result.predictions[:10], 1)]
        sections.append("\n".join(lines))
    return "\n\n".join(sections) + "\n"
