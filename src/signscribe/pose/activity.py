"""Is the signer signing? A no-sign detector on landmarks that needs no model and no idle class.

People rest in three ways: with their hands out of view; in view but low (on the lap, on a desk,
hanging at the sides); and in view at chest height, held or clasped, but still. Signs are made with
a hand raised in front of the torso or the face, and nearly all of them move. So a stretch of
landmarks counts as signing when, in enough of its frames, a hand is found *above the rest line* (a
height below the shoulders, in shoulder widths, as ``signscribe.pose.normalize`` measures it) and,
where the detector is given a ``still_speed``, *moving* at least that fast in enough of those frames.

A hand's speed in a frame is how far its wrist and the shape of its fingers move between the frames
``MOTION_SPAN`` seconds around it, in shoulder widths a second; MediaPipe's jitter alone gives a
held hand about 0.1-0.3. Held signs (the letters A and I) are as still as a resting hand, so a model
whose vocabulary has them gets no ``still_speed``; it may get a ``clasp_speed`` instead: two hands
that touch (clasped) and are both slower than that are resting, wherever they are.
The height is the body's wrist point on the hand's side, which normalisation keeps in the body frame
whether or not the hands are made wrist-relative, so the detector reads raw and normalised landmarks
alike. ``serving/static/landmarks.js`` is the same detector in the browser.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from signscribe.pose.layout import BODY_POINTS, Layout
from signscribe.pose.normalize import normalize
from signscribe.pose.sequence import PoseSequence

_LAYOUT = Layout()
# each hand and the body's wrist point on its side
_HANDS = (("left_hand", BODY_POINTS.index("LEFT_WRIST")), ("right_hand", BODY_POINTS.index("RIGHT_WRIST")))
MOTION_SPAN = 0.2  # seconds between the two frames a speed is measured on
CLASP_GAP = 0.15  # shoulder widths between the nearest points of two hands that touch
# signing_span: a wrist clearly above the rest line (by SPAN_CLEARANCE shoulder widths: a hand resting
# just below it jitters across it) for RAISED_RUN seconds running is signing, not a passing hand, and
# the span keeps SPAN_MARGIN seconds of the rest around it (about the lead-in of a pre-trimmed clip)
RAISED_RUN, SPAN_MARGIN, SPAN_CLEARANCE = 0.2, 0.2, 0.1


@dataclass(frozen=True)
class Activity:
    """What a stretch of landmarks shows: the share of frames with a hand, with a raised hand (clasped
    still hands left out with a ``clasp_speed``), and with a raised hand that moves (at least the
    detector's ``still_speed``; all raised ones without it)."""

    hand_presence: float
    raised: float
    moving: float


def _found(body: PoseSequence, hand: str) -> np.ndarray:
    """``(frames,)``: whether any point of ``hand`` is found."""
    return body.confidence[:, _LAYOUT.slice(hand)].max(axis=1) > 0


def _shape(body: PoseSequence, hand: str) -> np.ndarray:
    """``(frames, 21, 2)``: a hand's points relative to its own wrist (raw or wrist-relative landmarks alike)."""
    rows = _LAYOUT.slice(hand)
    return body.data[:, rows, :2] - body.data[:, rows.start : rows.start + 1, :2]


def hand_speeds(body: PoseSequence) -> np.ndarray:
    """``(frames, 2)``: the speed of each hand (left, right) in shoulder widths a second, from normalised
    landmarks, between the frames ``MOTION_SPAN / 2`` before and after (clamped at the ends): how far
    the body's wrist point moved, plus, where the hand is found in both, the mean movement of its
    points relative to its own wrist (MediaPipe often loses a hand that the pose's wrist still
    follows). NaN where the wrist is missing in either, and everywhere when frames come too seldom
    (under 2.5 a second, as from a slow browser) for a speed to mean anything."""
    frames = body.num_frames
    speeds = np.full((frames, 2), np.nan, np.float32)
    half = max(1, math.floor(MOTION_SPAN * body.fps / 2 + 0.5))  # halves round up, as in JavaScript
    if frames < 2 or 2 * half / body.fps > 4 * MOTION_SPAN:
        return speeds
    index = np.arange(frames)
    before, after = np.maximum(index - half, 0), np.minimum(index + half, frames - 1)
    seconds = (after - before) / body.fps
    for side, (hand, wrist) in enumerate(_HANDS):
        found, tracked, shape = _found(body, hand), body.confidence[:, wrist] > 0, _shape(body, hand)
        moved = np.linalg.norm(body.data[after, wrist, :2] - body.data[before, wrist, :2], axis=1)
        reshaped = np.linalg.norm(shape[after] - shape[before], axis=2).mean(axis=1)
        moved += np.where(found[before] & found[after], reshaped, 0.0)
        speeds[:, side] = np.where(tracked[before] & tracked[after], moved / seconds, np.nan)
    return speeds


def _hand_points(body: PoseSequence, hand: str, wrist: int) -> np.ndarray:
    """``(frames, 21, 2)``: a hand's points in the body frame, its shape placed at the body's wrist point
    (so raw and wrist-relative landmarks give the same)."""
    return _shape(body, hand) + body.data[:, wrist : wrist + 1, :2]


def hands_touching(body: PoseSequence) -> np.ndarray:
    """``(frames,)``: both hands found and their nearest points within ``CLASP_GAP``, from normalised
    landmarks (clasped hands, or a two-handed sign that touches)."""
    (left, left_wrist), (right, right_wrist) = _HANDS
    seen = np.ones(body.num_frames, bool)
    for hand, wrist in _HANDS:
        seen &= _found(body, hand) & (body.confidence[:, wrist] > 0)
    a, b = _hand_points(body, left, left_wrist), _hand_points(body, right, right_wrist)
    gaps = np.linalg.norm(a[:, :, None] - b[:, None, :], axis=3).min(axis=(1, 2))
    return seen & (gaps < CLASP_GAP)


def activity(
    sequence: PoseSequence, rest_line: float, still_speed: float | None = None, clasp_speed: float | None = None
) -> Activity:
    """The activity of landmarks (raw or normalised): a hand counts as raised above ``rest_line``
    unless it touches the other and both are slower than ``clasp_speed``, and as moving when raised
    and not measured slower than ``still_speed`` shoulder widths a second."""
    if sequence.num_frames == 0:
        return Activity(0.0, 0.0, 0.0)
    body = sequence if sequence.normalized else normalize(sequence.without_face())
    present = np.zeros(sequence.num_frames, bool)
    raised = np.zeros((sequence.num_frames, 2), bool)
    for side, (hand, wrist) in enumerate(_HANDS):
        seen = _found(body, hand)
        present |= seen
        raised[:, side] = seen & (body.confidence[:, wrist] > 0) & (body.data[:, wrist, 1] < rest_line)
    moving = raised
    if still_speed is not None or clasp_speed is not None:
        speeds = hand_speeds(body)
        with np.errstate(invalid="ignore"):
            if clasp_speed is not None:
                raised = raised & ~(hands_touching(body) & (speeds < clasp_speed).all(axis=1))[:, None]
            moving = raised & ~(speeds < still_speed) if still_speed is not None else raised  # unmeasured: moving
    return Activity(float(present.mean()), float(raised.any(axis=1).mean()), float(moving.any(axis=1).mean()))


@dataclass(frozen=True)
class SigningDetector:
    """Signing when a hand is raised above ``rest_line`` in at least ``min_raised`` of the frames and,
    with ``still_speed``, moves at least that fast in at least ``min_moving`` of those; with
    ``clasp_speed``, two hands that touch and are both slower than it are not raised.

    ``rest_line`` is in shoulder widths below the line between the shoulders: signing wrists sit
    around 0.5 (the chest) and nearly always above 1.0; hands resting low sit lower. The speeds are in
    shoulder widths a second (see the module). Motion is judged among the raised frames because
    MediaPipe loses the hands of small clips in many frames. A model folder's ``config.json`` may set
    each of these (``detector``), calibrated on its validation clips."""

    rest_line: float = 1.0
    min_raised: float = 0.25
    still_speed: float | None = None
    min_moving: float = 0.25
    clasp_speed: float | None = None

    @classmethod
    def from_config(cls, settings: dict[str, Any] | None) -> SigningDetector:
        """The detector a model folder's ``config.json`` ``detector`` entry describes (defaults without one)."""
        settings = settings or {}
        names = [field.name for field in dataclasses.fields(cls)]
        return cls(**{name: settings[name] for name in names if name in settings})

    def measure(self, sequence: PoseSequence) -> Activity:
        return activity(sequence, self.rest_line, self.still_speed, self.clasp_speed)

    def is_signing(self, sequence: PoseSequence) -> bool:
        measured = self.measure(sequence)
        return measured.raised >= self.min_raised and measured.moving >= self.min_moving * measured.raised

    def settings(self) -> dict[str, float | None]:
        """The detector as ``config.json`` and the web page's model list carry it."""
        return dataclasses.asdict(self)


def stretches(frames: np.ndarray, min_frames: int) -> list[slice]:
    """The runs of at least ``min_frames`` consecutive true values of the ``(frames,)`` bool array ``frames``."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], frames.astype(np.int8), [0]])))
    return [slice(int(start), int(stop)) for start, stop in zip(edges[::2], edges[1::2], strict=True)
            if stop - start >= min_frames]  # fmt: skip


def signing_span(body: PoseSequence, rest_line: float = SigningDetector.rest_line) -> slice:
    """The frames of normalised landmarks from the first to the last stretch of ``RAISED_RUN`` seconds in
    which a wrist is ``SPAN_CLEARANCE`` above ``rest_line``, widened by ``SPAN_MARGIN`` seconds each side;
    every frame when there is no such stretch. The body's wrist points decide, as MediaPipe often loses
    the hands of small clips that the body still follows.

    A recording of one sign holds the rest before and after it, which a pre-trimmed training clip (WLASL)
    hardly has: with a second of it each side, val top-1 falls by 9.5 points and clips called resting
    rise from 4% to 13% (``benchmarks/rest_around_signs.py``). The span cuts it away."""
    wrists = [wrist for _, wrist in _HANDS]
    line = rest_line - SPAN_CLEARANCE
    raised = ((body.confidence[:, wrists] > 0) & (body.data[:, wrists, 1] < line)).any(axis=1)
    runs = stretches(raised, max(1, math.floor(RAISED_RUN * body.fps + 0.5)))  # halves round up, as in JavaScript
    if not runs:
        return slice(0, body.num_frames)
    margin = math.floor(SPAN_MARGIN * body.fps + 0.5)
    return slice(max(0, runs[0].start - margin), min(body.num_frames, runs[-1].stop + margin))


def still_stretches(sequence: PoseSequence, max_speed: float, min_frames: int) -> list[slice]:
    """The stretches of at least ``min_frames`` frames in which a hand is in view and every hand in view
    moves slower than ``max_speed`` shoulder widths a second: a signer at rest (or holding a sign)."""
    body = sequence if sequence.normalized else normalize(sequence.without_face())
    seen = np.stack([_found(body, hand) for hand, _ in _HANDS], axis=1)
    with np.errstate(invalid="ignore"):
        slow = np.where(seen, hand_speeds(body) < max_speed, True).all(axis=1) & seen.any(axis=1)
    return stretches(slow, min_frames)
