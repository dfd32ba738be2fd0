"""Idle examples with the hands in view: a signer at rest whose hands lie low in the frame and still.

Landmark datasets often record "no sign" with the hands out of the frame, while people in real use
rest with their hands in view. ``rest_hands`` turns a sequence of a signer (usually an idle one, the
hands out of view) into one where both hands rest in view: each hand is a real hand shape from a
donor sequence, placed with its wrist low in front of the body (between the rest line and the
bottom of the frame, in shoulder widths below the shoulders) and held nearly still; the body's
elbow, wrist and finger points follow it.
"""

from __future__ import annotations

import numpy as np

from signscribe.pose.layout import BODY_POINTS, LEFT_SHOULDER, RIGHT_SHOULDER
from signscribe.pose.normalize import body_frame
from signscribe.pose.sequence import PoseSequence

SIDES = (
    ("left_hand", "LEFT", +1.0),  # the signer's left hand lies on the right of the picture: +x
    ("right_hand", "RIGHT", -1.0),
)


def hand_shapes(sequences: list[PoseSequence]) -> list[np.ndarray]:
    """Real hand shapes, ``(21, 3)``: x and y relative to the wrist in shoulder widths, z as found; one
    per frame and hand found in ``sequences`` (``rest_hands`` turns each to hang down before use)."""
    shapes = []
    for sequence in sequences:
        _, width = body_frame(sequence)
        for hand, _, _ in SIDES:
            rows = sequence.layout.slice(hand)
            for frame in np.flatnonzero(sequence.detected(hand)):
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
    """``sequence`` (in pixels) with both hands resting in view, drawn from ``shapes`` (``hand_shapes``).

    Each wrist rests at a height drawn between ``rest_line`` and the lower of ``lowest`` and the bottom of
    the frame, in shoulder widths below the shoulders, half a shoulder width to one and a bit to its
    side, and moves by a few hundredths of a shoulder width from frame to frame."""
    centre, width = body_frame(sequence)
    bottom = (sequence.height - float(np.median(centre[:, 1]))) / width if sequence.height else lowest
    floor = max(rest_line + 0.02, min(lowest, bottom - 0.05))
    data, confidence = sequence.data.copy(), sequence.confidence.copy()
    frames = sequence.num_frames
    for hand, side, direction in SIDES:
        rest = np.array([direction * rng.uniform(0.5, 1.1), rng.uniform(rest_line + 0.02, floor)], np.float32)
        drift = np.cumsum(rng.normal(0, 0.01, (frames, 2)), axis=0).astype(np.float32)
        wrist = centre[:, :2] + (rest + drift) * width  # (frames, 2) pixels
        shape = _hanging(shapes[int(rng.integers(len(shapes)))], rng)
        rows = sequence.layout.slice(hand)
        data[:, rows, :2] = wrist[:, None, :] + shape[None, :, :2] * width
        data[:, rows, 2] = shape[None, :, 2]
        confidence[:, rows] = 1.0
        shoulder = data[:, LEFT_SHOULDER if side == "LEFT" else RIGHT_SHOULDER, :2]
        elbow = (shoulder + wrist) / 2 + np.array([direction * 0.25, 0.0], np.float32) * width
        points = {"ELBOW": elbow, "WRIST": wrist}
        for finger, joint in (("PINKY", 17), ("INDEX", 5), ("THUMB", 4)):
            points[finger] = data[:, rows.start + joint, :2]
        for name, position in points.items():
            row = BODY_POINTS.index(f"{side}_{name}")
            data[:, row, :2] = position
            confidence[:, row] = np.maximum(confidence[:, row], 0.9)
    return sequence.replace(data=data.astype(np.float32), confidence=confidence.astype(np.float32))


def _hanging(shape: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A hand shape turned so that it points down, give or take 45 degrees, as resting hands do."""
    pointing = shape[9, :2]  # the middle finger's base, from the wrist
    current = np.arctan2(pointing[1], pointing[0])
    turn = np.pi / 2 + rng.uniform(-np.pi / 4, np.pi / 4) - current  # y points down the picture
    matrix = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]], np.float32)
    turned = shape.copy()
    turned[:, :2] = shape[:, :2] @ matrix.T
    return turned
