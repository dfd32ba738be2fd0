"""Landmarks of many clips at once, in parallel processes: ``.pose`` files written into a folder,
resumably (``extract_poses``), or the pose cache filled ahead of a sequential pass (``warm_cache``)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from signscribe.cluster import map_on_actors
from signscribe.errors import SignscribeError
from signscribe.files import write_text_atomic
from signscribe.io.inputs import VIDEO_SUFFIXES, gather_inputs
from signscribe.pose.cache import PoseCache, default_cache_dir
from signscribe.pose.extract import ExtractionSettings, HolisticExtractor
from signscribe.pose.posefile import POSE_SUFFIX, save_pose
from signscribe.pose.source import Clip, load_landmarks
from signscribe.processes import spawn_pool, worker_failures
from signscribe.progress import ProgressCallback

LABEL_SUFFIX = ".txt"  # beside a .pose file: its label or sentence
SUMMARY = "extract_summary.json"
COMPONENTS = ("pose", "left_hand", "right_hand")


class LabelledClip(Protocol):
    """What a dataset sample offers extraction (``signscribe.data.Sample`` is one)."""

    @property
    def id(self) -> str: ...
    @property
    def label(self) -> str | None: ...
    @property
    def clip(self) -> Clip: ...


@dataclass(frozen=True)
class ExtractJob:
    """One clip to extract into ``output``; a ``label`` is written beside it as ``<name>.txt``."""

    id: str
    clip: Clip
    output: Path
    label: str | None = None


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


def jobs_for_paths(paths: Sequence[Path], out: Path) -> tuple[list[ExtractJob], list[tuple[str, str]]]:
    """One job per video, its output mirroring where it lies under the inputs' common folder (a
    folder's tree kept; ``a/x.mp4`` and ``b/x.mp4`` give ``a/x.pose`` and ``b/x.pose``), and what
    the folders held that is passed over, with why. Two videos that would write one file are refused."""
    if not paths:
        return [], []
    inputs = gather_inputs(paths, VIDEO_SUFFIXES, "videos")
    jobs, claimed = [], {}
    for video in inputs.files:
        name = inputs.name(video)
        output = out / name.with_suffix(POSE_SUFFIX)
        if (other := claimed.setdefault(output, video)) != video:
            raise SignscribeError(f"{other} and {video} would both be written to {output}; extract them apart")
        jobs.append(ExtractJob(str(name), Clip(video), output))
    return jobs, [(str(inputs.name(path)), reason) for path, reason in inputs.skipped]


def jobs_for_samples(samples: Iterable[LabelledClip], out: Path) -> list[ExtractJob]:
    """One job per sample, named by its id, with its label (a gloss or a sentence)."""
    return [ExtractJob(s.id, s.clip, out / f"{s.id}{POSE_SUFFIX}", s.label) for s in samples]


_worker_extractor: HolisticExtractor | None = None


def _init_worker(settings: ExtractionSettings, cache_dir: Path | None) -> None:
    global _worker_extractor
    _worker_extractor = HolisticExtractor(settings, PoseCache(cache_dir) if cache_dir else None)


def _run_job(job: ExtractJob) -> JobResult:
    assert _worker_extractor is not None, "worker not initialised"
    return extract_job(_worker_extractor, job)


class ExtractionActor:
    """One MediaPipe graph on a Ray worker, for every clip it is given (``run_extraction(ray=...)``)."""

    def __init__(self, settings: ExtractionSettings, cache_dir: Path | None) -> None:
        self.extractor = HolisticExtractor(settings, PoseCache(cache_dir) if cache_dir else None)

    def __call__(self, job: ExtractJob) -> JobResult:
        return extract_job(self.extractor, job)


def _lost(job: ExtractJob, reason: str) -> JobResult:
    return JobResult(job.id, "failed", f"{job.clip.path}: {reason}")


def extract_job(extractor: HolisticExtractor, job: ExtractJob) -> JobResult:
    """Extract one clip and write its ``.pose`` file (and label); a failure is the result, not raised."""
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
    save_pose(sequence, job.output)
    if job.label is not None:  # so the folder reads back as a poses: dataset, sentences included
        write_text_atomic(job.output.with_suffix(LABEL_SUFFIX), job.label + "\n")
    return JobResult(job.id, "done", frames=sequence.num_frames, detected=detected)


def run_extraction(
    jobs: list[ExtractJob],
    settings: ExtractionSettings,
    workers: int | None = 1,
    cache_dir: Path | None = None,
    on_result: Callable[[JobResult], None] | None = None,
    ray: str | None = None,
) -> ExtractionSummary:
    """Run jobs (skipping outputs that exist) with ``workers`` processes, or on the Ray cluster at
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
        if job.output.exists():
            record(JobResult(job.id, "skipped"))
        else:
            pending.append(job)
    if ray is not None:
        arguments = {"settings": settings, "cache_dir": cache_dir}
        for result in map_on_actors(ray, pending, ExtractionActor, arguments, workers, _lost):
            record(result)
        return summary
    workers = workers or 1
    if workers == 1 or len(pending) <= 1:
        _init_worker(settings, cache_dir)
        for job in pending:
            record(_run_job(job))
        return summary
    with worker_failures(), spawn_pool(workers, _init_worker, (settings, cache_dir)) as pool:
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
) -> ExtractionSummary:
    """Write one ``.pose`` file per clip into ``out`` and the totals into ``out/extract_summary.json``
    (``ray``: on that Ray cluster, ``workers`` actors, None: one a core).

    ``inputs`` are video files and folders (a folder's sub-folders are kept in ``out``), or a
    dataset's samples (files named by sample id, each with its label beside it). Outputs that exist
    are skipped, so an interrupted run resumes; ``cache`` reuses and fills the pose cache."""
    out = Path(out)
    items = list(inputs)
    paths = [Path(item) for item in items if isinstance(item, str | Path)]
    samples = [item for item in items if not isinstance(item, str | Path)]
    jobs, passed_over = jobs_for_paths(paths, out)
    jobs += jobs_for_samples(samples, out)
    if not jobs:
        raise SignscribeError("no videos to extract")
    done = 0

    def count(_: JobResult) -> None:
        nonlocal done
        done += 1
        if on_progress is not None:
            on_progress(done, len(jobs))

    cache_dir = default_cache_dir() if cache else None
    summary = run_extraction(jobs, settings or ExtractionSettings(), workers, cache_dir, count, ray)
    summary.passed_over = passed_over
    write_text_atomic(out / SUMMARY, json.dumps(summary.to_dict(), indent=2))
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
