"""One way from any clip to landmarks.

A clip is a video, a photo (its hands: ``signscribe.pose.photo``), a ``.pose`` file, an MP_Data
sequence folder (one ``.npy`` vector a frame), a Kaggle asl-signs ``.parquet`` file or a
``PoseSequence`` already in memory, optionally narrowed to a time range (seconds, How2Sign) or a
frame range (1-based inclusive, WLASL), given as a ``Clip`` or as arguments of ``load_landmarks``.
``load_landmarks`` returns the whole ``PoseSequence`` of a clip; ``stream_landmarks`` yields it frame
by frame, so a long video is never held in memory.
Both tell the kinds of media apart in one place, ``media_kind``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np

from signscribe.errors import InputFileError
from signscribe.io import BBox, probe, read_frames
from signscribe.io.inputs import PHOTO_SUFFIXES, VIDEO_SUFFIXES
from signscribe.io.photos import is_image_file
from signscribe.pose.asl_signs import PARQUET_SUFFIX, load_asl_signs_landmarks
from signscribe.pose.cache import PoseCache
from signscribe.pose.extract import HolisticExtractor
from signscribe.pose.holistic_graph import ExtractionSettings, HolisticStream
from signscribe.pose.mp_data import load_mp_sequence
from signscribe.pose.posefile import POSE_SUFFIX, load_pose
from signscribe.pose.sequence import PoseSequence
from signscribe.progress import ProgressCallback

EMBEDDINGS_SUFFIX = ".npy"

# The kinds of landmark files and folders (besides them: embeddings and videos), each with its reader.
_LANDMARK_READERS = {"pose": load_pose, "mp_data": load_mp_sequence, "asl_signs": load_asl_signs_landmarks}


def media_kind(path: str | Path) -> str:
    """``pose`` (a ``.pose`` file), ``asl_signs`` (a Kaggle asl-signs ``.parquet`` file), ``mp_data`` (a
    folder of ``.npy`` frames), ``embeddings`` (an ``.npy`` file of foundation-model embeddings, which
    hold no landmarks), ``photo`` (by its suffix, or by its first bytes when the suffix is not a
    video's: an upload keeps no suffix) or ``video``."""
    path = Path(path)
    if path.suffix == POSE_SUFFIX:
        return "pose"
    if path.suffix == EMBEDDINGS_SUFFIX:
        return "embeddings"
    if path.suffix == PARQUET_SUFFIX:
        return "asl_signs"
    if path.is_dir():
        return "mp_data"
    suffix = path.suffix.lower()
    if suffix in PHOTO_SUFFIXES or (suffix not in VIDEO_SUFFIXES and is_image_file(path)):
        return "photo"
    return "video"


@dataclass(frozen=True)
class Clip:
    """A file or folder of signing and the part of it to use.

    A time range (``start_time <= t < end_time``, seconds) or a frame range (1-based inclusive,
    ``end_frame=-1`` to the end) selects part of it; ``bbox`` crops a video's frames (landmark
    files are already taken from their frames, so it does not apply to them).
    """

    path: Path
    start_time: float | None = None
    end_time: float | None = None
    start_frame: int = 1
    end_frame: int = -1
    bbox: BBox | None = None

    @property
    def media(self) -> str:
        return media_kind(self.path)

    @property
    def whole(self) -> bool:
        """Whether no range is selected."""
        return self.start_time is None and self.end_time is None and self.start_frame == 1 and self.end_frame == -1

    def selection(self) -> dict[str, object]:
        """The keyword arguments of ``read_frames`` and ``HolisticExtractor.extract`` that select this part."""
        return {
            "start_time": self.start_time,
            "end_time": self.end_time,
            "start_frame": self.start_frame,
            "end_frame": self.end_frame,
            "bbox": self.bbox,
        }


ClipSource = Clip | PoseSequence | str | Path
"""Anything ``load_landmarks`` takes."""


def as_clip(source: Clip | str | Path) -> Clip:
    return source if isinstance(source, Clip) else Clip(Path(source))


def select_range(sequence: PoseSequence, clip: Clip) -> PoseSequence:
    """The frames of ``sequence`` that ``clip``'s range selects, by the same rules as ``read_frames``."""
    if clip.whole:
        return sequence
    times = np.arange(sequence.num_frames) / sequence.fps
    keep = np.ones(sequence.num_frames, bool)
    if clip.start_time is not None:
        keep &= times >= clip.start_time - 1e-6
    if clip.end_time is not None:
        keep &= times < clip.end_time - 1e-6
    numbers = np.arange(1, sequence.num_frames + 1)
    keep &= numbers >= clip.start_frame
    if clip.end_frame != -1:
        keep &= numbers <= clip.end_frame
    return sequence.select_frames(np.flatnonzero(keep))


def load_landmarks(
    source: ClipSource,
    extractor: HolisticExtractor | None = None,
    on_progress: ProgressCallback | None = None,
    *,
    start_time: float | None = None,
    end_time: float | None = None,
    start_frame: int = 1,
    end_frame: int = -1,
) -> PoseSequence:
    """The landmarks of a clip, whatever it is: extracted from a video by ``extractor`` (a plain
    ``HolisticExtractor`` without a cache by default), read from a ``.pose`` file or an MP_Data
    sequence in the extractor's layout (with the face only if its settings keep it), or a
    ``PoseSequence`` as given. A time or frame range narrows any of them (a ``Clip`` may carry its
    own instead); a photo gives one frame of its hands. ``on_progress(done, expected)`` is called
    after each extracted video frame."""
    part = {"start_time": start_time, "end_time": end_time, "start_frame": start_frame, "end_frame": end_frame}
    if isinstance(source, PoseSequence):
        return select_range(source, Clip(Path(source.source), **part))
    clip = as_clip(source)
    if not Clip(clip.path, **part).whole:
        if not clip.whole:
            raise ValueError(f"{clip.path}: the clip has a range of its own; give the range once")
        clip = replace(clip, **part)
    extractor = extractor or HolisticExtractor()
    if clip.media == "embeddings":
        raise InputFileError(clip.path, "holds foundation-model embeddings, not landmarks or video")
    if clip.media == "photo":
        if not clip.whole or clip.bbox is not None:
            raise InputFileError(clip.path, "a photo is one frame: a time range, frame range or box does not apply")
        return extractor.photo(clip.path)
    if clip.media != "video":
        sequence = _LANDMARK_READERS[clip.media](clip.path, include_face=extractor.settings.include_face)
        return select_range(sequence, clip)
    return extractor.extract(clip.path, **clip.selection(), on_progress=on_progress)


@dataclass(frozen=True)
class LandmarkFrame:
    """One frame's landmarks in the layout without the face, with its place in the clip."""

    index: int
    time: float  # seconds
    values: np.ndarray  # (points, 3), pixels
    confidence: np.ndarray  # (points,)


@dataclass(frozen=True)
class LandmarkStream:
    """The frames of a clip as they are read; ``fps`` and ``source`` are known before the first."""

    frames: Iterator[LandmarkFrame]
    fps: float
    source: str
    expected_frames: int | None  # a video's declared frame count, or the exact count of landmarks


def stream_landmarks(
    source: ClipSource, settings: ExtractionSettings | None = None, cache: PoseCache | None = None
) -> LandmarkStream:
    """A clip's landmarks frame by frame, without the face: a video runs through one MediaPipe
    graph as it is decoded (``settings``), landmark files are read and then handed out. With a
    ``cache``, a whole video read before with these settings comes from it, and one read to the
    end is kept in it (the entry ``HolisticExtractor.extract``'s first pass uses): transcribing a
    video again, to try other thresholds, does not run MediaPipe again."""
    if isinstance(source, PoseSequence) or as_clip(source).media != "video":
        extractor = HolisticExtractor(replace(settings or ExtractionSettings(), include_face=False))
        sequence = load_landmarks(source, extractor).without_face()
        name = sequence.source or str(source)
        return LandmarkStream(_sequence_frames(sequence), sequence.fps, name, sequence.num_frames)
    clip = as_clip(source)
    settings = replace(settings or ExtractionSettings(), include_face=False)
    extractor = HolisticExtractor(settings, cache if clip.whole and clip.bbox is None else None)
    cached, key = extractor.lookup(clip.path)
    if cached is not None:
        return LandmarkStream(_sequence_frames(cached), cached.fps, str(clip.path), cached.num_frames)
    info = probe(clip.path)
    rate = settings.rate_for(info.fps)
    keep = partial(extractor.cache.put, key) if extractor.cache is not None and key is not None else None
    return LandmarkStream(_video_frames(clip, settings, rate, keep), rate, str(clip.path), info.frames_at(rate))


def _video_frames(
    clip: Clip, settings: ExtractionSettings, rate: float, keep: Callable[[PoseSequence], None] | None = None
) -> Iterator[LandmarkFrame]:
    """The frames' landmarks as they are decoded; with ``keep``, it is handed the whole sequence (as
    ``HolisticExtractor.extract_frames`` makes it) once the last frame is read."""
    frames = read_frames(clip.path, max_side=settings.max_side, rate=rate, **clip.selection())
    data, confidence, size = [], [], (0, 0)
    offset: float | None = None
    with HolisticStream(settings) as stream:
        for position, frame in enumerate(frames):
            values, scores = stream.process(frame.image)
            if keep is not None:
                data.append(values)
                confidence.append(scores)
                size = frame.image.shape[:2]
            # times on the sequence's constant rate, as a .pose file or the cache gives them (a range
            # keeps its place in the video)
            offset = (0.0 if clip.whole else frame.time) if offset is None else offset
            yield LandmarkFrame(frame.index, offset + position / rate, values, scores)
    if keep is not None and data:
        keep(PoseSequence(np.stack(data), np.stack(confidence), rate, width=size[1], height=size[0],
                          include_face=False, source=str(clip.path)))  # fmt: skip


def _sequence_frames(sequence: PoseSequence) -> Iterator[LandmarkFrame]:
    for index in range(sequence.num_frames):
        yield LandmarkFrame(index, index / sequence.fps, sequence.data[index], sequence.confidence[index])
