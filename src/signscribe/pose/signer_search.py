"""Finding a signer who is small in the frame, such as someone sitting back from a 720p webcam.

MediaPipe's person detector sees the whole frame shrunk to 224x224, so a signer a quarter of the frame
high is often missed in every frame (measured: 13 of 169 WLASL100 val clips in a 720p framing,
``benchmarks/camera_views.py``). When the person is found in too few frames, the extractor looks for
them in zoomed windows of a few frames, then extracts again from a square crop around them and maps the
landmarks back to the whole frame. A live stream does the same as it goes (``SignerFraming``): once the
body has been missed in a run of frames, it looks in zoomed windows of the current frame and feeds the
graph a crop around the person from then on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from signscribe.io import BBox, crop
from signscribe.pose.layout import Layout
from signscribe.pose.sequence import PoseSequence

# a body point with at least this visibility counts as seen
VISIBLE = 0.5
# search when the person is found in fewer of the frames than this
SEARCH_BELOW = 0.9
# zoomed windows: squares of this share of the frame's shorter side, overlapping by half
WINDOW_SHARE = 0.5
# a window smaller than this (a tiny video) holds no one MediaPipe could find: no search
SMALLEST_WINDOW = 64
# frames of the clip tried, evenly spaced, when the first pass found the person in none
SEARCH_FRAMES = 4
# the crop around the person: a square this many times their body's larger side (arms raised, signing space)
CROP_MARGIN = 2.0
# a crop's side above this share of the frame's longer side barely enlarges the person in the detector's
# view (which is the longer side shrunk to 224): the first pass stands
LARGEST_USEFUL_CROP = 0.6
# a stream looks for the signer once the body has been missed in this many frames in a row; after a
# search that found no one, it waits twice as long before the next, up to STREAM_LONGEST_WAIT frames
STREAM_MISSES, STREAM_LONGEST_WAIT = 8, 256

BODY_ROWS = Layout().slice("pose")


def person_box(points: np.ndarray) -> tuple[float, float, float, float]:
    """The box ``(x1, y1, x2, y2)`` around points given as ``(n, 2)`` pixels."""
    return float(points[:, 0].min()), float(points[:, 1].min()), float(points[:, 0].max()), float(points[:, 1].max())


def crop_around(box: tuple[float, float, float, float], width: int, height: int) -> BBox | None:
    """A square crop of ``CROP_MARGIN`` times the person's box around its centre, moved inside the frame
    and clipped to it; None when it would be most of the frame anyway."""
    x1, y1, x2, y2 = box
    side = min(CROP_MARGIN * max(x2 - x1, y2 - y1), float(min(width, height)))
    left = min(max((x1 + x2) / 2 - side / 2, 0.0), width - side)
    top = min(max((y1 + y2) / 2 - side / 2, 0.0), height - side)
    if side > LARGEST_USEFUL_CROP * max(width, height):
        return None
    return round(left), round(top), round(left + side), round(top + side)


def windows(width: int, height: int) -> list[BBox]:
    """Overlapping square windows that cover the frame, ``WINDOW_SHARE`` of its shorter side each (none
    in a frame too small for them)."""
    side = round(min(width, height) * WINDOW_SHARE)
    if side < SMALLEST_WINDOW:
        return []
    step = side // 2
    xs = sorted({*range(0, width - side + 1, step), width - side})
    ys = sorted({*range(0, height - side + 1, step), height - side})
    return [(x, y, x + side, y + side) for y in ys for x in xs]


def box_in_sequence(sequence: PoseSequence) -> tuple[float, float, float, float] | None:
    """The box around the body's points in the frames where the first pass found the person."""
    values, confidence = sequence.component("pose")
    found = confidence > VISIBLE
    if not found.any():
        return None
    return person_box(values[found][:, :2])


def search_windows(
    images: Sequence[np.ndarray], find_pose: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray] | None]
) -> tuple[float, float, float, float] | None:
    """The box around the person found in zoomed windows of ``images``: ``find_pose(image)`` gives the
    body's ``(33, 2)`` pixels and confidences in that image, or None. The union of what each image's
    first window with a person shows, in the frame's pixels."""
    boxes = []
    for image in images:
        height, width = image.shape[:2]
        for left, top, right, bottom in windows(width, height):
            found = find_pose(crop(image, (left, top, right, bottom)))
            if found is None:
                continue
            points, confidence = found
            visible = points[confidence > VISIBLE]
            if len(visible) >= 4:
                x1, y1, x2, y2 = person_box(visible)
                boxes.append((x1 + left, y1 + top, x2 + left, y2 + top))
                break
    if not boxes:
        return None
    return person_box(np.array(boxes).reshape(-1, 2))  # the corners of every box


def in_frame(data: np.ndarray, confidence: np.ndarray, box: BBox, crop_width: int, width: int) -> np.ndarray:
    """Points found in ``box`` of a frame (``data`` in the crop's own pixels, ``crop_width`` wide) in the pixels
    of the whole frame, ``width`` wide; z, which MediaPipe scales with the image's width, follows x from the
    crop's width to the frame's. Points not found (``confidence`` 0) stay zero."""
    box_width = box[2] - box[0]
    data = data.copy()
    data[..., :2] *= box_width / crop_width
    data[..., 2] *= box_width / width
    data[..., 0] += box[0]
    data[..., 1] += box[1]
    data[confidence <= 0] = 0.0
    return data


def to_frame(sequence: PoseSequence, box: BBox, width: int, height: int) -> PoseSequence:
    """Landmarks extracted from ``box`` of the frame (in the crop's own pixels) in the pixels of the whole
    ``width`` x ``height`` frame (``in_frame``)."""
    data = in_frame(sequence.data, sequence.confidence, box, sequence.width, width)
    return sequence.replace(data=data, width=width, height=height)


class FrameGraph(Protocol):
    """A Holistic graph fed frame by frame (``HolisticStream``)."""

    def process(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def reset(self) -> None: ...


class Finder(Protocol):
    """MediaPipe Pose on single images (``extract.PoseFinder``)."""

    def find(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None: ...

    def close(self) -> None: ...


class SignerFraming:
    """A live stream's frames into ``graph``, zoomed in on a signer small in the frame.

    Once the body has been missed in ``STREAM_MISSES`` frames in a row, the current frame is searched in
    zoomed windows (``search_windows`` with the ``Finder`` that ``open_finder`` gives on first need), and the
    graph is fed a square crop around the person from then on (``crop_around``), its landmarks mapped
    back to the whole frame. A person lost inside the crop for as long, or frames of another size, send
    the stream back to the whole frame. A search that finds no one (an empty room) doubles the wait
    before the next one."""

    def __init__(self, graph: FrameGraph, open_finder: Callable[[], Finder], wait: int = STREAM_MISSES) -> None:
        self.graph, self._open_finder = graph, open_finder
        self._finder: Finder | None = None
        self.region: BBox | None = None
        self._first_wait = self._wait = wait
        self._missed = 0
        self._size: tuple[int, int] | None = None

    def process(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(points, 3)`` values and ``(points,)`` confidence of one RGB frame, in its pixels."""
        height, width = image.shape[:2]
        if (width, height) != self._size and self.region is not None:  # the client changed its camera's size
            self._missed = 0
            self._whole_frame()
        self._size = (width, height)
        if self.region is None:
            values, confidence = self.graph.process(image)
        else:
            values, confidence = self.graph.process(np.ascontiguousarray(crop(image, self.region)))
            values = in_frame(values, confidence, self.region, self.region[2] - self.region[0], width)
        self._missed = 0 if (confidence[BODY_ROWS] > 0).any() else self._missed + 1
        if self._missed >= self._wait:
            self._missed = 0
            self._reframe(image, width, height)
        return values, confidence

    def _reframe(self, image: np.ndarray, width: int, height: int) -> None:
        if self.region is not None:  # lost inside the crop: the whole frame again
            self._whole_frame()
            return
        if self._finder is None:
            self._finder = self._open_finder()
        box = search_windows([image], self._finder.find)
        self.region = None if box is None else crop_around(box, width, height)
        self._wait = self._first_wait if self.region else min(2 * self._wait, STREAM_LONGEST_WAIT)
        self.graph.reset()

    def _whole_frame(self) -> None:
        """Feed the graph whole frames again, its tracking forgotten, with the first wait before a search."""
        self.region, self._wait = None, self._first_wait
        self.graph.reset()

    def close(self) -> None:
        """Close the finder, if a search opened one (the graph is the caller's)."""
        if self._finder is not None:
            self._finder.close()
            self._finder = None
