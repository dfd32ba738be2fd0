"""Video decoding with PyAV: metadata, lazy frame iteration, time and frame ranges, crop and resize."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from signscribe.errors import VideoReadError

BBox = tuple[int, int, int, int]
"""A box ``(x1, y1, x2, y2)`` in pixels, as WLASL publishes it."""

# Containers often declare a few frames more than they hold (edit lists, encoder delay: real WLASL
# clips are 3 short). A stream that ends more than this many frames, or this share, short is truncated.
_TRUNCATION_FRAMES = 4
_TRUNCATION_SHARE = 0.05


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds."""

    path: Path
    fps: float
    frame_count: int
    duration: float
    width: int
    height: int
    codec: str


@dataclass(frozen=True)
class Frame:
    """One decoded frame: ``index`` is 0-based in the file, ``time`` in seconds from its start."""

    index: int
    time: float
    image: np.ndarray  # (height, width, 3) uint8 RGB


@contextmanager
def _open(path: Path) -> Iterator[tuple[av.container.InputContainer, av.VideoStream]]:
    if not path.exists():
        raise VideoReadError(path, "file not found")
    if path.is_dir():
        raise VideoReadError(path, "is a folder, not a video file")
    if path.stat().st_size == 0:
        raise VideoReadError(path, "file is empty")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as error:
        raise VideoReadError(path, f"not a readable video ({error.strerror or error})") from error
    try:
        if not container.streams.video:
            raise VideoReadError(path, "has no video stream")
        stream = container.streams.video[0]
        if stream.codec_context is None:
            raise VideoReadError(path, f"unsupported codec {stream.codec.name if stream.codec else '?'}")
        stream.thread_type = "AUTO"
        yield container, stream
    finally:
        container.close()


def _rate(stream: av.VideoStream) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return Fraction(rate) if rate else Fraction(25)


def _info(path: Path, container: av.container.InputContainer, stream: av.VideoStream) -> VideoInfo:
    fps = _rate(stream)
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / av.time_base
    else:
        duration = 0.0
    frame_count = stream.frames or round(duration * fps)
    if not duration:
        duration = frame_count / fps
    if stream.width <= 0 or stream.height <= 0:
        raise VideoReadError(path, "video stream has no picture size")
    return VideoInfo(
        path=path,
        fps=float(fps),
        frame_count=int(frame_count),
        duration=duration,
        width=stream.width,
        height=stream.height,
        codec=stream.codec_context.name,
    )


def probe(path: str | Path) -> VideoInfo:
    """Read a video's metadata without decoding it."""
    path = Path(path)
    with _open(path) as (container, stream):
        return _info(path, container, stream)


def fit_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """The size that fits ``max_side`` keeping the aspect ratio (even numbers, never upscaled)."""
    scale = min(1.0, max_side / max(width, height))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def crop(image: np.ndarray, bbox: BBox) -> np.ndarray:
    """Crop ``image`` to ``bbox``, clamped to the image; raises ``ValueError`` for an empty box."""
    height, width = image.shape[:2]
    x1, y1, x2, y2 = (int(v) for v in bbox)
    x1, x2 = max(0, min(x1, width)), max(0, min(x2, width))
    y1, y2 = max(0, min(y1, height)), max(0, min(y2, height))
    if x2 <= x1 or y2 <= y1:
        raise ValueError(f"bbox {bbox} does not overlap the {width}x{height} image")
    return image[y1:y2, x1:x2]


def resize(image: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink an RGB image so its longer side is at most ``max_side``, keeping the aspect ratio."""
    height, width = image.shape[:2]
    new_width, new_height = fit_size(width, height, max_side)
    if (new_width, new_height) == (width, height):
        return image
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
    return frame.reformat(width=new_width, height=new_height, interpolation="AREA").to_ndarray()


def _to_rgb(frame: av.VideoFrame, bbox: BBox | None, max_side: int | None) -> np.ndarray:
    if bbox is None and max_side is not None:
        width, height = fit_size(frame.width, frame.height, max_side)
        return frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA").to_ndarray()
    image = frame.to_ndarray(format="rgb24")
    if bbox is not None:
        image = crop(image, bbox)
    if max_side is not None:
        image = resize(image, max_side)
    return image


def at_rate(frames: Iterable[Frame], rate: float | None) -> Iterator[Frame]:
    """The frames nearest a regular grid of ``rate`` frames a second (every frame when ``rate`` is
    ``None`` or above the video's own rate): 12.5 of a 25 fps video keeps every second frame."""
    next_time = None
    for frame in frames:
        if rate is None or next_time is None or frame.time >= next_time - 1e-6:
            yield frame
            if rate is not None:
                next_time = (frame.time if next_time is None else next_time) + 1 / rate


def read_frames(
    path: str | Path,
    *,
    start_time: float | None = None,
    end_time: float | None = None,
    start_frame: int = 1,
    end_frame: int = -1,
    bbox: BBox | None = None,
    max_side: int | None = None,
) -> Iterator[Frame]:
    """Decode RGB frames lazily, one at a time, so a long video is never held in memory.

    Select a time range in seconds (How2Sign ``START``/``END``: ``start_time <= t < end_time``)
    or a frame range as WLASL publishes it (1-based, inclusive, ``end_frame=-1`` meaning to the
    end). ``bbox`` crops each frame and ``max_side`` shrinks it keeping the aspect ratio.
    """
    path = Path(path)
    if start_frame < 1:
        raise ValueError(f"start_frame is 1-based, got {start_frame}")
    if (start_time is not None or end_time is not None) and (start_frame != 1 or end_frame != -1):
        raise ValueError("give a time range or a frame range, not both")
    with _open(path) as (container, stream):
        fps = float(_rate(stream))
        time_base = stream.time_base
        origin = stream.start_time or 0
        seeking = bool(start_time)
        if seeking:
            container.seek(int((start_time + origin * time_base) / time_base), stream=stream, backward=True)
        decoded = 0
        try:
            for frame in container.decode(stream):
                decoded += 1
                # Without a seek, the index counts decoded frames as WLASL's frame numbers do.
                time = (decoded - 1) / fps if frame.pts is None else float((frame.pts - origin) * time_base)
                index = round(time * fps) if seeking else decoded - 1
                if start_time is not None and time < start_time - 1e-6:
                    continue
                if end_time is not None and time >= end_time - 1e-6:
                    return
                if index + 1 < start_frame:
                    continue
                if end_frame != -1 and index + 1 > end_frame:
                    return
                yield Frame(index=index, time=time, image=_to_rgb(frame, bbox, max_side))
        except av.error.FFmpegError as error:
            raise VideoReadError(path, f"cannot decode frame {decoded}: {error.strerror or error}") from error
        if decoded == 0:
            raise VideoReadError(path, "no frame could be decoded")
        shortfall = (stream.frames or 0) - decoded
        if not seeking and shortfall > max(_TRUNCATION_FRAMES, _TRUNCATION_SHARE * stream.frames):
            raise VideoReadError(path, f"truncated: decoded {decoded} of {stream.frames} frames")
