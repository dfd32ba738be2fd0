"""How often MediaPipe finds a hand in the shared fingerspelling photos (issue 27's first question).

For each photo (EXIF orientation applied), in static-image mode: MediaPipe Hands, MediaPipe Holistic,
Hands again on the photos it missed, padded with a border of their edge colour (a tight crop of a
hand leaves the palm detector no context; padding gives it some), and what signscribe does
(``signscribe.pose.photo.PhotoHands``: Hands, then its ``RETRY_BORDERS`` in turn). Prints, a set at
a time, the share of photos with a hand found by each. Run:
``.venv/bin/python benchmarks/photo_hands.py [--limit N] [--pad 0.5]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from signscribe.native_log import filter_native_stderr
from signscribe.pose.photo import RETRY_BORDERS, PhotoHands

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fingerspelling"
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="photos a set (spread over it); default all")
    parser.add_argument("--pad", type=float, default=0.5, help="the border of the retry, a share of the side")
    args = parser.parse_args()
    from mediapipe.python.solutions.hands import Hands
    from mediapipe.python.solutions.holistic import Holistic

    filter_native_stderr()
    borders = ", ".join(f"{border:g}" for border in RETRY_BORDERS)
    with Hands(static_image_mode=True, max_num_hands=2, model_complexity=1) as hands, \
            Holistic(static_image_mode=True, model_complexity=1) as holistic, PhotoHands() as ours:  # fmt: skip
        print(f"| set | photos | Hands | Holistic | Hands, then padded | signscribe (borders {borders}) "
              "| ms a photo (Hands) |")  # fmt: skip
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name, (folder, pattern) in SETS.items():
            paths = photos(DATA / folder, pattern, args.limit)
            if not paths:
                print(f"| {name} | 0 (not in {DATA / folder}) | | | | | |")
                continue
            by_hands = by_holistic = with_padding = by_signscribe = 0
            spent = 0.0
            for path in paths:
                image = load(path)
                start = time.perf_counter()
                found = hands.process(image).multi_hand_landmarks is not None
                spent += time.perf_counter() - start
                result = holistic.process(image)
                by_holistic += result.left_hand_landmarks is not None or result.right_hand_landmarks is not None
                by_hands += found
                with_padding += found or hands.process(padded(image, args.pad)).multi_hand_landmarks is not None
                sequence = ours.landmarks(image)
                by_signscribe += bool(sequence.detected("left_hand").any() or sequence.detected("right_hand").any())
            counts = (by_hands, by_holistic, with_padding, by_signscribe)
            shares = " | ".join(f"{found / len(paths):.1%}" for found in counts)
            print(f"| {name} | {len(paths)} | {shares} | {1000 * spent / len(paths):.0f} |")


if __name__ == "__main__":
    main()
