"""Body-centred normalisation: the signer's size and place in the frame stop mattering.

Every frame is centred on the midpoint of the shoulders and scaled by the shoulder width
(the median over the sequence, so the scale does not jitter). Hands can also be expressed
relative to their own wrist, so their shape is separate from their position (which the
body's wrist landmarks still carry).

Missing data is handled explicitly:

* a frame without a body takes the shoulder centre interpolated from the nearest frames that
  have one (held at the ends);
* a sequence with no body at all is centred on the frame's centre and scaled by a third of
  its height (about a shoulder width in a frontal, waist-up framing);
* a missing point stays at 0 with confidence 0, so models can mask it;
* ``fill_gaps`` interpolates short gaps in a component (a hand lost for a few frames).
"""

from __future__ import annotations

import itertools

import numpy as np

from signscribe.pose.layout import LEFT_SHOULDER, RIGHT_SHOULDER
from signscribe.pose.sequence import PoseSequence

HANDS = ("left_hand", "right_hand")


def _pixel_space(sequence: PoseSequence) -> np.ndarray:
    """x, y in pixels and z in the same unit (MediaPipe's z is relative to the frame width)."""
    return sequence.data * np.array([1.0, 1.0, max(sequence.width, 1)], dtype=np.float32)


def body_frame(sequence: PoseSequence) -> tuple[np.ndarray, float]:
    """Per-frame shoulder centre ``(frames, 3)`` and the sequence's shoulder width, in pixels."""
    data = _pixel_space(sequence)
    shoulders = sequence.confidence[:, [LEFT_SHOULDER, RIGHT_SHOULDER]].min(axis=1) > 0
    frames = np.arange(sequence.num_frames)
    if not shoulders.any():
        centre = np.array([sequence.width / 2, sequence.height / 2, 0.0], dtype=np.float32)
        return np.tile(centre, (sequence.num_frames, 1)), max(sequence.height / 3, 1e-6)
    left, right = data[:, LEFT_SHOULDER], data[:, RIGHT_SHOULDER]
    centre = np.stack(
        [np.interp(frames, frames[shoulders], ((left + right) / 2)[shoulders, axis]) for axis in range(3)], axis=1
    )
    width = float(np.median(np.linalg.norm((left - right)[shoulders, :2], axis=1)))
    return centre.astype(np.float32), max(width, 1e-6)


def normalize(sequence: PoseSequence, hands_relative: bool = True) -> PoseSequence:
    """Centre on the shoulders, scale by shoulder width, optionally make hands wrist-relative."""
    if sequence.normalized:
        raise ValueError(f"{sequence.source or 'sequence'} is already normalised")
    centre, width = body_frame(sequence)
    data = (_pixel_space(sequence) - centre[:, None, :]) / width
    if hands_relative:
        for hand in HANDS:
            rows = sequence.layout.slice(hand)
            data[:, rows] -= data[:, rows.start : rows.start + 1]
    present = sequence.confidence > 0
    data = np.where(present[..., None], data, 0.0).astype(np.float32)
    return sequence.replace(data=data, normalized=True)


def fill_gaps(sequence: PoseSequence, component: str, max_gap: int = 4) -> PoseSequence:
    """Interpolate a component across gaps of at most ``max_gap`` frames between two detections.

    Filled points get the lower confidence of the two frames around the gap.
    """
    rows = sequence.layout.slice(component)
    detected = sequence.detected(component)
    data, confidence = sequence.data.copy(), sequence.confidence.copy()
    seen = np.flatnonzero(detected)
    for before, after in itertools.pairwise(seen):
        gap = after - before - 1
        if 0 < gap <= max_gap:
            weights = (np.arange(1, gap + 1) / (gap + 1))[:, None, None]
            data[before + 1 : after, rows] = (1 - weights) * data[before, rows] + weights * data[after, rows]
            confidence[before + 1 : after, rows] = np.minimum(confidence[before, rows], confidence[after, rows])
    return sequence.replace(data=data, confidence=confidence)
