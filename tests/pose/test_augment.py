from __future__ import annotations

import numpy as np
import pytest

from signscribe.pose import (
    Augmenter,
    PoseSequence,
    drop_frames,
    fill_gaps,
    mirror,
    normalize,
    resample,
    rotate,
    scale,
    shear,
    time_warp,
)
from signscribe.pose.layout import BODY_POINTS


@pytest.fixture
def signing(both_hands_pose: PoseSequence) -> PoseSequence:
    return normalize(both_hands_pose)


def _pairwise(points: np.ndarray) -> np.ndarray:
    return np.linalg.norm(points[:, None] - points[None], axis=-1)


def test_mirror_swaps_hands_and_sides(signing: PoseSequence) -> None:
    mirrored = mirror(signing)
    left, right = signing.layout.slice("left_hand"), signing.layout.slice("right_hand")
    np.testing.assert_array_equal(mirrored.confidence[:, left], signing.confidence[:, right])
    np.testing.assert_allclose(mirrored.data[:, left, 0], -signing.data[:, right, 0])
    np.testing.assert_allclose(mirrored.data[:, left, 1], signing.data[:, right, 1])
    ls, rs = BODY_POINTS.index("LEFT_SHOULDER"), BODY_POINTS.index("RIGHT_SHOULDER")
    np.testing.assert_allclose(mirrored.data[:, ls, 0], -signing.data[:, rs, 0])
    again = mirror(mirrored)
    np.testing.assert_array_equal(again.data, signing.data)
    np.testing.assert_array_equal(again.confidence, signing.confidence)


def test_mirror_in_pixels_reflects_across_the_frame(both_hands_pose: PoseSequence) -> None:
    mirrored = mirror(both_hands_pose)
    nose = BODY_POINTS.index("NOSE")
    np.testing.assert_allclose(mirrored.data[:, nose, 0], both_hands_pose.width - both_hands_pose.data[:, nose, 0])


def test_mirror_with_face_uses_the_face_mesh_symmetry(both_hands_clip) -> None:
    from signscribe.pose import ExtractionSettings, HolisticExtractor

    pose = HolisticExtractor(ExtractionSettings(include_face=True)).extract(both_hands_clip, end_frame=3)
    again = mirror(mirror(pose))
    np.testing.assert_allclose(again.data, pose.data, atol=1e-3)  # width - (width - x) in float32
    order = pose.layout.mirror_permutation()
    assert sorted(order) == list(range(543))


def test_rotation_keeps_distances_and_turns_by_the_angle(signing: PoseSequence) -> None:
    rotated = rotate(signing, 30)
    body = signing.component("pose")[0][10, :, :2]
    np.testing.assert_allclose(_pairwise(rotated.component("pose")[0][10, :, :2]), _pairwise(body), atol=1e-5)
    before = signing.data[10, BODY_POINTS.index("LEFT_SHOULDER"), :2]
    after = rotated.data[10, BODY_POINTS.index("LEFT_SHOULDER"), :2]
    angle = np.degrees(np.arctan2(before[1], before[0]) - np.arctan2(after[1], after[0]))
    assert angle == pytest.approx(30, abs=1e-3)


def test_scale_and_shear(signing: PoseSequence) -> None:
    np.testing.assert_allclose(scale(signing, 2.0).data[..., :2], signing.data[..., :2] * 2, atol=1e-6)
    sheared = shear(signing, 0.5)
    np.testing.assert_allclose(sheared.data[..., 0], signing.data[..., 0] + 0.5 * signing.data[..., 1], atol=1e-6)
    np.testing.assert_array_equal(sheared.data[..., 2], signing.data[..., 2])
    assert np.all(sheared.data[signing.confidence == 0] == 0)


def test_temporal_augmentations(signing: PoseSequence) -> None:
    slow = resample(signing, signing.num_frames * 2)
    assert slow.num_frames == signing.num_frames * 2
    assert slow.duration == pytest.approx(signing.duration, rel=1e-6)
    np.testing.assert_allclose(slow.data[0], signing.data[0])
    np.testing.assert_allclose(slow.data[-1], signing.data[-1])
    warped = time_warp(signing, np.random.default_rng(0), strength=0.4)
    assert warped.num_frames == signing.num_frames
    np.testing.assert_allclose(warped.data[-1], signing.data[-1], atol=1e-6)
    assert not np.allclose(warped.data, signing.data)
    dropped = drop_frames(signing, np.random.default_rng(0), 0.5)
    assert 0 < dropped.num_frames < signing.num_frames
    assert drop_frames(signing, np.random.default_rng(0), 1.0).num_frames == 1
    with pytest.raises(ValueError):
        resample(signing, 0)


def test_augmenter_is_reproducible_per_seed(signing: PoseSequence) -> None:
    augment = Augmenter()
    first = augment(signing, np.random.default_rng(7))
    second = augment(signing, np.random.default_rng(7))
    other = augment(signing, np.random.default_rng(8))
    np.testing.assert_array_equal(first.data, second.data)
    assert first.data.shape != other.data.shape or not np.array_equal(first.data, other.data)
    assert np.all(first.data[first.confidence == 0] == 0)


def test_fill_gaps_bridges_short_hand_dropouts(both_hands_pose: PoseSequence) -> None:
    hand = both_hands_pose.layout.slice("right_hand")
    seen = np.flatnonzero(both_hands_pose.detected("right_hand"))
    start = seen[len(seen) // 2]
    confidence = both_hands_pose.confidence.copy()
    confidence[start + 1 : start + 3, hand] = 0
    data = np.where(confidence[..., None] > 0, both_hands_pose.data, 0)
    gappy = both_hands_pose.replace(data=data, confidence=confidence)
    filled = fill_gaps(gappy, "right_hand", max_gap=4)
    assert filled.detected("right_hand")[start + 1 : start + 3].all()
    np.testing.assert_allclose(filled.data[start + 1, hand], both_hands_pose.data[start + 1, hand], atol=60)
    assert not fill_gaps(gappy, "right_hand", max_gap=1).detected("right_hand")[start + 1]
