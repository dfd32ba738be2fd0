"""Idle examples with the hands in view: a signer at rest, hands low in the frame or held at the chest.

Landmark datasets often record "no sign" with the hands out of the frame, while people in real use
rest with their hands in view: low (on the lap, on a desk) or held and clasped in front of the chest,
where signing happens, and still. Both functions turn a sequence of a signer (usually an idle one,
the hands out of view) into one where the hands rest in view: each hand is a real hand shape from a
donor sequence, its wrist placed in front of the body (in shoulder widths from the shoulders) and
held nearly still; the body's elbow, wrist and finger points follow it.

* ``rest_hands``: both hands low, between the rest line and the bottom of the frame, hanging down
  (``rest_around``: such rest before and after a sign, as a recording of one sign holds);
* ``hold_hands``: at chest height, clasped near the middle or held apart, fingers turned inwards,
  a hand at times out of view (people at rest in front of a webcam are seen this way).
"""

from __future__ import annotations

import numpy as np

from signscribe.pose.activity import hand_speeds
from signscribe.pose.layout import BODY_POINTS, LEFT_SHOULDER, RIGHT_SHOULDER
from signscribe.pose.normalize import body_frame, normalize
from signscribe.pose.sequence import PoseSequence

SIDES = (
    ("left_hand", "LEFT", +1.0),  # the signer's left hand lies on the right of the picture: +x
    ("right_hand", "RIGHT", -1.0),
)


def hand_shapes(sequences: list[PoseSequence], resting: bool = False) -> list[np.ndarray]:
    """Real hand shapes, ``(21, 3)``: x and y relative to the wrist in shoulder widths, z as found; one
    per frame and hand found in ``sequences`` (the functions below turn each before use). ``resting``
    keeps only hands at rest: below the rest line (1.0 shoulder widths under the shoulders) and slower
    than half a shoulder width a second, the relaxed shapes of people who are not signing."""
    shapes = []
    for sequence in sequences:
        _, width = body_frame(sequence)
        body = normalize(sequence.without_face()) if resting else None
        speeds = hand_speeds(body) if body is not None else None
        for side, (hand, name, _) in enumerate(SIDES):
            rows = sequence.layout.slice(hand)
            found = sequence.detected(hand)
            if body is not None and speeds is not None:
                with np.errstate(invalid="ignore"):
                    found &= (body.data[:, BODY_POINTS.index(f"{name}_WRIST"), 1] > 1.0) & (speeds[:, side] < 0.5)
            for frame in np.flatnonzero(found):
                points = sequence.data[frame, rows].astype(np.float32)
                shapes.append(np.concatenate([(points[:, :2] - points[:1, :2]) / width, points[:, 2:]], axis=1))
    return shapes


def rest_hands(
    sequence: PoseSequence,
    shapes: list[np.ndarray],
    rng: np.random.Generator,
    rest_line: float = 1.0,
    lowest: float = 1.7,
) -> PoseSequence:
    """``sequence`` (in pixels) with both hands resting low in view, drawn from ``shapes`` (``hand_shapes``).

    Each wrist rests at a height drawn between ``rest_line`` and the lower of ``lowest`` and the bottom of
    the frame, in shoulder widths below the shoulders, half a shoulder width to one and a bit to its
    side, and moves by a few hundredths of a shoulder width from frame to frame."""
    centre, width = body_frame(sequence)
    bottom = (sequence.height - float(np.median(centre[:, 1]))) / width if sequence.height else lowest
    floor = max(rest_line + 0.02, min(lowest, bottom - 0.05))
    hands = []
    for _, _, direction in SIDES:
        rest = np.array([direction * rng.uniform(0.5, 1.1), rng.uniform(rest_line + 0.02, floor)], np.float32)
        shape = _turned(shapes[int(rng.integers(len(shapes)))], np.pi / 2, rng)  # pointing down
        hands.append((rest, shape, np.ones(sequence.num_frames, bool)))
    return _with_hands(sequence, hands, rng, drift=0.01)


def rest_around(
    sequence: PoseSequence, seconds: float, shapes: list[np.ndarray], rng: np.random.Generator
) -> PoseSequence:
    """``sequence`` (in pixels) with ``seconds`` of rest before and after it, as a recording of one sign
    holds: its first and last frame held, both hands resting low in view (``rest_hands``)."""
    count = round(seconds * sequence.fps)
    if count == 0:
        return sequence
    before = rest_hands(sequence.select_frames(np.zeros(count, int)), shapes, rng)
    after = rest_hands(sequence.select_frames(np.full(count, sequence.num_frames - 1)), shapes, rng)
    return before.followed_by(sequence, after)


def hold_hands(
    sequence: PoseSequence,
    shapes: list[np.ndarray],
    rng: np.random.Generator,
    highest: float = 0.25,
    rest_line: float = 1.0,
) -> PoseSequence:
    """``sequence`` (in pixels) with the hands held still at chest height, drawn from ``shapes``.

    Both wrists sit at one height drawn between ``highest`` and ``rest_line`` shoulder widths below the
    shoulders (a tenth apart at most); half the time clasped (a tenth to a third of a shoulder width
    from the middle, fingers towards the other hand), otherwise held apart (up to nine tenths out).
    A quarter of the examples lose one hand altogether, and each hand may be lost for a stretch."""
    frames = sequence.num_frames
    height = rng.uniform(highest, rest_line - 0.05)
    clasped = rng.random() < 0.5
    hands = []
    for _, _, direction in SIDES:
        out = rng.uniform(0.1, 0.33) if clasped else rng.uniform(0.33, 0.9)
        rest = np.array([direction * out, height + rng.uniform(-0.05, 0.05)], np.float32)
        inwards = np.pi if direction > 0 else 0.0  # x grows to the picture's right; +x hand points to -x
        shape = _turned(shapes[int(rng.integers(len(shapes)))], inwards + rng.uniform(-0.5, 1.0) * direction, rng)
        seen = np.ones(frames, bool)
        if rng.random() < 0.35:
            start = int(rng.integers(frames))
            seen[start : start + int(rng.integers(1, frames + 1))] = False
        hands.append((rest, shape, seen))
    if rng.random() < 0.25:
        hands[int(rng.integers(2))][2][:] = False
    return _with_hands(sequence, hands, rng, drift=rng.uniform(0.002, 0.008))


def _turned(shape: np.ndarray, towards: float, rng: np.random.Generator) -> np.ndarray:
    """A hand shape turned so that it points at the angle ``towards`` (0: the picture's right, pi/2:
    down), give or take 45 degrees."""
    pointing = shape[9, :2]  # the middle finger's base, from the wrist
    turn = towards + rng.uniform(-np.pi / 4, np.pi / 4) - np.arctan2(pointing[1], pointing[0])
    matrix = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]], np.float32)
    turned = shape.copy()
    turned[:, :2] = shape[:, :2] @ matrix.T
    return turned


def _with_hands(
    sequence: PoseSequence, hands: list[tuple[np.ndarray, np.ndarray, np.ndarray]], rng: np.random.Generator,
    drift: float,
) -> PoseSequence:  # fmt: skip
    """``sequence`` with each side's hand ``(rest, shape, seen)`` placed: its wrist at ``rest`` (shoulder
    widths from the shoulders' midpoint) plus a random walk of ``drift`` a frame, in the frames ``seen``."""
    centre, width = body_frame(sequence)
    data, confidence = sequence.data.copy(), sequence.confidence.copy()
    frames = sequence.num_frames
    for (hand, side, direction), (rest, shape, seen) in zip(SIDES, hands, strict=True):
        walk = np.cumsum(rng.normal(0, drift, (frames, 2)), axis=0).astype(np.float32)
        wrist = centre[:, :2] + (rest + walk) * width  # (frames, 2) pixels
        rows = sequence.layout.slice(hand)
        data[:, rows, :2] = wrist[:, None, :] + shape[None, :, :2] * width
        data[:, rows, 2] = shape[None, :, 2]
        confidence[:, rows] = seen[:, None].astype(np.float32)
        shoulder = data[:, LEFT_SHOULDER if side == "LEFT" else RIGHT_SHOULDER, :2]
        elbow = (shoulder + wrist) / 2 + np.array([direction * 0.25, 0.0], np.float32) * width
        points = {"ELBOW": elbow, "WRIST": wrist}
        for finger, joint in (("PINKY", 17), ("INDEX", 5), ("THUMB", 4)):
            points[finger] = data[:, rows.start + joint, :2]
        for name, position in points.items():
            row = BODY_POINTS.index(f"{side}_{name}")
            data[:, row, :2] = position
            confidence[:, row] = np.maximum(confidence[:, row], 0.9)
        data[~seen, rows] = 0.0
    return sequence.replace(data=data.astype(np.float32), confidence=confidence.astype(np.float32))
