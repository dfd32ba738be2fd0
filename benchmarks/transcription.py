"""Transcription of a long video on this CPU: speed and memory.

Builds a long 1280x720 video by concatenating the real How2Sign sentence clips (``--repeat`` times
over), transcribes it with the default model, and prints frames per second, the real-time factor
(processing time / video duration) and the peak resident memory before and after. Then it does the
same for a video half as long: if the transcriber streams, the peak does not grow with the length.
Run: ``.venv/bin/python benchmarks/transcription.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from signscribe.inference import Transcriber
from signscribe.io import probe, read_frames
from signscribe.io.encode import video_writer

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def build_video(clips: list[Path], repeat: int, out: Path) -> Path:
    with video_writer(out, 24.0, 1280, 720) as write:
        for _ in range(repeat):
            for clip in clips:
                for frame in read_frames(clip):
                    write(frame.image)
    return out


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="times the 24 clips are concatenated")
    args = parser.parse_args()
    clips = sorted((DATA / "how2sign" / "clips").glob("*.mp4"))
    transcriber = Transcriber.from_pretrained("default")
    with tempfile.TemporaryDirectory() as folder:
        half = build_video(clips[: len(clips) // 2], args.repeat, Path(folder) / "half.mp4")
        full = build_video(clips, args.repeat, Path(folder) / "full.mp4")
        for name, video in (("half", half), ("full", full)):
            info = probe(video)
            before = peak_rss_mb()
            start = time.perf_counter()
            transcript = transcriber.transcribe(video)
            seconds = time.perf_counter() - start
            print(
                f"{name}: {info.frame_count} frames ({info.duration:.1f} s of 1280x720 video), "
                f"{len(transcript.segments)} segments in {seconds:.1f} s: {info.frame_count / seconds:.1f} frames/s, "
                f"real-time factor {seconds / info.duration:.2f}; peak RSS {before:.0f} MB before, "
                f"{peak_rss_mb():.0f} MB after"
            )


if __name__ == "__main__":
    main()
