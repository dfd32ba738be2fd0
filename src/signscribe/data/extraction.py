"""Extract landmarks from many videos into ``.pose`` files, in parallel processes, resumably."""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

from signscribe.data import sample_pose
from signscribe.data.dataset import LABEL_SUFFIX, Sample
from signscribe.errors import SignscribeError
from signscribe.files import write_text_atomic
from signscribe.pose.cache import PoseCache
from signscribe.pose.extract import ExtractionSettings, HolisticExtractor
from signscribe.pose.posefile import save_pose

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
COMPONENTS = ("pose", "left_hand", "right_hand")


@dataclass(frozen=True)
class ExtractJob:
    sample: Sample
    output: Path


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


def videos_in(folder: Path) -> Iterator[Path]:
    """Video files under ``folder``, recursively, in sorted order."""
    return (p for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)


def jobs_for_paths(inputs: Iterable[Path], out: Path) -> list[ExtractJob]:
    """One job per video file; a folder contributes its videos with their relative paths kept."""
    jobs = []
    for path in inputs:
        if path.is_dir():
            for video in videos_in(path):
                relative = video.relative_to(path)
                jobs.append(ExtractJob(Sample(str(relative), video, None), out / relative.with_suffix(".pose")))
        else:
            jobs.append(ExtractJob(Sample(path.stem, path, None), out / f"{path.stem}.pose"))
    return jobs


def jobs_for_samples(samples: Iterable[Sample], out: Path) -> list[ExtractJob]:
    return [ExtractJob(sample, out / f"{sample.id}.pose") for sample in samples]


_worker_extractor: HolisticExtractor | None = None


def _init_worker(settings: ExtractionSettings, cache_dir: Path | None) -> None:
    global _worker_extractor
    _worker_extractor = HolisticExtractor(settings, PoseCache(cache_dir) if cache_dir else None)


def _run_job(job: ExtractJob) -> JobResult:
    assert _worker_extractor is not None, "worker not initialised"
    try:
        sequence = sample_pose(job.sample, _worker_extractor)
    except SignscribeError as error:
        return JobResult(job.sample.id, "failed", str(error))
    except Exception as error:  # a worker must report, never die, on one bad video
        return JobResult(job.sample.id, "failed", f"{job.sample.path}: {type(error).__name__}: {error}")
    detected = {name: int(sequence.detected(name).sum()) for name in COMPONENTS}
    if not any(detected.values()):
        reason = f"{job.sample.path}: no person detected in any of {sequence.num_frames} frames"
        return JobResult(job.sample.id, "failed", reason, frames=sequence.num_frames)
    save_pose(sequence, job.output)
    if job.sample.label is not None:  # so the folder reads back as a poses: dataset, sentences included
        write_text_atomic(job.output.with_suffix(LABEL_SUFFIX), job.sample.label + "\n")
    return JobResult(job.sample.id, "done", frames=sequence.num_frames, detected=detected)


def _extract_into_cache(arguments: tuple[Sample, ExtractionSettings, Path]) -> None:
    sample, settings, cache = arguments
    with contextlib.suppress(SignscribeError):  # reported when the landmarks are used
        sample_pose(sample, HolisticExtractor(settings, PoseCache(cache)))


def warm_cache(
    samples: list[Sample], extractor: HolisticExtractor, workers: int, on_done: Callable[[], None] | None = None
) -> None:
    """Extract the landmarks of video samples into ``extractor``'s cache with ``workers`` processes,
    so the sequential pass that follows reads them back. Uses the extractor's own settings, or the
    cache keys would differ and the work be wasted; does nothing without a cache or with one worker."""
    # each video part once, however many samples (a --val equal to --data, say) point at it
    parts = {(s.path, tuple(map(str, s.selection().values()))): s for s in samples if s.media == "video"}
    videos = list(parts.values())
    if workers < 2 or extractor.cache is None or len(videos) < 2:
        return
    context = multiprocessing.get_context("spawn")
    arguments = [(sample, extractor.settings, extractor.cache.root) for sample in videos]
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        for _ in pool.map(_extract_into_cache, arguments):
            if on_done:
                on_done()


def run_extraction(
    jobs: list[ExtractJob],
    settings: ExtractionSettings,
    workers: int = 1,
    cache_dir: Path | None = None,
    on_result: Callable[[JobResult], None] | None = None,
) -> ExtractionSummary:
    """Run jobs (skipping outputs that exist) with ``workers`` processes; ``on_result`` sees each result."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    summary = ExtractionSummary()

    def record(result: JobResult) -> None:
        summary.add(result)
        if on_result is not None:
            on_result(result)

    pending = []
    for job in jobs:
        if job.output.exists():
            record(JobResult(job.sample.id, "skipped"))
        else:
            pending.append(job)
    if workers == 1 or len(pending) <= 1:
        _init_worker(settings, cache_dir)
        for job in pending:
            record(_run_job(job))
        return summary
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init_worker, initargs=(settings, cache_dir)
    ) as pool:
        for future in as_completed([pool.submit(_run_job, job) for job in pending]):
            record(future.result())
    return summary
