"""The ``hand`` input kind: the signing hand's shape and path, the same letter whichever hand signs it,
wherever and however large it is in the frame, from a photo or a clip."""

from __future__ import annotations

import numpy as np
import pytest

from signscribe.models.inputs import input_pipeline
from signscribe.models.inputs.hand import HandAugmenter, hand_features, signing_hand
from signscribe.pose.augment import mirror
from signscribe.pose.layout import Layout
from signscribe.pose.photo import NoHandError
from signscribe.pose.sequence import PoseSequence


def _hand_sequence(frames: int = 1, side: str = "right_hand", seed: int = 0, moving: bool = False) -> PoseSequence:
    """A hand of 21 points (a spread of fingers around a wrist) at (300, 200) in a 640x480 frame."""
    rng = np.random.default_rng(seed)
    layout = Layout()
    data = np.zeros((frames, layout.num_points, 3), np.float32)
    confidence = np.zeros((frames, layout.num_points), np.float32)
    shape = np.concatenate([[[0, 0, 0]], rng.uniform([-40, -90, -0.05], [40, -10, 0.05], (20, 3))])
    shape[9] = [0, -60, 0]  # the middle knuckle: a palm 60 px long
    rows = layout.slice(side)
    for frame in range(frames):
        wrist = np.array([300 + (8 * frame if moving else 0), 200, 0])
        data[frame, rows] = shape + wrist
        confidence[frame, rows] = 1
    return PoseSequence(data, confidence, fps=30.0, width=640, height=480)


def test_the_left_hand_gives_the_features_of_the_right_hand_it_mirrors() -> None:
    right = _hand_sequence()
    left = mirror(right)  # the same hand shape made by the other hand, seen in a mirror
    assert signing_hand(right) == "right_hand" and signing_hand(left) == "left_hand"
    np.testing.assert_allclose(hand_features(left)[0], hand_features(right)[0], atol=1e-5)


def test_where_the_hand_is_and_how_large_changes_nothing() -> None:
    near = _hand_sequence()
    moved = near.replace(data=(near.data * np.float32([2.0, 2.0, 1.0]) + np.float32([-250, 30, 0])).astype(np.float32))
    moved = moved.replace(data=np.where(near.confidence[..., None] > 0, moved.data, 0).astype(np.float32))
    features, present = hand_features(near)
    np.testing.assert_allclose(hand_features(moved)[0][:, :21, :2], features[:, :21, :2], atol=1e-4)
    assert present.all() and np.linalg.norm(features[0, 9]) == pytest.approx(1.0, abs=1e-4)  # a palm long


def test_a_photo_has_no_path_and_a_moving_hand_has_one() -> None:
    assert not hand_features(_hand_sequence())[0][:, 21].any()
    path = hand_features(_hand_sequence(frames=10, moving=True))[0][:, 21]
    assert path[:, 0].max() - path[:, 0].min() == pytest.approx(72 / 60, abs=1e-3)  # 72 px in 60 px palms


def test_the_hand_found_in_more_frames_signs() -> None:
    sequence = _hand_sequence(frames=6, side="left_hand")
    other = _hand_sequence(frames=6, side="right_hand", seed=1)
    rows = Layout().slice("right_hand")
    data, confidence = sequence.data.copy(), sequence.confidence.copy()
    data[:2, rows], confidence[:2, rows] = other.data[:2, rows], other.confidence[:2, rows]
    assert signing_hand(sequence.replace(data=data, confidence=confidence)) == "left_hand"


def test_landmarks_without_a_hand_are_refused() -> None:
    empty = _hand_sequence().replace(confidence=np.zeros((1, Layout().num_points), np.float32))
    with pytest.raises(NoHandError, match="no hand found"):
        input_pipeline("hand").prepare(empty)


def test_a_clip_becomes_at_most_max_frames_and_a_photo_one() -> None:
    pipeline = input_pipeline("hand", {"channels": 2, "max_frames": 8})
    values, present = pipeline.example(pipeline.prepare(_hand_sequence(frames=20, moving=True)))
    assert values.shape == (8, 22, 2) and present.shape == (8, 22)
    assert pipeline.example(pipeline.prepare(_hand_sequence()))[0].shape == (1, 22, 2)


def test_augmentation_changes_the_hand_as_a_camera_would_and_keeps_it_found() -> None:
    rng = np.random.default_rng(0)
    augment = HandAugmenter(still_probability=1.0)
    clip = _hand_sequence(frames=20, moving=True)
    still = augment(clip, rng)
    assert still.num_frames == 1 and (still.detected("right_hand") | still.detected("left_hand")).all()
    changed = HandAugmenter(still_probability=0.0, side_error_probability=0.0)(clip, rng)
    assert not np.allclose(hand_features(changed)[0][0], hand_features(clip)[0][0], atol=1e-3)
