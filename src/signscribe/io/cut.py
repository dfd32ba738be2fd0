"""Many clips cut from one video in one decoding pass: the instances of a WLASL lesson or dictionary
page, the sentences of a How2Sign video. Each clip is H.264 at the source's frame rate, written to a
temporary file and renamed when complete (``video_writer``)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from signscribe.errors import VideoReadError
from signscribe.io.encode import video_writer
from signscribe.io.video import BBox, crop, probe, read_frames

_EPSILON = 1e-6  # as read_frames compares times


@dataclass(frozen=True)
class Cut:
    """One clip to write to ``out``: a frame range as WLASL gives it (1-based, inclusive, -1: to the
    end) or a time range as How2Sign does (``start_time <= t < end_time``), the same ranges as
    ``read_frames`` selects; ``bbox`` crops every frame."""

    out: Path
    start_frame: int = 1
    end_frame: int = -1
    start_time: float | None = None
    end_time: float | None = None
    bbox: BBox | None = None

    def holds(self, index: int, time: float) -> bool:
        number = index + 1
        if number < self.start_frame or self.past(index, time):
            return False
        return self.start_time is None or time >= self.start_time - _EPSILON

    def past(self, index: int, time: float) -> bool:
        return (self.end_frame != -1 and index + 1 > self.end_frame) or (
            self.end_time is not None and time >= self.end_time - _EPSILON
        )


def cut_clips(source: str | Path, cuts: list[Cut], on_frame: Callable[[], None] | None = None) -> dict[Path, str]:
    """Write every cut of ``source``, decoding it once; returns ``{out: reason}`` for the cuts that
    got no frame (their range lies outside the video). A video that cannot be read raises
    ``VideoReadError``, and then no clip of it is left half-written."""
    source = Path(source)
    fps = probe(source).fps
    open_writers: dict[Cut, tuple[AbstractContextManager, Callable[[np.ndarray], None]]] = {}
    written: set[Cut] = set()
    pending = sorted(cuts, key=lambda cut: (cut.start_frame, cut.start_time or 0.0))
    try:
        for frame in read_frames(source):
            for cut in pending:
                if cut in written and cut not in open_writers:
                    continue
                if cut.past(frame.index, frame.time):
                    if cut in open_writers:
                        manager, _ = open_writers.pop(cut)
                        manager.__exit__(None, None, None)
                    continue
                if cut.holds(frame.index, frame.time):
                    image = _even(crop(frame.image, cut.bbox) if cut.bbox else frame.image, source)
                    if cut not in open_writers:
                        manager = video_writer(cut.out, fps, image.shape[1], image.shape[0])
                        open_writers[cut] = (manager, manager.__enter__())
                        written.add(cut)
                    open_writers[cut][1](image)
            if on_frame:
                on_frame()
            if len(written) == len(pending) and not open_writers:
                break
    except BaseException as error:
        for manager, _ in open_writers.values():
            manager.__exit__(type(error), error, error.__traceback__)
        raise
    for manager, _ in open_writers.values():
        manager.__exit__(None, None, None)
    return {cut.out: f"its range is outside the video ({_describe(cut)})" for cut in cuts if cut not in written}


def _even(image: np.ndarray, source: Path) -> np.ndarray:
    """yuv420p needs an even width and height: the last row or column goes."""
    height, width = image.shape[:2]
    if height < 2 or width < 2:
        raise VideoReadError(source, f"a crop of {width}x{height} pixels is too small to encode")
    return image[: height - height % 2, : width - width % 2]


def _describe(cut: Cut) -> str:
    if cut.start_time is not None or cut.end_time is not None:
        return f"{cut.start_time or 0:g}-{cut.end_time if cut.end_time is not None else 'end'} s"
    return f"frames {cut.start_frame}-{cut.end_frame if cut.end_frame != -1 else 'end'}"
