"""How often MediaPipe finds a hand in the shared fingerspelling photos (issue 27's first question).

For each photo (EXIF orientation applied), in static-image mode: MediaPipe Hands, MediaPipe Holistic,
Hands again on the photos it missed, padded with a border of their edge colour (a tight crop of a
hand leaves the palm detector no context; padding gives it some), and what signscribe does
(``signscribe.pose.photo.PhotoHands``: Hands, then its ``RETRY_BORDERS`` in turn) with the palm
detector's threshold at MediaPipe's 0.5 and at lower ones. Prints, a set at a time, the share of
photos with a hand found by each. A last set has no hand at all: crops of the face and of the top
left corner of the first frame of each shared WLASL and How2Sign clip, away from the hands that
Holistic finds there; a hand "found" in it is a false one. Run:
``.venv/bin/python benchmarks/photo_hands.py [--limit N] [--pad 0.5]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from signscribe.io.video import read_frames
from signscribe.native_log import filter_native_stderr
from signscribe.pose.photo import PHOTO_DETECTION_CONFIDENCE, RETRY_BORDERS, PhotoHands

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fingerspelling"
CLIPS = [DATA.parent / "wlasl" / "clips", DATA.parent / "how2sign" / "clips"]
THRESHOLDS = sorted({0.5, PHOTO_DETECTION_CONFIDENCE, 0.2}, reverse=True)
WRISTS_AND_FINGERS = range(15, 23)  # the pose's wrists, pinkies, indices and thumbs
SETS = {
    "roboflow letters (phone photos, 416 px)": ("roboflow_asl_letters", "*/images/*.jpg"),
    "asl digits (white background, 100 px)": ("asl_digits", "*/*.JPG"),
}


def photos(folder: Path, pattern: str, limit: int | None) -> list[Path]:
    found = sorted(folder.glob(pattern)) or sorted(folder.glob(pattern.lower()))
    return found[:: max(1, len(found) // limit)][:limit] if limit else found


def load(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))


def padded(image: np.ndarray, share: float) -> np.ndarray:
    """The image in a border ``share`` of its longer side wide on every side, of its edge colour."""
    border = round(share * max(image.shape[:2]))
    return np.pad(image, ((border, border), (border, border), (0, 0)), mode="edge")


def no_hand_crops(holistic: Any, limit: int | None) -> list[np.ndarray]:
    """The face, and the top left corner, of each clip's first frame, where no hand or wrist that
    Holistic finds in the frame comes within 20 pixels (each crop at least 40 pixels a side)."""
    clips = [clip for folder in CLIPS for clip in sorted(folder.glob("*.mp4"))][:limit]
    crops = []
    for clip in clips:
        frame = next(iter(read_frames(clip))).image
        height, width = frame.shape[:2]
        result = holistic.process(frame)
        if result.pose_landmarks is None:
            continue
        body = result.pose_landmarks.landmark
        hands = [result.left_hand_landmarks, result.right_hand_landmarks]
        points = [(p.x * width, p.y * height) for hand in hands if hand for p in hand.landmark]
        points += [(body[i].x * width, body[i].y * height) for i in WRISTS_AND_FINGERS]
        shoulders = abs(body[11].x - body[12].x) * width
        nose_x, nose_y = body[0].x * width, body[0].y * height
        boxes = [
            (nose_x - 0.6 * shoulders, nose_y - 0.7 * shoulders, nose_x + 0.6 * shoulders, nose_y + 0.5 * shoulders),
            (0, 0, 0.3 * width, 0.3 * height),
        ]
        for x0, y0, x1, y1 in boxes:
            x0, y0, x1, y1 = max(0, int(x0)), max(0, int(y0)), min(width, int(x1)), min(height, int(y1))
            near = any(x0 - 20 <= x <= x1 + 20 and y0 - 20 <= y <= y1 + 20 for x, y in points)
            if x1 - x0 >= 40 and y1 - y0 >= 40 and not near:
                crops.append(np.ascontiguousarray(frame[y0:y1, x0:x1]))
    return crops


def has_hand(hands: PhotoHands, image: np.ndarray) -> bool:
    sequence = hands.landmarks(image)
    return bool(sequence.detected("left_hand").any() or sequence.detected("right_hand").any())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="photos a set (spread over it); default all")
    parser.add_argument("--pad", type=float, default=0.5, help="the border of the retry, a share of the side")
    args = parser.parse_args()
    from mediapipe.python.solutions.hands import Hands
    from mediapipe.python.solutions.holistic import Holistic

    filter_native_stderr()
    borders = ", ".join(f"{border:g}" for border in RETRY_BORDERS)
    ours = {threshold: PhotoHands(min_detection_confidence=threshold) for threshold in THRESHOLDS}
    with Hands(static_image_mode=True, max_num_hands=2, model_complexity=1) as hands, \
            Holistic(static_image_mode=True, model_complexity=1) as holistic:  # fmt: skip
        sets = {name: [load(path) for path in photos(DATA / folder, pattern, args.limit)]
                for name, (folder, pattern) in SETS.items()}  # fmt: skip
        sets["no hand: faces and corners of the clips' first frames"] = no_hand_crops(holistic, args.limit)
        columns = " | ".join(f"signscribe at {threshold:g}" for threshold in THRESHOLDS)
        print(f"| set | photos | Hands | Holistic | Hands, then padded | {columns} | ms a photo (Hands) |")
        print("| --- | ---: | ---: | ---: | ---: | " + "---: | " * len(THRESHOLDS) + "---: |")
        for name, images in sets.items():
            if not images:
                print(f"| {name} | 0 (not in {DATA.parent}) |" + " |" * (len(THRESHOLDS) + 4))
                continue
            by_hands = by_holistic = with_padding = 0
            by_signscribe = dict.fromkeys(THRESHOLDS, 0)
            spent = 0.0
            for image in images:
                start = time.perf_counter()
                found = hands.process(image).multi_hand_landmarks is not None
                spent += time.perf_counter() - start
                result = holistic.process(image)
                by_holistic += result.left_hand_landmarks is not None or result.right_hand_landmarks is not None
                by_hands += found
                with_padding += found or hands.process(padded(image, args.pad)).multi_hand_landmarks is not None
                for threshold, graph in ours.items():
                    by_signscribe[threshold] += has_hand(graph, image)
            counts = (by_hands, by_holistic, with_padding, *by_signscribe.values())
            shares = " | ".join(f"{found / len(images):.1%} ({found})" for found in counts)
            print(f"| {name} | {len(images)} | {shares} | {1000 * spent / len(images):.0f} |", flush=True)
    print(
        f"signscribe: Hands, then borders of {borders} of the side in turn; its threshold is "
        f"{PHOTO_DETECTION_CONFIDENCE:g}"
    )


if __name__ == "__main__":
    main()
