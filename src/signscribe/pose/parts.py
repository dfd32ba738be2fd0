"""One clip's landmarks extracted on several cores: its frames on the sampling grid cut into contiguous
parts, each run by a warm Holistic graph in a process of its own, which decodes its part itself (so
decoding overlaps extraction).

Holistic tracks the body from frame to frame and smooths its landmarks over time, so a part, which
starts its tracking afresh, does not give exactly what one pass gives over its frames: on WLASL100
val clips, points differ by 0.17% of the frame's width on average and hand presence agrees in 99% of
the frames. Running a part's first frames twice (a lead-in of 4 to 16 frames, dropped) did not bring
it closer, so parts start at their own first frame. The number of parts is part of the pose cache key
(``HolisticExtractor`` adds it): a clip cut into as many parts always gives the same landmarks.
"""

from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from signscribe.errors import InputFileError, VideoReadError
from signscribe.io import read_frames
from signscribe.pose.holistic_graph import ExtractionSettings, HolisticStream
from signscribe.processes import spawn_pool, worker_failures
from signscribe.progress import ProgressCallback

MIN_PART_FRAMES = 16  # a shorter part costs more in start-up than running it elsewhere saves


def part_count(frames: int, workers: int) -> int:
    """How many parts a clip of about ``frames`` sampled frames is cut into with ``workers`` processes."""
    return max(1, min(workers, frames // MIN_PART_FRAMES))


def part_bounds(frames: int, parts: int) -> list[tuple[int, int | None]]:
    """``(first, stop)`` grid indices of each part of a clip of about ``frames`` frames; the last part
    runs to the end of the clip (``stop`` None), however many frames the estimate missed."""
    starts = [math.floor(index * frames / parts) for index in range(parts)]
    return [(start, stop) for start, stop in zip(starts, [*starts[1:], None], strict=True)]


@dataclass(frozen=True)
class Part:
    """The frames ``first`` up to ``stop`` (grid indices) of a clip, read at ``rate`` from ``selection``."""

    video: str
    selection: dict[str, Any]
    rate: float
    first: int
    stop: int | None


@dataclass(frozen=True)
class PartLandmarks:
    data: np.ndarray  # (frames, points, 3)
    confidence: np.ndarray  # (frames, points)
    width: int
    height: int
    error: str | None = None  # a worker reports the reason; the caller raises it with the file's name


class GraphPool:
    """Worker processes, each holding one warm Holistic graph (reset between parts), started on first
    use and kept until ``close``."""

    def __init__(self, settings: ExtractionSettings, workers: int) -> None:
        if workers < 2:
            raise ValueError(f"a pool of graphs needs at least 2 workers, got {workers}")
        self.settings = settings
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def extract(
        self, parts: list[Part], on_progress: ProgressCallback | None = None, expected: int = 0
    ) -> list[PartLandmarks]:
        """The landmarks of each part, in order; ``on_progress(frames done, expected)`` as parts finish."""
        if self._pool is None:
            self._pool = spawn_pool(self.workers, _start_worker, (self.settings,))
        futures = [self._pool.submit(_extract_part, part) for part in parts]
        results, done = [], 0
        try:
            for part, future in zip(parts, futures, strict=True):
                with worker_failures():
                    result = future.result()
                if result.error is not None:
                    raise VideoReadError(part.video, result.error)
                done += len(result.data)
                if on_progress is not None:  # an exception it raises aborts the extraction
                    on_progress(done, max(done, expected))
                results.append(result)
        finally:
            for future in futures:  # after an error, the parts not started yet are not run
                future.cancel()
        return results

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


_stream: HolisticStream | None = None


def _start_worker(settings: ExtractionSettings) -> None:
    global _stream
    _stream = HolisticStream(settings).__enter__()  # closed when the process ends


def _extract_part(part: Part) -> PartLandmarks:
    assert _stream is not None, "worker not started"
    _stream.reset()
    data, confidence, width, height = [], [], 0, 0
    try:
        for index, frame in enumerate(read_frames(part.video, rate=part.rate, **part.selection)):
            if part.stop is not None and index >= part.stop:
                break
            if index < part.first:
                continue
            height, width = frame.image.shape[:2]
            values, found = _stream.process(frame.image)
            data.append(values)
            confidence.append(found)
    except InputFileError as error:  # reported by the caller, which names the file
        return PartLandmarks(np.zeros(0), np.zeros(0), 0, 0, error.reason)
    except Exception as error:
        return PartLandmarks(np.zeros(0), np.zeros(0), 0, 0, f"{type(error).__name__}: {error}")
    points = _stream.layout.num_points
    return PartLandmarks(
        np.stack(data) if data else np.zeros((0, points, 3), np.float32),
        np.stack(confidence) if confidence else np.zeros((0, points), np.float32),
        width,
        height,
    )
