"""Memory of the server over many rounds of live streams, on real footage.

Starts ``signscribe serve`` in its own process, then runs ``--rounds`` rounds of ``--streams``
concurrent WebSocket streams, each sending ``--seconds`` of JPEG frames of a real How2Sign clip
(640x360) at 15 fps, and prints the server's resident memory (RSS) a second after each round's
streams have closed. Memory must level off: after the first round it may grow by at most
``--budget-mb`` (50 MB) over all the others; the script exits 1 when it does not.
Run: ``.venv/bin/python benchmarks/serve_soak.py [--rounds 20] [--streams 4] [--seconds 5]``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: benchmarks.* as a package
from benchmarks.serve_load import one_stream, rss_mb, running_server, stream_frames


async def round_of_streams(url: str, frames: list[bytes], count: int, seconds: float) -> int:
    results = await asyncio.gather(*(one_stream(url, frames, seconds) for _ in range(count)))
    return sum(result[1].get("processed", 0) for result in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--streams", type=int, default=4, help="concurrent streams a round")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each stream")
    parser.add_argument("--budget-mb", type=float, default=50.0, help="growth allowed after the first round")
    args = parser.parse_args()
    frames = stream_frames(args.seconds)
    with running_server() as (base, pid):
        url = base.replace("http", "ws") + "/v1/stream"
        print(f"server RSS at start: {rss_mb(pid):.0f} MB")
        after = []
        for index in range(1, args.rounds + 1):
            processed = asyncio.run(round_of_streams(url, frames, args.streams, args.seconds))
            time.sleep(1.0)
            after.append(rss_mb(pid))
            print(f"round {index:2d}: {args.streams} streams, {processed} frames processed, RSS {after[-1]:.0f} MB")
    growth = max(after[1:], default=after[0]) - after[0]
    verdict = "levels off" if growth <= args.budget_mb else "KEEPS GROWING"
    print(
        f"RSS after round 1: {after[0]:.0f} MB; largest after any later round: {max(after):.0f} MB; "
        f"growth after the first round {growth:+.0f} MB over {args.rounds - 1} rounds "
        f"(budget {args.budget_mb:g} MB): {verdict}"
    )
    if growth > args.budget_mb:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
