"""Load on the live stream and the REST API, over loopback, with real footage.

Starts ``signscribe serve`` in its own process, then runs 1, 2 and 4 concurrent WebSocket streams,
each sending JPEG frames of a real How2Sign clip (640x360) at 15 fps. For every frame that a
prediction includes (the prediction's ``t``), latency is the time from sending that frame to
receiving the prediction. Prints p50/p95 latency, frames processed and dropped, the server's
memory (RSS) at the start and its peak, then REST requests/s for a short real WLASL clip.
``--video-family NAME`` serves an RGB model of that family instead of the default pose model
(random weights, 100 classes, the family's default input, trained clips taken as 2 s long: weights
do not change the cost).
Run: ``.venv/bin/python benchmarks/serve_load.py [--seconds 10] [--rounds 2] [--video-family F]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import websockets
from PIL import Image

from signscribe.io import read_frames

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FPS = 15
STREAM_CLIP = DATA / "how2sign" / "clips" / "-d5dN54tH2E_0-1-rgb_front.mp4"  # 640x360 after max_side


def random_video_model(family: str, folder: Path) -> Path:
    """A model folder of an RGB family with random weights and 100 classes at its default input."""
    import torch

    from signscribe.models import create_model, model_family
    from signscribe.models.inputs import FramesConfig
    from signscribe.models.pretrained import LABELS, labels_json, model_config_json, save_model_folder

    torch.manual_seed(0)
    features = FramesConfig(**model_family(family).input_defaults)
    input_info = {"fps": 25.0, "frames": features.frames, "seconds": 2.0}
    config = model_config_json(family, {}, features, 100, input_info)
    labels = labels_json([f"sign{index}" for index in range(100)])
    return save_model_folder(create_model(family, 100), folder, config, {LABELS: labels}, f"# random {family}\n")


@contextlib.contextmanager
def running_server(
    model: str | None = None, env: dict[str, str] | None = None, cpus: set[int] | None = None
) -> Iterator[tuple[str, int]]:
    """``signscribe serve`` (of ``model``, else the default) in its own process on a free port, with a
    temporary data dir, no rate limit and ``env`` added to its environment (``SIGNSCRIBE_*`` settings),
    ready, kept to the cores ``cpus`` when given (torch's threads as many); yields its base URL and process id."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as data_dir:
        command = ["serve", "--port", str(port), "--data-dir", data_dir, "--rate-limit", "0"]
        command += ["--model", model] if model else []
        pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
        environment = {**os.environ, **({"OMP_NUM_THREADS": str(len(cpus))} if cpus else {}), **(env or {})}
        server = subprocess.Popen([sys.executable, "-m", "signscribe", *command], env=environment, preexec_fn=pin)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{base}/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start")
                time.sleep(0.5)
            yield base, server.pid
        finally:
            server.terminate()
            server.wait(timeout=30)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def jpeg_frames(clip: Path, seconds: float) -> list[bytes]:
    frames, next_time = [], 0.0
    for frame in read_frames(clip, end_time=seconds, max_side=640):
        if frame.time + 1e-6 >= next_time:
            next_time += 1 / FPS
            buffer = io.BytesIO()
            Image.fromarray(frame.image).save(buffer, format="JPEG", quality=80)
            frames.append(buffer.getvalue())
    return frames


def stream_frames(seconds: float) -> list[bytes]:
    """The first ``seconds`` of the streamed real clip, as JPEG frames at ``FPS``."""
    if not STREAM_CLIP.is_file():
        raise SystemExit(f"{STREAM_CLIP} is missing: the benchmark needs ../shared/data")
    return jpeg_frames(STREAM_CLIP, seconds)


async def one_stream(
    url: str,
    frames: list[bytes] | list[str],
    seconds: float,
    skip_seconds: float = 0.0,
    rate: float | None = None,
    delay: float = 0.0,
) -> tuple[list[float], dict[str, int]]:
    """Stream ``frames`` at ``FPS`` for ``seconds``, ``delay`` seconds after connecting: images (bytes,
    sent binary after their timestamp) or landmark messages (JSON text without their ``"t"``, which is
    put first), asking for ``rate`` predictions a second when given. Returns the latency of each
    prediction after the first ``skip_seconds`` (the warm-up) and the frame counts over them."""
    sent: dict[float, float] = {}
    latencies: list[float] = []
    counts: dict[str, int] = {}
    before: dict[str, int] = {}  # the counts when the warm-up ended
    async with websockets.connect(url, max_size=None) as socket_:
        await socket_.recv()  # ready
        if rate is not None:
            await socket_.send(json.dumps({"type": "config", "rate": rate}))

        async def receive() -> None:
            async for text in socket_:
                if not text.startswith('{"type": "prediction"'):
                    continue  # the overlay of every frame: not parsed, the client stays light
                message = json.loads(text)
                if message["t"] < skip_seconds:
                    before.update(message["frames"])
                    continue
                latencies.append(time.perf_counter() - sent[message["t"]])
                counts.update({key: value - before.get(key, 0) for key, value in message["frames"].items()})

        receiver = asyncio.create_task(receive())
        await asyncio.sleep(delay)
        start = time.perf_counter()
        for index in range(int(seconds * FPS)):
            await asyncio.sleep(max(0.0, start + index / FPS - time.perf_counter()))
            t = index / FPS
            frame = frames[index % len(frames)]
            sent[t] = time.perf_counter()
            await socket_.send(
                struct.pack("<d", t) + frame if isinstance(frame, bytes) else f'{{"t": {t!r}, {frame[1:]}'
            )
        await asyncio.sleep(1.0)
        receiver.cancel()
    return latencies, counts


async def streams(url: str, frames: list[bytes], count: int, seconds: float, pid: int) -> None:
    peak = [rss_mb(pid)]

    async def watch() -> None:
        while True:
            peak.append(rss_mb(pid))
            await asyncio.sleep(0.25)

    watcher = asyncio.create_task(watch())
    results = await asyncio.gather(*(one_stream(url, frames, seconds) for _ in range(count)))
    watcher.cancel()
    latencies = np.array([value for result in results for value in result[0]]) * 1000
    processed = sum(result[1].get("processed", 0) for result in results)
    dropped = sum(result[1].get("dropped", 0) for result in results)
    received = sum(result[1].get("received", 0) for result in results)
    print(
        f"{count} stream(s) x {FPS} fps x {seconds:g} s: latency p50 {np.percentile(latencies, 50):6.1f} ms, "
        f"p95 {np.percentile(latencies, 95):6.1f} ms; frames received {received}, processed {processed}, "
        f"dropped {dropped} ({dropped / max(received, 1):.0%}); server RSS peak {max(peak):.0f} MB"
    )


def rest(base: str, clip: Path, requests: int) -> None:
    data = clip.read_bytes()
    with httpx.Client(base_url=base, timeout=120) as client:
        start = time.perf_counter()
        first = client.post("/v1/recognize", files={"file": ("clip.mp4", data, "video/mp4")})
        cold = time.perf_counter() - start
        first.raise_for_status()
        start = time.perf_counter()
        for _ in range(requests):
            client.post("/v1/recognize", files={"file": ("clip.mp4", data, "video/mp4")}).raise_for_status()
        warm = requests / (time.perf_counter() - start)
    print(
        f"REST /v1/recognize, real {clip.name} ({len(data) / 1024:.0f} kB): first request {cold * 1000:.0f} ms "
        f"(pose extraction), then {warm:.1f} requests/s (pose cache warm)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each stream")
    parser.add_argument("--requests", type=int, default=30, help="REST requests after the first")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of 4 streams: memory must level off")
    parser.add_argument("--video-family", help="serve a random-weight RGB model of this family")
    args = parser.parse_args()
    frames = stream_frames(args.seconds)
    family = args.video_family
    with tempfile.TemporaryDirectory() as models:
        model = str(random_video_model(family, Path(models) / family)) if family else None
        with running_server(model) as (base, pid):
            print(f"server RSS at start: {rss_mb(pid):.0f} MB")
            url = base.replace("http", "ws") + "/v1/stream"
            for count in (1, 2, *[4] * args.rounds):
                asyncio.run(streams(url, frames, count, args.seconds, pid))
                time.sleep(1.0)
                print(f"  server RSS after the streams closed: {rss_mb(pid):.0f} MB")
            rest(base, DATA / "wlasl" / "clips" / "01586.mp4", args.requests)


if __name__ == "__main__":
    main()
