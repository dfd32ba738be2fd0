"""Is the signer signing? A no-sign detector on landmarks that needs no model and no idle class.

People rest in two ways: with their hands out of view, and with their hands in view but low and
still (on the lap, on a desk, hanging at the sides). Signs are made with a hand raised in front of
the torso or the face. So a stretch of landmarks counts as signing when, in enough of its frames, a
hand is found *above the rest line*: a height below the shoulders, in shoulder widths, as
``signscribe.pose.normalize`` measures it. The height is the body's wrist point on the hand's side,
which normalisation keeps in the body frame whether or not the hands are made wrist-relative, so
the detector reads raw and normalised landmarks alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from signscribe.pose.layout import BODY_POINTS, Layout
from signscribe.pose.normalize import normalize
from signscribe.pose.sequence import PoseSequence

_LAYOUT = Layout()
# each hand and the body's wrist point on its side
_HANDS = (("left_hand", BODY_POINTS.index("LEFT_WRIST")), ("right_hand", BODY_POINTS.index("RIGHT_WRIST")))


@dataclass(frozen=True)
class Activity:
    """What a stretch of landmarks shows: the share of frames with a hand, and the share with a raised hand."""

    hand_presence: float
    raised: float


def activity(sequence: PoseSequence, rest_line: float) -> Activity:
    """The activity of landmarks (raw or normalised), a hand counting as raised above ``rest_line``."""
    if sequence.num_frames == 0:
        return Activity(0.0, 0.0)
    body = sequence if sequence.normalized else normalize(sequence.without_face())
    present = np.zeros(sequence.num_frames, bool)
    raised = np.zeros(sequence.num_frames, bool)
    for hand, wrist in _HANDS:
        seen = body.confidence[:, _LAYOUT.slice(hand)].max(axis=1) > 0
        present |= seen
        raised |= seen & (body.confidence[:, wrist] > 0) & (body.data[:, wrist, 1] < rest_line)
    return Activity(float(present.mean()), float(raised.mean()))


@dataclass(frozen=True)
class SigningDetector:
    """Signing when a hand is raised above ``rest_line`` in at least ``min_raised`` of the frames.

    ``rest_line`` is in shoulder widths below the line between the shoulders: signing wrists sit
    around 0.5 (the chest) and nearly always above 1.0; hands resting in view sit lower."""

    rest_line: float = 1.0
    min_raised: float = 0.25

    def measure(self, sequence: PoseSequence) -> Activity:
        return activity(sequence, self.rest_line)

    def is_signing(self, sequence: PoseSequence) -> bool:
        return self.measure(sequence).raised >= self.min_raised
