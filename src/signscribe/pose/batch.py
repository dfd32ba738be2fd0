"""Landmarks of many clips at once, in parallel processes or on a Ray cluster: files written into a
folder, a local one or an object store's, resumably (``extract_poses``): ``.pose`` files, or the
Kaggle asl-signs layout; or the pose cache filled ahead of a sequential pass (``warm_cache``)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from signscribe.cluster import map_on_actors
from signscribe.errors import SignscribeError
from signscribe.files import OutputFolder
from signscribe.pose.cache import PoseCache, default_cache_dir
from signscribe.pose.extract import ExtractionSettings, HolisticExtractor
from signscribe.pose.extract_jobs import (
    FORMATS,
    LABEL_SUFFIX,
    ExtractJob,
    LabelledClip,
    jobs_for_paths,
    jobs_for_samples,
    write_asl_signs_index,
)
from signscribe.pose.source import Clip, load_landmarks
from signscribe.processes import spawn_pool, worker_failures
from signscribe.progress import ProgressCallback

SUMMARY = "extract_summary.json"
COMPONENTS = ("pose", "left_hand", "right_hand")


@dataclass(frozen=True)
class JobResult:
    id: str
    status: str  # "done", "skipped" (output already there) or "failed"
    reason: str = ""
    frames: int = 0
    detected: dict[str, int] = field(default_factory=dict)  # frames in which each component was found


@dataclass
class ExtractionSummary:
    """Totals of a run: videos done, skipped and failed (with reasons), frames and detection shares."""

    done: int = 0
    skipped: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    passed_over: list[tuple[str, str]] = field(default_factory=list)  # entries of the folders not read, with why
    frames: int = 0
    detected: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COMPONENTS, 0))

    def add(self, result: JobResult) -> None:
        if result.status == "failed":
            self.failures.append((result.id, result.reason))
        elif result.status == "skipped":
            self.skipped += 1
        else:
            self.done += 1
            self.frames += result.frames
            for name, count in result.detected.items():
                self.detected[name] += count

    def shares(self) -> dict[str, float]:
        """Share of extracted frames in which body, left hand and right hand were found."""
        return {name: (count / self.frames if self.frames else 0.0) for name, count in self.detected.items()}

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "failed": len(self.failures), "shares": self.shares()}

    def describe(self) -> list[str]:
        """The totals line, then one line per failure."""
        shares = self.shares()
        totals = (
            f"done {self.done}, skipped {self.skipped} (already extracted), failed {len(self.failures)}; "
            f"{self.frames} frames: body {shares['pose']:.1%}, left hand {shares['left_hand']:.1%}, "
            f"right hand {shares['right_hand']:.1%}"
        )
        failed = [f"  failed {identifier}: {reason}" for identifier, reason in self.failures]
        return [totals, *failed, *(f"  passed over {name}: {reason}" for name, reason in self.passed_over)]


_worker_extractor: HolisticExtractor | None = None
_worker_output: OutputFolder | None = None


def _init_worker(settings: ExtractionSettings, cache_dir: Path | None, out: OutputFolder) -> None:
    global _worker_extractor, _worker_output
    _worker_extractor = HolisticExtractor(settings, PoseCache(cache_dir) if cache_dir else None)
    _worker_output = out


def _run_job(job: ExtractJob) -> JobResult:
    assert _worker_extractor is not None and _worker_output is not None, "worker not initialised"
    return extract_job(_worker_extractor, job, _worker_output)


class ExtractionActor:
    """One MediaPipe graph on a Ray worker, for every clip it is given (``run_extraction(ray=...)``)."""

    def __init__(self, settings: ExtractionSettings, cache_dir: Path | None, out: OutputFolder) -> None:
        self.extractor = HolisticExtractor(settings, PoseCache(cache_dir) if cache_dir else None)
        self.out = out

    def __call__(self, job: ExtractJob) -> JobResult:
        return extract_job(self.extractor, job, self.out)


def _lost(job: ExtractJob, reason: str) -> JobResult:
    return JobResult(job.id, "failed", f"{job.clip.path}: {reason}")


def extract_job(extractor: HolisticExtractor, job: ExtractJob, out: OutputFolder) -> JobResult:
    """Extract one clip and write its file into ``out`` in the format its suffix names (and its label);
    a failure is the result, not raised."""
    try:
        sequence = load_landmarks(job.clip, extractor)
    except SignscribeError as error:
        return JobResult(job.id, "failed", str(error))
    except Exception as error:  # a worker must report, never die, on one bad video
        return JobResult(job.id, "failed", f"{job.clip.path}: {type(error).__name__}: {error}")
    detected = {name: int(sequence.detected(name).sum()) for name in COMPONENTS}
    if not any(detected.values()):
        reason = f"{job.clip.path}: no person detected in any of {sequence.num_frames} frames"
        return JobResult(job.id, "failed", reason, frames=sequence.num_frames)
    encode = next(writer for suffix, writer in FORMATS.values() if job.output.endswith(suffix))
    out.write_bytes(job.output, encode(sequence))
    if job.label is not None:  # so the folder reads back as a poses: dataset, sentences included
        out.write_text(Path(job.output).with_suffix(LABEL_SUFFIX).as_posix(), job.label + "\n")
    return JobResult(job.id, "done", frames=sequence.num_frames, detected=detected)


def run_extraction(
    jobs: list[ExtractJob],
    settings: ExtractionSettings,
    out: OutputFolder,
    workers: int | None = 1,
    cache_dir: Path | None = None,
    on_result: Callable[[JobResult], None] | None = None,
    ray: str | None = None,
) -> ExtractionSummary:
    """Run jobs into ``out`` (skipping outputs that exist) with ``workers`` processes, or on the Ray cluster at
    ``ray`` (``signscribe.cluster.connect``) with ``workers`` actors (None: one a core of the
    cluster); ``on_result`` sees each result."""
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    summary = ExtractionSummary()

    def record(result: JobResult) -> None:
        summary.add(result)
        if on_result is not None:
            on_result(result)

    pending = []
    for job in jobs:
        if out.exists(job.output):
            record(JobResult(job.id, "skipped"))
        else:
            pending.append(job)
    if ray is not None:
        arguments = {"settings": settings, "cache_dir": cache_dir, "out": out}
        for result in map_on_actors(ray, pending, ExtractionActor, arguments, workers, _lost):
            record(result)
        return summary
    workers = workers or 1
    if workers == 1 or len(pending) <= 1:
        _init_worker(settings, cache_dir, out)
        for job in pending:
            record(_run_job(job))
        return summary
    with worker_failures(), spawn_pool(workers, _init_worker, (settings, cache_dir, out)) as pool:
        for future in as_completed([pool.submit(_run_job, job) for job in pending]):
            record(future.result())
    return summary


def extract_poses(
    inputs: Sequence[str | Path] | Iterable[LabelledClip],
    out: str | Path,
    settings: ExtractionSettings | None = None,
    workers: int | None = 1,
    cache: bool = True,
    on_progress: ProgressCallback | None = None,
    ray: str | None = None,
    output_format: str = "pose",
) -> ExtractionSummary:
    """Write one file per clip into ``out`` (a folder, or an fsspec URL such as ``s3://bucket/poses``)
    and the totals into ``extract_summary.json`` there (``ray``: on that Ray cluster, ``workers``
    actors, None: one a core).

    ``inputs`` are video files and folders (a folder's sub-folders are kept in ``out``), or a
    dataset's samples (files named by sample id, each with its label beside it). ``output_format``
    is ``pose`` (a ``.pose`` file a clip) or ``asl-signs`` (Kaggle's layout, samples with labels
    only: ``train.csv``, ``sign_to_prediction_index_map.json`` and a Parquet file a clip under
    ``train_landmark_files/<signer>/``, as ``asl_signs:`` reads it). Outputs that exist are
    skipped, so an interrupted run resumes; ``cache`` reuses and fills the pose cache."""
    if output_format not in FORMATS:
        raise SignscribeError(f"unknown output format {output_format!r}; expected {' or '.join(FORMATS)}")
    folder = OutputFolder(out)
    items = list(inputs)
    paths = [Path(item) for item in items if isinstance(item, str | Path)]
    samples = [item for item in items if not isinstance(item, str | Path)]
    if output_format == "asl-signs" and (paths or any(sample.label is None for sample in samples)):
        raise SignscribeError("the asl-signs layout names each clip's sign: give a dataset with labels (--data)")
    jobs, passed_over = jobs_for_paths(paths, FORMATS[output_format][0])
    jobs += jobs_for_samples(samples, output_format)
    if not jobs:
        raise SignscribeError("no videos to extract")
    written: set[str] = set()  # the ids of the clips whose file is there, written now or before
    done = 0

    def count(result: JobResult) -> None:
        nonlocal done
        done += 1
        if result.status != "failed":
            written.add(result.id)
        if on_progress is not None:
            on_progress(done, len(jobs))

    cache_dir = default_cache_dir() if cache else None
    summary = run_extraction(jobs, settings or ExtractionSettings(), folder, workers, cache_dir, count, ray)
    summary.passed_over = passed_over
    if output_format == "asl-signs":
        write_asl_signs_index(folder, [sample for sample in samples if sample.id in written])
    folder.write_text(SUMMARY, json.dumps(summary.to_dict(), indent=2))
    return summary


def _extract_into_cache(arguments: tuple[Clip, ExtractionSettings, Path]) -> None:
    clip, settings, cache = arguments
    with contextlib.suppress(SignscribeError):  # reported when the landmarks are used
        load_landmarks(clip, HolisticExtractor(settings, PoseCache(cache)))


def _reported_later(clip: Clip, reason: str) -> None:
    """A clip lost on the cluster is extracted again, and reported, when its landmarks are used."""


class CacheActor:
    """One MediaPipe graph on a Ray worker, filling the pose cache (``warm_cache`` on a cluster)."""

    def __init__(self, settings: ExtractionSettings, cache_dir: Path) -> None:
        self.extractor = HolisticExtractor(settings, PoseCache(cache_dir))

    def __call__(self, clip: Clip) -> None:
        with contextlib.suppress(SignscribeError):  # reported when the landmarks are used
            load_landmarks(clip, self.extractor)


def warm_cache(
    clips: Iterable[Clip], extractor: HolisticExtractor, workers: int, on_progress: ProgressCallback | None = None
) -> None:
    """Extract the landmarks of video clips into ``extractor``'s cache with ``workers`` processes, or
    on its Ray ``cluster`` (``workers`` actors; 1: one a core), so the sequential pass that follows
    reads them back. Uses the extractor's own settings, or the cache keys would differ and the work be
    wasted; does nothing without a cache, or with one worker and no cluster. On a cluster of several
    machines the cache folder must be one they share."""
    videos = list(dict.fromkeys(clip for clip in clips if clip.media == "video"))  # each video part once
    if extractor.cache is None or not videos:
        return
    if extractor.cluster is not None:
        arguments = {"settings": extractor.settings, "cache_dir": extractor.cache.root}
        actors = workers if workers > 1 else None
        finished = map_on_actors(extractor.cluster, videos, CacheActor, arguments, actors, _reported_later)
        for done, _ in enumerate(finished, start=1):
            if on_progress:
                on_progress(done, len(videos))
        return
    if workers < 2 or len(videos) < 2:
        return
    arguments = [(clip, extractor.settings, extractor.cache.root) for clip in videos]
    map_in_processes(_extract_into_cache, arguments, workers, on_progress)


def map_in_processes(
    function: Callable[[Any], object],
    arguments: Sequence[Any],
    workers: int,
    on_progress: ProgressCallback | None = None,
) -> None:
    """Call a module-level ``function`` on each argument in ``workers`` fresh (spawned) processes, for
    its side effect (a cache filled); ``on_progress`` counts the calls done."""
    with worker_failures(), spawn_pool(workers) as pool:
        for done, _ in enumerate(pool.map(function, arguments), start=1):
            if on_progress:
                on_progress(done, len(arguments))
