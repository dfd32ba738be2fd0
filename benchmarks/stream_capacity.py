"""How many live streams one core serves: at 15 fps, with p95 latency under 100 ms and no frame dropped.

Starts ``signscribe serve`` (``--model``, else the default) kept to one core (``sched_setaffinity``; this
script, the clients, runs on the others), then opens more and more concurrent WebSocket streams of
a real How2Sign clip until one of the two conditions fails. Two modes:

* ``images``: the client sends JPEG frames (640x360) and the server runs MediaPipe on each, one
  graph a stream: about 40 ms of a core a frame, so MediaPipe sets the floor;
* ``landmarks``: the client runs MediaPipe itself (the page's privacy mode) and sends each frame's
  landmarks; the server holds no graph and runs only the model, its windows of every stream batched
  into one call (``stream_batch_size``). ``--batch 1`` measures one window a call, for comparison.

Each stream asks for ``--rates`` predictions a second (15: one a frame, the server's default; 5: a
window every third frame, which follows a sign of about a second as well).

Latency runs from sending a frame to receiving the prediction of the window it ends; the first
``--warmup`` seconds of each stream (a graph being built) are left out.

    .venv/bin/python benchmarks/stream_capacity.py [--seconds 10] [--modes images landmarks]
        [--batch 32 1] [--rates 15 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: benchmarks.* as a package
from benchmarks.serve_load import FPS, STREAM_CLIP, one_stream, running_server, stream_frames
from signscribe.pose import HolisticExtractor
from signscribe.serving.stream.messages import landmarks_message

MAX_P95_MS = 100.0
LADDERS = {"images": [1, 2, 3, 4], "landmarks": [1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64]}


def landmark_messages(seconds: float) -> list[str]:
    """The streamed clip's landmarks, a JSON message a frame at ``FPS`` without its ``t``."""
    sequence = HolisticExtractor().extract(STREAM_CLIP)
    step = sequence.fps / FPS
    indices = [int(i * step) for i in range(int(seconds * FPS)) if int(i * step) < sequence.num_frames]
    messages = []
    for index in indices:
        message = landmarks_message(sequence, index)
        del message["t"]
        messages.append(json.dumps(message))
    return messages


async def run_streams(
    url: str, frames: list[bytes] | list[str], count: int, seconds: float, warmup: float, rate: float
) -> bool:
    """``count`` concurrent streams; prints their figures and returns whether they met the target. The
    streams start spread over one prediction period, as people who open the page at random times
    do, rather than all predicting at the same instant."""
    delays = [index / count / rate for index in range(count)]
    results = await asyncio.gather(*(one_stream(url, frames, seconds, warmup, rate, delay) for delay in delays))
    latencies = np.array([value for result in results for value in result[0]]) * 1000
    received = sum(result[1].get("received", 0) for result in results)
    dropped = sum(result[1].get("dropped", 0) for result in results)
    p50, p95 = (np.percentile(latencies, q) if latencies.size else float("inf") for q in (50, 95))
    met = p95 < MAX_P95_MS and dropped == 0 and latencies.size > 0
    print(
        f"  {count:3d} streams: p50 {p50:6.1f} ms, p95 {p95:6.1f} ms, frames {received}, dropped {dropped}"
        f"{'' if met else '  <- over'}",
        flush=True,
    )
    return met


def capacity(mode: str, batch: int, rate: float, seconds: float, warmup: float, model: str | None) -> int:
    """The most streams that met the target (0: not even one)."""
    frames = stream_frames(seconds) if mode == "images" else landmark_messages(seconds)
    settings = {
        "SIGNSCRIBE_MAX_STREAMS": "1000", "SIGNSCRIBE_STREAMS_PER_KEY": "1000", "SIGNSCRIBE_STREAM_BATCH": str(batch),
    }  # fmt: skip
    server_core = {max(os.sched_getaffinity(0))}
    best = 0
    with running_server(model, env=settings, cpus=server_core) as (base, _):
        url = base.replace("http", "ws") + "/v1/stream"
        asyncio.run(run_streams(url, frames, 1, warmup + 1, warmup, rate))  # warming up the model and a graph
        for count in LADDERS[mode]:
            if not asyncio.run(run_streams(url, frames, count, seconds, warmup, rate)):
                break
            best = count
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="the model served (default: the server's, wlasl100); an .onnx file too")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each stream")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of each stream left out")
    parser.add_argument("--modes", nargs="+", choices=list(LADDERS), default=list(LADDERS))
    parser.add_argument("--batch", type=int, nargs="+", default=[32, 1], help="stream_batch_size (landmarks)")
    parser.add_argument("--rates", type=float, nargs="+", default=[15.0, 5.0], help="predictions a second a stream")
    args = parser.parse_args()
    if len(os.sched_getaffinity(0)) < 2:
        raise SystemExit("needs 2 cores or more: one for the server, the others for the clients")
    rows = []
    for mode in args.modes:
        for batch in args.batch if mode == "landmarks" else [1]:
            for rate in args.rates:
                label = f"{mode}, {rate:g} predictions/s" + (f", batch {batch}" if mode == "landmarks" else "")
                print(f"{label}: the server on one core, {FPS} fps, {args.seconds:g} s streams", flush=True)
                rows.append((label, capacity(mode, batch, rate, args.seconds, args.warmup, args.model)))
    print(f"\nstreams one core serves at {FPS} fps with p95 < {MAX_P95_MS:g} ms and no frame dropped")
    for label, streams in rows:
        print(f"  {label:40s} {streams}")


if __name__ == "__main__":
    main()
