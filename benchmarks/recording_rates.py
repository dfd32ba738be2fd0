"""Extraction time of a browser recording converted to mp4, which declares 1000 fps and repeats each
frame about 33 times: with the frame-rate cap (``ExtractionSettings.max_frame_rate``, 30 fps by default:
frames sampled on a 30 fps grid by their timestamps) and without it (every stored frame).

The recording is made from a real WLASL clip (65145, "basketball", 23.976 fps, 656x370), played three
times over (about 5.9 s). Prints the stored frames, the frames extracted, the seconds taken and the
sequence's duration. Run: ``.venv/bin/python benchmarks/recording_rates.py``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from signscribe.io import probe, read_frames
from signscribe.io.encode import video_writer
from signscribe.pose import ExtractionSettings, HolisticExtractor

CLIP = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "wlasl" / "clips" / "65145.mp4"


def recording(out: Path, repeats: int = 3) -> Path:
    fps = probe(CLIP).fps
    images = [frame.image[:370, :656] for frame in read_frames(CLIP)] * repeats
    with video_writer(out, 1000, 656, 370) as write:
        for millisecond in range(int(len(images) / fps * 1000)):
            write(images[int(millisecond * fps / 1000)])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="plays of the clip in the recording (3: about 5.9 s)")
    repeats = parser.parse_args().repeats
    with tempfile.TemporaryDirectory() as folder:
        video = recording(Path(folder) / "recording_1000fps.mp4", repeats)
        info = probe(video)
        print(f"{video.name}: {info.frame_count} stored frames, declared {info.fps:.0f} fps, {info.duration:.2f} s")
        print("| extraction | frames extracted | seconds | duration of the landmarks |")
        print("| --- | ---: | ---: | ---: |")
        HolisticExtractor().extract(CLIP)  # MediaPipe's models loaded before timing
        for name, cap in (("capped at 30 fps (default)", 30.0), ("every stored frame (no cap)", None)):
            start = time.perf_counter()
            sequence = HolisticExtractor(ExtractionSettings(max_frame_rate=cap)).extract(video)
            seconds = time.perf_counter() - start
            print(f"| {name} | {sequence.num_frames} | {seconds:.1f} | {sequence.duration:.2f} s |", flush=True)


if __name__ == "__main__":
    main()
