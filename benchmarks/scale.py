"""Landmark extraction at scale: throughput with 1 and 2 Ray workers (actors of a local Ray cluster) against
``extract --workers 1/2`` in local processes, on real WLASL100 clips, and what 100,000 clips cost.

The MediaPipe floor is one local process's frames a second: no pool can beat one graph a core. Each
run's share of the floor is its frames a second over (workers x the floor). The projection takes
100,000 clips of ``--seconds`` seconds at ``--fps`` frames a second, the floor for the core-hours,
and the 2-Ray-worker share for the wall time on N nodes of ``--cores`` cores each.

    .venv/bin/python benchmarks/scale.py [--clips 40] [--nodes 1 4 16] [--cores 16]
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

from pose_extraction import extract  # this folder's: the same timing as pose_extraction.py
from signscribe.io import probe

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "wlasl100"
PROJECTED_CLIPS = 100_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=40, help="WLASL100 clips to extract in each run")
    parser.add_argument("--nodes", type=int, nargs="+", default=[1, 4, 16], help="cluster sizes to project")
    parser.add_argument("--cores", type=int, default=16, help="cores of each projected node")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of a projected clip")
    parser.add_argument("--fps", type=float, default=25.0, help="frame rate of a projected clip")
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"{DATA} is missing: the benchmark needs the real clips of ../shared/data")
    import ray

    from signscribe.cluster import connect

    with (DATA / "wlasl100.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    clips = [DATA / row["path"] for row in rows[:: max(1, len(rows) // args.clips)][: args.clips]]
    frames = sum(probe(clip).frame_count for clip in clips)
    started = time.perf_counter()
    connect("local")
    print(f"{len(clips)} WLASL100 clips, {frames} frames; a local Ray cluster of {ray.cluster_resources()['CPU']:.0f} "
          f"CPUs started in "
          f"{time.perf_counter() - started:.1f} s (not counted below)\n")  # fmt: skip
    extract(clips[:2], 2, "auto")  # the actors' first start (imports, graphs) is not counted either
    results = {}
    print(f"{'engine':<22}{'workers':>8}{'seconds':>9}{'frames/s':>10}{'share of floor':>16}")
    for engine, address in (("local processes", None), ("Ray actors", "auto")):
        for workers in (1, 2):
            seconds = extract(clips, workers, address)
            results[engine, workers] = frames / seconds
    floor = results["local processes", 1]
    for (engine, workers), rate in results.items():
        print(f"{engine:<22}{workers:>8}{frames / rate:>9.1f}{rate:>10.1f}{rate / (workers * floor):>16.0%}")
    ray.shutdown()

    share = results["Ray actors", 2] / (2 * floor)
    projected = PROJECTED_CLIPS * args.seconds * args.fps
    core_hours = projected / floor / 3600
    print(f"\n{PROJECTED_CLIPS:,} clips of {args.seconds:g} s at {args.fps:g} fps = {projected:,.0f} frames: "
          f"{core_hours:,.0f} core-hours at the floor ({floor:.1f} frames/s a core)")  # fmt: skip
    print(f"{'nodes':>6}{'cores':>7}{'wall hours':>12}  (at the 2-Ray-worker share, {share:.0%})")
    for nodes in args.nodes:
        cores = nodes * args.cores
        print(f"{nodes:>6}{cores:>7}{core_hours / (cores * share):>12.1f}")


if __name__ == "__main__":
    main()
