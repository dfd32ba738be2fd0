"""Pose extraction speed on the real clips in ../shared/data.

Prints frames/s and the real-time factor (processing time / video duration; below 1 is faster
than real time) for decoding alone and for decoding + MediaPipe Holistic, with 1 and 2 worker
processes. Run: ``.venv/bin/python benchmarks/pose_extraction.py [--limit N]``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from signscribe.io import probe, read_frames
from signscribe.pose import ExtractionSettings, extract_poses

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _decode(path: Path) -> int:
    return sum(1 for _ in read_frames(path))


def decode(videos: list[Path], workers: int) -> float:
    start = time.perf_counter()
    if workers == 1:
        for video in videos:
            _decode(video)
    else:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            list(pool.map(_decode, videos))
    return time.perf_counter() - start


def extract(videos: list[Path], workers: int, ray: str | None = None) -> float:
    """Seconds to extract ``videos`` (no cache) with ``workers`` processes, or as many actors on ``ray``."""
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        summary = extract_poses(videos, Path(out), ExtractionSettings(), workers=workers, cache=False, ray=ray)
        elapsed = time.perf_counter() - start
    if summary.failures:
        raise SystemExit(f"extraction failed: {summary.failures}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=24, help="clips of each dataset to use (0 = all)")
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"{DATA} is missing: the benchmark needs the real clips of ../shared/data")
    sets = {
        "WLASL": sorted((DATA / "wlasl" / "clips").glob("*.mp4")),
        "How2Sign 720p": sorted((DATA / "how2sign" / "clips").glob("*.mp4")),
    }
    print(f"{'clips':<16}{'stage':<15}{'workers':>8}{'videos':>8}{'frames':>8}{'seconds':>9}{'frames/s':>10}{'RTF':>8}")
    for name, videos in sets.items():
        videos = videos[: args.limit] if args.limit else videos
        infos = [probe(video) for video in videos]
        frames = sum(info.frame_count for info in infos)
        duration = sum(info.duration for info in infos)
        for stage, run in (("decode", decode), ("decode+pose", extract)):
            for workers in (1, 2):
                seconds = run(videos, workers)
                print(
                    f"{name:<16}{stage:<15}{workers:>8}{len(videos):>8}{frames:>8}{seconds:>9.1f}"
                    f"{frames / seconds:>10.1f}{seconds / duration:>8.3f}"
                )


if __name__ == "__main__":
    main()
