"""MediaPipe Holistic landmark extraction from video, into ``PoseSequence``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from signscribe.errors import VideoReadError
from signscribe.io import BBox, Frame, VideoInfo, probe, read_frames
from signscribe.native_log import filter_native_stderr
from signscribe.pose.cache import PoseCache
from signscribe.pose.holistic_graph import (
    OFFLINE_MODEL_COMPLEXITY,
    ExtractionSettings,
    HolisticStream,
    landmark_rows,
)
from signscribe.pose.layout import Layout
from signscribe.pose.parts import GraphPool, Part, part_bounds, part_count
from signscribe.pose.photo import PHOTO_VERSION, PhotoHands, photo_landmarks, require_hand
from signscribe.pose.sequence import PoseSequence
from signscribe.pose.signer_search import (
    SEARCH_BELOW,
    SEARCH_FRAMES,
    box_in_sequence,
    crop_around,
    search_windows,
    to_frame,
)
from signscribe.progress import ProgressCallback

# bumped when the signer search changes what it gives (its results are cached under it)
SIGNER_SEARCH_VERSION = 1


def _reporting(frames: Iterator[Frame], expected: int, on_progress: ProgressCallback) -> Iterator[Frame]:
    for done, frame in enumerate(frames, start=1):
        yield frame
        on_progress(done, expected)


def expected_frames(info: VideoInfo, rate: float, selection: dict[str, Any]) -> int:
    """About how many frames ``read_frames(rate=rate, **selection)`` gives of the video ``info`` describes."""
    if selection["start_time"] is not None or selection["end_time"] is not None:
        end = info.duration if selection["end_time"] is None else min(selection["end_time"], info.duration)
        seconds = end - (selection["start_time"] or 0.0)
    else:
        last = info.frame_count if selection["end_frame"] == -1 else min(selection["end_frame"], info.frame_count)
        seconds = (last - selection["start_frame"] + 1) / info.fps
    return max(0, round(seconds * min(rate, info.fps)))


# The selection of ``HolisticExtractor.extract`` that reads a whole video (its cache entries' part).
WHOLE_VIDEO: dict[str, Any] = {"start_time": None, "end_time": None, "start_frame": 1, "end_frame": -1, "bbox": None}


class HolisticExtractor:
    """Run MediaPipe Holistic over video frames.

    Tracking state never leaks from one video to the next (a new or reset graph for each). With a
    ``cache``, a video already extracted with the same settings and range is read back instead of
    processed again. With ``workers`` above 1, a clip long enough is cut into that many parts
    extracted at once on a pool of warm graphs (``parts.py``; ``close()`` ends the pool). With a
    ``cluster`` (a Ray address, ``signscribe.cluster.connect``), the clips of a dataset are extracted
    into the cache on that Ray cluster before a pass reads them (``batch.warm_cache``).
    """

    def __init__(
        self,
        settings: ExtractionSettings | None = None,
        cache: PoseCache | None = None,
        workers: int = 1,
        cluster: str | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.settings = settings or ExtractionSettings()
        self.cache = cache
        self.workers = workers
        self.cluster = cluster
        self._graphs = GraphPool(self.settings, workers) if workers > 1 else None
        self._photo_hands = PhotoHands()

    def close(self) -> None:
        """End the worker processes of the pool of graphs, if any (started again when next needed), and
        the graph that reads photos."""
        if self._graphs is not None:
            self._graphs.close()
        self._photo_hands.close()

    def __enter__(self) -> HolisticExtractor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def extract(
        self,
        video: str | Path,
        *,
        start_time: float | None = None,
        end_time: float | None = None,
        start_frame: int = 1,
        end_frame: int = -1,
        bbox: BBox | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> PoseSequence:
        """Landmarks of a video, or of a time range (seconds) or frame range (WLASL convention) of it.
        A signer found in too few frames is looked for again, zoomed in (``signer_search``), unless a
        ``bbox`` or ``max_side`` is given.

        ``on_progress(done, expected)`` is called after each frame of the first pass (``expected`` is
        the video's frame count, an estimate for a range); an exception it raises aborts the extraction."""
        video = Path(video)
        selection = {
            "start_time": start_time,
            "end_time": end_time,
            "start_frame": start_frame,
            "end_frame": end_frame,
            "bbox": list(bbox) if bbox else None,
        }
        parts = self._parts(video, selection)
        # a clip cut into parts gives slightly other landmarks than one pass: its own cache entry
        keyed = {**selection, "parts": parts} if parts > 1 else selection
        first = self._cached(video, keyed, lambda: self._extract_range(video, selection, parts, on_progress))
        searchable = bbox is None and self.settings.max_side is None and first.num_frames > 0
        if not searchable or first.detected("pose").mean() >= SEARCH_BELOW:
            return first
        # a separate entry: what the first pass gives stays cached as it is
        searched = {**keyed, "signer_search": SIGNER_SEARCH_VERSION}
        return self._cached(video, searched, lambda: self._around_signer(video, selection, first, on_progress))

    def photo(self, path: str | Path) -> PoseSequence:
        """The hand landmarks of a photo (``signscribe.pose.photo``), from the cache when it has them;
        a photo without a hand is a ``NoHandError``."""
        path = Path(path)
        found = self._cached(path, {"photo": PHOTO_VERSION}, lambda: photo_landmarks(path, self._photo_hands))
        return require_hand(found)

    def _parts(self, video: Path, selection: dict[str, Any]) -> int:
        """Into how many parts the first pass over the clip is cut (1 without a pool of graphs)."""
        if self._graphs is None or selection["bbox"] is not None or self.settings.max_side is not None:
            return 1
        info = probe(video)
        return part_count(expected_frames(info, self.settings.rate_for(info.fps), selection), self.workers)

    def _cached(self, video: Path, selection: dict[str, Any], compute: Callable[[], PoseSequence]) -> PoseSequence:
        cached, key = self.lookup(video, selection)
        if cached is not None:
            return cached
        sequence = compute()
        if self.cache is not None and key is not None:
            self.cache.put(key, sequence)
        return sequence

    def lookup(self, video: Path, selection: dict[str, Any] | None = None) -> tuple[PoseSequence | None, str | None]:
        """The cached landmarks of one pass over the video (whole, or ``selection`` of it) with these
        settings, or ``None``, and the key to keep that pass under (the video is hashed once for
        both); ``(None, None)`` without a cache."""
        if self.cache is None:
            return None, None
        if not video.is_file():
            raise VideoReadError(video, "file not found")
        selection = selection or WHOLE_VIDEO
        # the face branch changes nothing of the body and the hands: an entry with the face also serves
        options = [{**self.settings.cache_options(), **selection}]
        if not self.settings.include_face:
            options.append({**replace(self.settings, include_face=True).cache_options(), **selection})
        key, *alternatives = self.cache.keys(video, *options)
        cached = self.cache.get(key, str(video), *alternatives)
        return (cached if cached is None or self.settings.include_face else cached.without_face()), key

    def _extract_range(
        self, video: Path, selection: dict[str, Any], parts: int, on_progress: ProgressCallback | None
    ) -> PoseSequence:
        info = probe(video)
        rate = self.settings.rate_for(info.fps)
        expected = expected_frames(info, rate, selection)
        if parts > 1 and self._graphs is not None:
            sequence = self._extract_parts(video, selection, rate, part_bounds(expected, parts), expected, on_progress)
        else:
            frames = read_frames(video, max_side=self.settings.max_side, rate=rate, **selection)
            if on_progress is not None:
                frames = _reporting(frames, expected, on_progress)
            sequence = self.extract_frames(frames, fps=rate, source=str(video))
        if sequence.num_frames == 0:
            raise VideoReadError(video, "the selected range holds no frames")
        return sequence

    def _extract_parts(
        self,
        video: Path,
        selection: dict[str, Any],
        rate: float,
        bounds: list[tuple[int, int | None]],
        expected: int,
        on_progress: ProgressCallback | None,
    ) -> PoseSequence:
        assert self._graphs is not None
        jobs = [Part(str(video), selection, rate, first, stop) for first, stop in bounds]
        results = self._graphs.extract(jobs, on_progress, expected)
        size = next(((r.width, r.height) for r in results if r.width), (0, 0))
        return PoseSequence(
            data=np.concatenate([r.data for r in results]),
            confidence=np.concatenate([r.confidence for r in results]),
            fps=rate,
            width=size[0],
            height=size[1],
            include_face=self.settings.include_face,
            source=str(video),
        )

    def _around_signer(
        self, video: Path, selection: dict[str, Any], first: PoseSequence, on_progress: ProgressCallback | None
    ) -> PoseSequence:
        """The landmarks extracted again from a crop around a signer the first pass found in too few
        frames (``signer_search``), if that finds them in more; else the first pass. ``on_progress``
        is called after each frame read, as in the first pass (an exception it raises stops the search)."""

        def reported(frames: Iterator[Frame]) -> Iterator[Frame]:
            return frames if on_progress is None else _reporting(frames, first.num_frames, on_progress)

        box = box_in_sequence(first)
        if box is None:
            chosen = set(np.linspace(0, first.num_frames - 1, SEARCH_FRAMES).round().astype(int).tolist())
            frames = reported(read_frames(video, rate=first.fps, **selection))
            images = [frame.image for index, frame in enumerate(frames) if index in chosen]
            with PoseFinder() as finder:
                box = search_windows(images, finder.find)
        region = None if box is None else crop_around(box, first.width, first.height)
        if region is None:
            return first
        frames = reported(read_frames(video, rate=first.fps, **{**selection, "bbox": region}))
        cropped = self.extract_frames(frames, fps=first.fps, source=str(video))
        found = to_frame(cropped, region, first.width, first.height)
        return found if found.detected("pose").mean() > first.detected("pose").mean() else first

    def extract_frames(self, frames: Iterable[Frame], fps: float, source: str = "") -> PoseSequence:
        """Landmarks of RGB frames that belong to one video, in order."""
        layout = Layout(include_face=self.settings.include_face)
        data: list[np.ndarray] = []
        confidence: list[np.ndarray] = []
        width = height = 0
        with HolisticStream(self.settings) as stream:
            for frame in frames:
                height, width = frame.image.shape[:2]
                values, conf = stream.process(frame.image)
                data.append(values)
                confidence.append(conf)
        points = layout.num_points
        return PoseSequence(
            data=np.stack(data) if data else np.zeros((0, points, 3), np.float32),
            confidence=np.stack(confidence) if confidence else np.zeros((0, points), np.float32),
            fps=fps,
            width=width,
            height=height,
            include_face=layout.include_face,
            source=source,
        )


class PoseFinder:
    """MediaPipe Pose on single images (no tracking), for the signer search: ``find(image)`` gives the
    body's ``(33, 2)`` pixels and visibilities, or None."""

    def __enter__(self) -> PoseFinder:
        from mediapipe.python.solutions.pose import Pose

        filter_native_stderr()
        self._pose = Pose(static_image_mode=True, model_complexity=OFFLINE_MODEL_COMPLEXITY)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._pose.close()

    def find(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        result = self._pose.process(np.ascontiguousarray(image))
        if result.pose_landmarks is None:
            return None
        height, width = image.shape[:2]
        values, confidence = landmark_rows(result.pose_landmarks, width, height, True)
        return values[:, :2], confidence
