"""Hand landmarks of real photos: MediaPipe Hands in static-image mode, the retry in borders for tight
crops, no hand, EXIF orientation, and a photo told by its bytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from signscribe.pose import HolisticExtractor, load_landmarks
from signscribe.pose import photo as photo_module
from signscribe.pose.photo import NoHandError, PhotoHands, photo_landmarks
from signscribe.pose.source import media_kind


def test_a_letter_photo_gives_one_frame_of_a_hand_inside_the_photo(letter_photos: Path) -> None:
    path = letter_photos / "test" / "images" / "B14.jpg"
    sequence = load_landmarks(path, HolisticExtractor())
    assert sequence.num_frames == 1 and (sequence.width, sequence.height) == (416, 416)
    assert not sequence.detected("pose").any()  # a photo of a hand: no body is looked for
    found = [hand for hand in ("left_hand", "right_hand") if sequence.detected(hand)[0]]
    assert found, "no hand found in a plain photo of the letter B"
    points, _ = sequence.component(found[0])
    assert (points[0, :, :2] > 0).all() and (points[0, :, :2] < 416).all()


def _has_hand(sequence) -> bool:
    return bool(sequence.detected("left_hand").any() or sequence.detected("right_hand").any())


def test_tight_crops_are_tried_again_inside_borders(digit_photos: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photos = sorted(digit_photos.glob("*/*.JPG"))[:40:2]  # 100x100 crops of a hand on white
    with PhotoHands() as hands:
        found = [_has_hand(photo_landmarks(path, hands)) for path in photos]
        monkeypatch.setattr(photo_module, "RETRY_BORDERS", ())
        first_pass = [_has_hand(photo_landmarks(path, hands)) for path in photos]
    assert all(found), f"{found.count(False)} of {len(photos)} digit photos have no hand even with the retry"
    assert sum(first_pass) < len(photos), "every crop was found at once: the retry is not exercised here"


def test_the_retry_gives_points_in_the_photo_not_in_its_border(digit_photos: Path) -> None:
    photos = sorted(digit_photos.glob("*/*.JPG"))[:40:2]
    with PhotoHands() as hands:
        for path in photos:
            sequence = photo_landmarks(path, hands)
            wrists = sequence.data[0, [33, 54], :2][sequence.confidence[0, [33, 54]] > 0]
            # a wrist may lie just outside a tight crop, never a border's width away
            assert (wrists > -30).all() and (wrists < 130).all(), (path.name, wrists)


def test_a_hand_below_mediapipes_default_threshold_is_found_where_it_is_labelled(letter_photos: Path) -> None:
    path = letter_photos / "valid" / "images" / "O17.jpg"  # a hand 0.5 misses, even in borders
    with PhotoHands(min_detection_confidence=0.5) as strict, PhotoHands() as ours:
        assert not _has_hand(photo_landmarks(path, strict)), "0.5 finds this hand now: pick another photo"
        sequence = photo_landmarks(path, ours)
    assert _has_hand(sequence), "no hand found at the photo threshold either"
    _, x, y, width, height = map(float, (path.parents[1] / "labels" / "O17.txt").read_text().split())
    hand = "right_hand" if sequence.detected("right_hand")[0] else "left_hand"
    points = sequence.component(hand)[0][0, :, :2] / 416
    inside = (np.abs(points[:, 0] - x) <= width / 2 + 0.02) & (np.abs(points[:, 1] - y) <= height / 2 + 0.02)
    assert inside.all(), f"{(~inside).sum()} of 21 points outside the labelled hand box"


def test_a_photo_without_a_hand_says_so(tmp_path: Path) -> None:
    wall = tmp_path / "wall.png"
    rng = np.random.default_rng(0)
    Image.fromarray(np.clip(128 + rng.normal(0, 6, (240, 320, 3)), 0, 255).astype(np.uint8)).save(wall)
    with pytest.raises(NoHandError, match=r"wall\.png: no hand found in this photo"):
        load_landmarks(wall, HolisticExtractor())


def test_a_photo_stored_on_its_side_is_read_upright(letter_photos: Path, tmp_path: Path) -> None:
    original = letter_photos / "test" / "images" / "B14.jpg"
    upright = Image.open(original)
    turned = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to show": what a phone held upright writes
    upright.transpose(Image.Transpose.ROTATE_90).save(turned, exif=exif.tobytes(), quality=95)
    extractor = HolisticExtractor()
    expected, got = load_landmarks(original, extractor), load_landmarks(turned, extractor)
    side = "right_hand" if expected.detected("right_hand")[0] else "left_hand"
    assert got.detected(side)[0]
    assert np.abs(got.component(side)[0][0, :, :2] - expected.component(side)[0][0, :, :2]).max() < 12


def test_a_photo_is_known_by_its_bytes_when_its_name_has_no_photo_suffix(letter_photos: Path, tmp_path: Path) -> None:
    upload = tmp_path / "3f2a.upload"
    upload.write_bytes((letter_photos / "test" / "images" / "B14.jpg").read_bytes())
    assert media_kind(upload) == "photo"
    assert load_landmarks(upload, HolisticExtractor()).num_frames == 1
    (tmp_path / "clip.upload").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    assert media_kind(tmp_path / "clip.upload") == "video"


def test_a_range_does_not_apply_to_a_photo(letter_photos: Path) -> None:
    with pytest.raises(Exception, match="a photo is one frame"):
        load_landmarks(letter_photos / "test" / "images" / "B14.jpg", HolisticExtractor(), start_time=1.0)
