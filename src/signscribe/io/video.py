"""Video decoding with PyAV: metadata, lazy frame iteration, time and frame ranges, crop and resize."""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
# ``_on_grid`` repeats a frame over a gap in the timestamps up to this many seconds long.
_LONGEST_FILLED_GAP = 10.0


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

    def frames_at(self, rate: float) -> int:
        """About how many frames the video gives at ``rate`` frames a second (``read_frames(rate=...)``)."""
        return round(self.frame_count * min(rate, self.fps) / self.fps)


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


def check_video(path: str | Path) -> VideoInfo:
    """Decode every frame of a video (without converting it) and give its metadata with the frames
    counted: a file that is not a video, has no video stream, or is truncated raises ``VideoReadError``."""
    path = Path(path)
    with _open(path) as (container, stream):
        info = _info(path, container, stream)
        decoded = sum(1 for _ in _selected(path, container, stream, None, None, 1, -1))
    return VideoInfo(**{**info.__dict__, "frame_count": decoded})


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


def read_frames(
    path: str | Path,
    *,
    start_time: float | None = None,
    end_time: float | None = None,
    start_frame: int = 1,
    end_frame: int = -1,
    bbox: BBox | None = None,
    max_side: int | None = None,
    rate: float | None = None,
) -> Iterator[Frame]:
    """Decode RGB frames lazily, one at a time, so a long video is never held in memory.

    Select a time range in seconds (How2Sign ``START``/``END``: ``start_time <= t < end_time``)
    or a frame range as WLASL publishes it (1-based, inclusive, ``end_frame=-1`` meaning to the
    end). ``bbox`` crops each frame and ``max_side`` shrinks it keeping the aspect ratio. ``rate``
    gives the frames on a regular grid of that many a second (see ``_on_grid``; a repeated frame is the
    same image object); only the frames kept are converted to RGB.
    """
    path = Path(path)
    if start_frame < 1:
        raise ValueError(f"start_frame is 1-based, got {start_frame}")
    if (start_time is not None or end_time is not None) and (start_frame != 1 or end_frame != -1):
        raise ValueError("give a time range or a frame range, not both")
    if rate is not None and rate <= 0:
        raise ValueError(f"rate must be positive, got {rate}")
    with _open(path) as (container, stream):
        selected = _selected(path, container, stream, start_time, end_time, start_frame, end_frame)
        if rate is None:
            for index, time, frame in selected:
                yield Frame(index=index, time=time, image=_to_rgb(frame, bbox, max_side))
        else:
            yield from _on_grid(selected, rate, 1 / float(_rate(stream)), lambda frame: _to_rgb(frame, bbox, max_side))


def _selected(
    path: Path,
    container: av.container.InputContainer,
    stream: av.VideoStream,
    start_time: float | None,
    end_time: float | None,
    start_frame: int,
    end_frame: int,
) -> Iterator[tuple[int, float, av.VideoFrame]]:
    """``(index, time, frame)`` of the decoded frames in the range, not yet converted to RGB."""
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
            yield index, time, frame
    except av.error.FFmpegError as error:
        raise VideoReadError(path, f"cannot decode frame {decoded}: {error.strerror or error}") from error
    if decoded == 0:
        raise VideoReadError(path, "no frame could be decoded")
    shortfall = (stream.frames or 0) - decoded
    if not seeking and shortfall > max(_TRUNCATION_FRAMES, _TRUNCATION_SHARE * stream.frames):
        raise VideoReadError(path, f"truncated: decoded {decoded} of {stream.frames} frames")


def _on_grid(
    frames: Iterator[tuple[int, float, av.VideoFrame]],
    rate: float,
    frame_duration: float,
    to_rgb: Callable[[av.VideoFrame], np.ndarray],
) -> Iterator[Frame]:
    """The frame on screen at each point of a grid of ``rate`` a second from the first frame's time,
    read from the timestamps: 12.5 of a 25 fps video is every second frame, 30 of a video declared at
    1000 fps (a browser recording converted to mp4) one frame in 33, and a variable frame rate's gaps
    show the frame before them again (the same image object), so the grid keeps the clip's duration.
    A frame is converted to RGB only when some point shows it; the last one lasts ``frame_duration``.
    Timestamps are rounded to the container's time base, so a frame that starts within a quarter of a
    frame after a point counts as on screen at it (25 fps stays 25 fps on its own grid).
    A gap of more than ``_LONGEST_FILLED_GAP`` seconds (broken timestamps) is shown once, not filled."""
    step = 1 / rate
    tolerance = min(step, frame_duration) / 4
    origin: float | None = None
    point = 0  # the next grid point, origin + point * step
    pending: tuple[int, float, av.VideoFrame] | None = None

    def shown_until(until: float) -> Iterator[Frame]:
        nonlocal point
        assert pending is not None and origin is not None
        index, _, frame = pending
        before_until = int(np.ceil((until - tolerance - origin) / step))  # the points before ``until``
        points = before_until - point
        if points <= 0:
            return
        image = to_rgb(frame)
        for _ in range(points if points <= _LONGEST_FILLED_GAP * rate else 1):
            yield Frame(index=index, time=origin + point * step, image=image)
            point += 1
        point = max(point, before_until)

    for index, time, frame in frames:
        if origin is None:
            origin = time
        elif pending is not None:
            yield from shown_until(time)
        pending = (index, time, frame)
    if pending is not None:
        yield from shown_until(pending[1] + frame_duration)
