"""Recognise every clip of a folder: parallel pose extraction into the cache, then the model."""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from signscribe.data.extraction import VIDEO_SUFFIXES
from signscribe.errors import SignscribeError
from signscribe.inference.recognizer import Prediction, Recognizer
from signscribe.pose.cache import PoseCache
from signscribe.pose.extract import HolisticExtractor

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


def _warm_cache(arguments: tuple[Path, Path]) -> None:
    clip, cache = arguments
    with contextlib.suppress(SignscribeError):  # reported when the clip is recognised
        HolisticExtractor(cache=PoseCache(cache)).extract(clip)


def recognize_all(
    recognizer: Recognizer,
    clips: Iterable[Path],
    top_k: int,
    workers: int = 1,
    on_result: Callable[[ClipResult], None] | None = None,
) -> list[ClipResult]:
    """Predictions for each clip; a clip that fails carries its reason and does not stop the run."""
    clips = list(clips)
    cache = recognizer.extractor.cache
    videos = [clip for clip in clips if clip.suffix.lower() != ".pose"]
    if workers > 1 and cache is not None and len(videos) > 1:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            list(pool.map(_warm_cache, [(clip, cache.root) for clip in videos]))
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
