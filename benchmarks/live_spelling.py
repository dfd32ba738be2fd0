"""What live fingerspelling costs the server a frame (``SpellingSession``, the stream of the bundled
``fingerspelling`` model): every frame is read by the model with the 0.4 s before it, then spelled.

Three streams, from real data: a client that runs MediaPipe itself and sends landmarks (Alex's
webcam letter sequences of traduttore, a to z and again, as landmarks messages at 30 frames a
second); one letter held still for a minute (three times ``--frames``, the longest stretch the
spelling rules keep); and a client that sends video frames (the roboflow test photos in the middle of
640x360 frames, each held 10 frames, JPEG-encoded as the page sends them), where the server's
MediaPipe Hands follows the hand. Prints the median and 95th percentile milliseconds a frame, and so
how many 15 fps streams one core could carry.
Run: ``.venv/bin/python benchmarks/live_spelling.py [--frames 600]``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

from signscribe.data.mp_data import find_root, unpack_archive
from signscribe.inference import Recognizer
from signscribe.io.photos import read_image
from signscribe.pose import load_mp_sequence
from signscribe.serving.stream.messages import landmarks_message, parse_message
from signscribe.serving.stream.spelling import SpellingSession

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
LETTERS = DATA / "keypoints" / "traduttore_letters.tar.gz"
PHOTOS = DATA / "fingerspelling" / "roboflow_asl_letters" / "test" / "images"
LIMITS = (1 << 22, 1 << 24)  # message bytes, frame pixels


def landmark_messages(frames: int) -> list[str]:
    """Alex's letter sequences, a to z and again (a new sequence of each letter each round), one after
    the other as a client's landmarks messages."""
    folder = unpack_archive(LETTERS)
    with (folder / "signers.csv").open(newline="") as file:
        rows = [row for row in csv.DictReader(file) if row["author"] == "Alex" and len(row["letter"]) == 1]
    by_letter: dict[str, list[str]] = {}
    for row in sorted(rows, key=lambda row: (row["letter"], row["seq"])):
        by_letter.setdefault(row["letter"], []).append(row["seq"])
    rounds = max(len(seqs) for seqs in by_letter.values())
    chosen = [(letter, seqs[i % len(seqs)]) for i in range(rounds) for letter, seqs in by_letter.items()]
    root, messages = find_root(folder), []
    for letter, seq in chosen:
        sequence = load_mp_sequence(root / letter / seq, frame_size=(853, 480))
        for index in range(sequence.num_frames):
            message = landmarks_message(sequence, index)
            message["t"] = len(messages) / 30
            messages.append(json.dumps(message))
            if len(messages) == frames:
                return messages
    return messages


def held_messages(frames: int) -> list[str]:
    """One letter sequence's last frame held still, as a signer who holds a letter a long time: the
    frames of one hold pile up, the worst case of the spelling rules."""
    messages = landmark_messages(20)
    still = json.loads(messages[-1])
    return [json.dumps({**still, "t": index / 30}) for index in range(frames)]


def image_frames(frames: int) -> list[bytes]:
    """The test photos in 640x360 frames, each held 10 frames, as the stream's binary messages."""
    encoded = []
    for photo in sorted(PHOTOS.glob("*.jpg")):
        image = read_image(photo)
        frame = np.full((360, 640, 3), image[0, 0], np.uint8)
        rows, columns = (round(side * 300 / max(image.shape[:2])) for side in image.shape[:2])
        top, left = (360 - rows) // 2, (640 - columns) // 2
        frame[top : top + rows, left : left + columns] = np.asarray(Image.fromarray(image).resize((columns, rows)))
        buffer = io.BytesIO()
        Image.fromarray(frame).save(buffer, format="JPEG", quality=75)
        for _ in range(10):
            encoded.append(np.float64(len(encoded) / 15).tobytes() + buffer.getvalue())
            if len(encoded) == frames:
                return encoded
    return encoded


def measure(messages: list[str] | list[bytes], recognizer: Recognizer) -> list[float]:
    """Milliseconds each frame took the session (parsing and decoding included)."""
    session = SpellingSession(recognizer, top_k=5, rate=15.0)
    spent = []
    for message in messages:
        start = time.perf_counter()
        text_part, data = (message, None) if isinstance(message, str) else (None, message)
        session.process(parse_message(text_part, data, *LIMITS))
        spent.append(1000 * (time.perf_counter() - start))
    session.close()
    return spent[10:]  # the first frames warm up MediaPipe and torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=600, help="frames streamed in each path")
    args = parser.parse_args()
    recognizer = Recognizer.from_pretrained("fingerspelling")
    paths = {
        "landmarks": landmark_messages(args.frames),
        "one letter held": held_messages(args.frames * 3),
        "video frames": image_frames(args.frames),
    }
    for name, messages in paths.items():
        spent = measure(messages, recognizer)
        median, p95 = statistics.median(spent), float(np.percentile(spent, 95))
        print(f"{name}: {len(spent)} frames, median {median:.1f} ms, 95th percentile {p95:.1f} ms a frame; "
              f"{1000 / median / 15:.1f} streams of 15 fps a core")  # fmt: skip


if __name__ == "__main__":
    main()
