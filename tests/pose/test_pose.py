from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from pose_format import Pose

from conftest import write_video
from signscribe.errors import PoseFileError, VideoReadError
from signscribe.io import probe, read_frames
from signscribe.pose import (
    ExtractionSettings,
    HolisticExtractor,
    Layout,
    PoseCache,
    PoseSequence,
    load_pose,
    normalize,
    save_pose,
)
from signscribe.pose.layout import BODY_POINTS, LEFT_SHOULDER, RIGHT_SHOULDER
from signscribe.pose.parts import part_bounds, part_count

LEFT_WRIST, RIGHT_WRIST = BODY_POINTS.index("LEFT_WRIST"), BODY_POINTS.index("RIGHT_WRIST")


def test_layout_is_documented_order() -> None:
    layout = Layout()
    assert layout.components == ("pose", "left_hand", "right_hand")
    assert (layout.slice("pose"), layout.slice("left_hand"), layout.slice("right_hand")) == (
        slice(0, 33),
        slice(33, 54),
        slice(54, 75),
    )
    assert Layout(include_face=True).num_points == 543 and Layout(include_face=True).slice("face") == slice(75, 543)


def test_real_clip_has_both_hands_in_a_plausible_share(both_hands_pose: PoseSequence, both_hands_clip: Path) -> None:
    pose = both_hands_pose
    assert pose.num_frames == sum(1 for _ in read_frames(both_hands_clip))
    assert (pose.width, pose.height) == (288, 192) and pose.fps == pytest.approx(29.97, abs=0.01)
    rates = pose.detection_rates()
    assert rates["pose"] > 0.95
    assert rates["left_hand"] > 0.5 and rates["right_hand"] > 0.5
    assert pose.data.shape == (pose.num_frames, 75, 3) and pose.confidence.shape == (pose.num_frames, 75)
    visible = pose.confidence > 0
    assert np.all(pose.data[~visible] == 0)
    xy = pose.data[:, 33:75][visible[:, 33:75]][:, :2]  # hands lie in the frame (legs may not)
    assert xy[:, 0].min() > -50 and xy[:, 0].max() < 288 + 50 and xy[:, 1].max() < 192 + 100


def test_hands_are_not_swapped_between_frames(both_hands_pose: PoseSequence) -> None:
    pose = both_hands_pose
    left = pose.component("left_hand")[0][:, 0, :2]
    right = pose.component("right_hand")[0][:, 0, :2]
    body = pose.component("pose")[0]
    both = pose.detected("left_hand") & pose.detected("right_hand")
    pairs = np.flatnonzero(both[:-1] & both[1:])
    assert len(pairs) > 10
    stay = np.linalg.norm(left[pairs + 1] - left[pairs], axis=1)
    swap = np.linalg.norm(left[pairs + 1] - right[pairs], axis=1)
    assert np.all(stay < swap)
    # and each hand sits at the body's wrist of the same side
    frames = np.flatnonzero(both)
    to_own = np.linalg.norm(left[frames] - body[frames, LEFT_WRIST, :2], axis=1)
    to_other = np.linalg.norm(left[frames] - body[frames, RIGHT_WRIST, :2], axis=1)
    assert np.mean(to_own < to_other) > 0.9


def test_pose_file_round_trip_preserves_values_and_masks(both_hands_pose: PoseSequence, tmp_path: Path) -> None:
    path = save_pose(both_hands_pose, tmp_path / "clip.pose")
    loaded = load_pose(path)
    np.testing.assert_array_equal(loaded.data, both_hands_pose.data)
    np.testing.assert_array_equal(loaded.confidence, both_hands_pose.confidence)
    assert (loaded.width, loaded.height, loaded.include_face) == (288, 192, False)
    assert loaded.fps == pytest.approx(both_hands_pose.fps, rel=1e-6)  # .pose stores fps as float32
    # other tools see a standard MediaPipe Holistic header
    pose = Pose.read(path.read_bytes())
    names = [c.name for c in pose.header.components]
    assert names == ["POSE_LANDMARKS", "LEFT_HAND_LANDMARKS", "RIGHT_HAND_LANDMARKS"]
    assert pose.body.data.shape == (both_hands_pose.num_frames, 1, 75, 3)
    assert not list(tmp_path.glob(".*tmp"))


def test_reads_pose_files_made_by_pose_format_itself(both_hands_clip: Path, both_hands_pose, tmp_path: Path) -> None:
    from pose_format.utils.holistic import load_holistic

    info = probe(both_hands_clip)
    frames = [frame.image for frame in read_frames(both_hands_clip, end_frame=30)]
    foreign = load_holistic(frames, fps=info.fps, width=info.width, height=info.height)
    path = tmp_path / "foreign.pose"
    with path.open("wb") as file:
        foreign.write(file)
    loaded = load_pose(path)
    assert loaded.include_face  # pose-format writes the face: we keep it unless told otherwise
    assert load_pose(path, include_face=False).data.shape == (30, 75, 3)
    ours = both_hands_pose.select_frames(slice(0, 30))
    no_face = loaded.without_face()
    np.testing.assert_allclose(no_face.data, ours.data, atol=1e-3)
    np.testing.assert_array_equal(no_face.confidence > 0, ours.confidence > 0)


def test_face_is_optional_and_round_trips(both_hands_clip: Path, tmp_path: Path) -> None:
    extractor = HolisticExtractor(ExtractionSettings(include_face=True))
    pose = extractor.extract(both_hands_clip, end_frame=8)
    assert pose.data.shape == (8, 543, 3) and pose.detected("face").all()
    loaded = load_pose(save_pose(pose, tmp_path / "face.pose"))
    np.testing.assert_array_equal(loaded.data, pose.data)
    assert [c.name for c in Pose.read((tmp_path / "face.pose").read_bytes()).header.components][1] == "FACE_LANDMARKS"


def test_leaving_the_face_out_keeps_body_and_hands_to_the_bit(both_hands_clip: Path, both_hands_pose) -> None:
    """Without the face, Holistic runs a graph with no face branch (faster); the body and hands it
    finds are exactly those of the whole graph, face points dropped."""
    with_face = HolisticExtractor(ExtractionSettings(include_face=True)).extract(both_hands_clip)
    body_and_hands = slice(0, Layout().num_points)
    np.testing.assert_array_equal(both_hands_pose.data, with_face.data[:, body_and_hands])
    np.testing.assert_array_equal(both_hands_pose.confidence, with_face.confidence[:, body_and_hands])
    assert both_hands_pose.detected("left_hand").any() and both_hands_pose.detected("right_hand").any()


def test_bad_pose_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(PoseFileError, match="file not found"):
        load_pose(tmp_path / "none.pose")
    junk = tmp_path / "junk.pose"
    junk.write_bytes(b"\x00\x01garbage" * 10)
    with pytest.raises(PoseFileError, match=str(junk)):
        load_pose(junk)
    from pose_format.utils.generic import fake_pose
    from pose_format.utils.openpose import OpenPose_Components

    other = tmp_path / "openpose.pose"
    with other.open("wb") as file:
        fake_pose(5, components=OpenPose_Components).write(file)
    with pytest.raises(PoseFileError, match="not a MediaPipe Holistic pose"):
        load_pose(other)


def test_cache_makes_a_second_run_free(both_hands_clip: Path, tmp_path: Path, monkeypatch) -> None:
    cache = PoseCache(tmp_path / "cache")
    extractor = HolisticExtractor(cache=cache)
    first = extractor.extract(both_hands_clip, end_frame=10)
    assert (cache.hits, cache.misses) == (0, 1)

    def no_mediapipe(*args, **kwargs):
        raise AssertionError("MediaPipe ran although the pose was cached")

    monkeypatch.setattr(HolisticExtractor, "extract_frames", no_mediapipe)
    renamed = Path(shutil.copy(both_hands_clip, tmp_path / "renamed.mp4"))
    second = extractor.extract(renamed, end_frame=10)
    assert cache.hits == 1 and second.source == str(renamed)
    np.testing.assert_array_equal(second.data, first.data)
    with pytest.raises(AssertionError, match="MediaPipe ran"):
        extractor.extract(renamed, end_frame=11)  # another range is another entry


def test_a_cached_extraction_with_the_face_serves_one_without(
    both_hands_clip: Path, tmp_path: Path, monkeypatch
) -> None:
    """One extraction with the face (a model that reads it) also feeds models that do not: the body and
    hands are the same to the bit, so the no-face request is answered from it without MediaPipe."""
    cache = PoseCache(tmp_path / "cache")
    face_extractor = HolisticExtractor(ExtractionSettings(include_face=True), cache=cache)
    with_face = face_extractor.extract(both_hands_clip, end_frame=8)

    def no_mediapipe(*args, **kwargs):
        raise AssertionError("MediaPipe ran although the pose was cached with the face")

    monkeypatch.setattr(HolisticExtractor, "extract_frames", no_mediapipe)
    without = HolisticExtractor(cache=cache).extract(both_hands_clip, end_frame=8)
    assert not without.include_face and (cache.hits, cache.misses) == (1, 1)
    np.testing.assert_array_equal(without.data, with_face.without_face().data)
    with pytest.raises(AssertionError, match="MediaPipe ran"):  # and never the other way round
        face_extractor.extract(both_hands_clip, end_frame=7)


def test_video_without_person_gives_empty_landmarks(empty_scene_video: Path) -> None:
    pose = HolisticExtractor().extract(empty_scene_video)
    assert pose.num_frames == 50
    assert pose.detection_rates() == {"pose": 0.0, "left_hand": 0.0, "right_hand": 0.0}
    normalized = normalize(pose)
    assert np.all(normalized.data == 0) and np.all(normalized.confidence == 0)


def test_extraction_rejects_unreadable_video_and_offline_only_models(tmp_path: Path) -> None:
    text = tmp_path / "a.mp4"
    text.write_text("not a video")
    with pytest.raises(VideoReadError, match="not a readable video"):
        HolisticExtractor().extract(text)
    with pytest.raises(VideoReadError, match="file not found"):
        HolisticExtractor(cache=PoseCache(tmp_path)).extract(tmp_path / "gone.mp4")
    with pytest.raises(ValueError, match="works offline"):
        ExtractionSettings(model_complexity=2)


def test_sequence_checks_its_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(frames, 75, 3\)"):
        PoseSequence(np.zeros((3, 70, 3), np.float32), np.zeros((3, 70), np.float32), 25, 10, 10)


def test_sequences_join_end_to_end_only_when_alike(both_hands_pose: PoseSequence) -> None:
    first, rest = both_hands_pose.select_frames(slice(0, 5)), both_hands_pose.select_frames(slice(5, None))
    joined = first.followed_by(rest)
    np.testing.assert_array_equal(joined.data, both_hands_pose.data)
    np.testing.assert_array_equal(joined.confidence, both_hands_pose.confidence)
    assert joined.fps == both_hands_pose.fps and joined.source == both_hands_pose.source
    with pytest.raises(ValueError, match="rate or frame size differs"):
        first.followed_by(rest.replace(fps=50.0))


def test_normalisation_centres_and_scales_on_shoulders(both_hands_pose: PoseSequence) -> None:
    pose = normalize(both_hands_pose, hands_relative=False)
    body = both_hands_pose.detected("pose")
    shoulders = pose.data[body][:, [LEFT_SHOULDER, RIGHT_SHOULDER], :2]
    np.testing.assert_allclose(shoulders.mean(axis=1), 0, atol=1e-4)
    widths = np.linalg.norm(shoulders[:, 0] - shoulders[:, 1], axis=1)
    assert np.median(widths) == pytest.approx(1.0, abs=1e-4)
    assert pose.normalized and np.all(pose.data[pose.confidence == 0] == 0)
    # the signer's left shoulder appears on the image's right
    assert np.all(shoulders[:, 0, 0] > 0)
    with pytest.raises(ValueError, match="already normalised"):
        normalize(pose)


def test_hands_relative_to_their_wrist(both_hands_pose: PoseSequence) -> None:
    pose = normalize(both_hands_pose)
    absolute = normalize(both_hands_pose, hands_relative=False)
    for hand in ("left_hand", "right_hand"):
        seen = both_hands_pose.detected(hand)
        rows = pose.layout.slice(hand)
        np.testing.assert_allclose(pose.data[seen, rows.start], 0, atol=1e-6)
        expected = absolute.data[seen, rows] - absolute.data[seen, rows.start : rows.start + 1]
        np.testing.assert_allclose(pose.data[seen, rows], expected, atol=1e-5)
        span = np.abs(pose.data[seen, rows, :2]).max()
        assert 0.1 < span < 1.5  # a hand is a fraction of a shoulder width


def test_frames_without_body_take_interpolated_centre(both_hands_pose: PoseSequence) -> None:
    confidence = both_hands_pose.confidence.copy()
    confidence[5:9, :33] = 0
    data = np.where(confidence[..., None] > 0, both_hands_pose.data, 0)
    gappy = both_hands_pose.replace(data=data, confidence=confidence)
    full, holed = normalize(both_hands_pose), normalize(gappy)
    hands = slice(33, 75)
    # the hands in the body-less frames stay where they were relative to the (interpolated) body
    np.testing.assert_allclose(holed.data[5:9, hands], full.data[5:9, hands], atol=0.1)
    assert np.all(holed.confidence[5:9, :33] == 0) and np.all(holed.data[5:9, :33] == 0)


def test_parts_of_a_clip_cover_its_frames_in_order() -> None:
    assert part_bounds(47, 2) == [(0, 23), (23, None)]
    assert part_bounds(100, 3) == [(0, 33), (33, 66), (66, None)]
    assert [part_count(frames, 4) for frames in (10, 40, 100)] == [1, 2, 4]
    assert part_count(100, 1) == 1


def test_a_clip_extracted_in_parts_on_warm_graphs_is_one_pass_within_tracking_noise(
    wlasl_dir: Path, tmp_path: Path
) -> None:
    clip = wlasl_dir / "clips" / "65145.mp4"  # "basketball": 47 frames at 23.98 fps, so two parts
    one_pass = HolisticExtractor().extract(clip)
    cache = PoseCache(tmp_path / "cache")
    with HolisticExtractor(cache=cache, workers=2) as extractor:
        in_parts = extractor.extract(clip)
        range_in_parts = extractor.extract(clip, start_frame=6, end_frame=45)
    assert (in_parts.num_frames, in_parts.width, in_parts.height) == (47, one_pass.width, one_pass.height)
    second = part_bounds(47, 2)[1][0]
    # the first part starts where one pass starts: the same landmarks, to the bit
    np.testing.assert_array_equal(in_parts.data[:second], one_pass.data[:second])
    # the second starts its tracking afresh: close, not equal
    found = (in_parts.confidence > 0) & (one_pass.confidence > 0)
    offsets = np.abs(in_parts.data[..., :2] - one_pass.data[..., :2])[found]
    assert offsets.mean() < 0.01 * one_pass.width
    assert ((in_parts.confidence > 0) == (one_pass.confidence > 0)).mean() > 0.95
    assert range_in_parts.num_frames == HolisticExtractor().extract(clip, start_frame=6, end_frame=45).num_frames
    # parts have their own cache entries: one pass through the same cache still gives one pass
    np.testing.assert_array_equal(HolisticExtractor(cache=cache).extract(clip).data, one_pass.data)
    assert len(cache.entries()) == 3


def test_a_part_that_fails_names_the_file_and_why(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 255, (64, 64, 3), dtype=np.uint8) for _ in range(60)]
    whole = write_video(tmp_path / "whole.mp4", frames, faststart=True)  # its header survives the cut
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with HolisticExtractor(workers=2) as extractor, pytest.raises(VideoReadError, match=rf"{cut}: .*truncated"):
        extractor.extract(cut)


def test_the_pose_cache_is_bounded_by_size_and_age(tmp_path: Path, both_hands_pose) -> None:

    from signscribe.pose import PoseCache

    cache = PoseCache(tmp_path, max_age=3600)
    cache.put("aa11-1", both_hands_pose)
    old = tmp_path / "aa" / "aa11-1.pose"
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    cache.put("bb22-1", both_hands_pose)
    assert not old.exists() and (tmp_path / "bb" / "bb22-1.pose").exists()
    size = (tmp_path / "bb" / "bb22-1.pose").stat().st_size
    bounded = PoseCache(tmp_path, max_bytes=int(size * 2.5))
    for index, key in enumerate(["cc33-1", "dd44-1"]):
        path = tmp_path / key[:2] / f"{key}.pose"
        bounded.put(key, both_hands_pose)
        os.utime(path, (time.time() + index, time.time() + index))
    bounded.put("ee55-1", both_hands_pose)
    assert sorted(p.stem for p in tmp_path.glob("??/*.pose")) == ["dd44-1", "ee55-1"]
    assert bounded.forget("ee55") == 1 and sorted(p.stem for p in tmp_path.glob("??/*.pose")) == ["dd44-1"]


def test_workers_started_from_a_script_without_the_main_guard_fail_with_what_to_do(
    wlasl_dir: Path, tmp_path: Path
) -> None:
    """Each spawned worker imports the script again; at its top level the call would start workers in
    every worker. It fails once, saying where to put the call."""
    clips = [str(wlasl_dir / "clips" / f"{clip}.mp4") for clip in ("01586", "01065")]
    script = tmp_path / "extract.py"
    script.write_text(f"import signscribe\nsignscribe.extract_poses({clips!r}, 'out', workers=2, cache=False)\n")
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("signscribe.errors.SignscribeError: a worker process ended abruptly")
    assert 'under `if __name__ == "__main__":`' in last
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("*.pose"))
