"""Legitimate clients of the service while an attacker tries to freeze it or hold its work hostage.

Starts ``signscribe serve`` in its own process (API keys, no rate limit, every other setting at its
default), then for ``--seconds``:
- 4 legitimate clients, each with its own key, upload real WLASL clips one after another (a different
  clip each time, so the server's pose cache does not answer for them) to ``/v1/recognize``, and wait
  ``Retry-After`` when told the server is busy;
- a probe asks ``/healthz`` every 0.25 s;
- the attacker, with one key, runs at once: (1) the sign bank taught long How2Sign clips while it
  deletes signs, (2) uploads of a clip that declares 700 s, and long clips dropped after 3 s, (6) a
  flood of jobs of long clips, and (7) 200 connections that never finish their headers plus 1 MB
  headers.
Prints the legitimate answers (count, share, p50/p95 latency), the health probe's latency and every
attack's answers by status.
``--no-attack`` runs the legitimate clients alone, for the baseline.
Run: ``.venv/bin/python benchmarks/serve_attack.py [--seconds 60] [--no-attack]``.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import av
import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: benchmarks.* as a package
from benchmarks.serve_load import DATA, running_server

LEGIT_CLIENTS = 4
SLOW_CONNECTIONS = 200
KEYS = [f"legit{index}" for index in range(LEGIT_CLIENTS)] + ["attacker"]


def declared_long_video(path: Path, seconds: int = 700) -> bytes:
    """A few kilobytes of 16x16 video that declare ``seconds`` seconds."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=1)
        stream.width = stream.height = 16
        stream.pix_fmt = "yuv420p"
        for index in range(seconds):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.full((16, 16, 3), index % 255, np.uint8))))
        container.mux(stream.encode())
    return path.read_bytes()


class Run:
    """What every thread records, until ``ends``."""

    def __init__(self, seconds: float) -> None:
        self.ends = time.monotonic() + seconds
        self.statuses: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.latencies: dict[str, list[float]] = collections.defaultdict(list)
        self.lock = threading.Lock()

    @property
    def going(self) -> bool:
        return time.monotonic() < self.ends

    def record(self, what: str, status: int | str, seconds: float | None = None) -> None:
        with self.lock:
            self.statuses[what][status] += 1
            if seconds is not None:
                self.latencies[what].append(seconds)


def legitimate(run: Run, base: str, key: str, clips: list[Path]) -> None:
    with httpx.Client(headers={"X-API-Key": key}, timeout=120) as client:
        for clip in clips:
            if not run.going:
                return
            started = time.perf_counter()
            response = client.post(f"{base}/v1/recognize", files={"file": (clip.name, clip.read_bytes())})
            run.record("legitimate", response.status_code, time.perf_counter() - started)
            if response.status_code == 503:
                time.sleep(float(response.headers.get("retry-after", "1")))


def health(run: Run, base: str) -> None:
    while run.going:
        started = time.perf_counter()
        try:
            status: int | str = httpx.get(f"{base}/healthz", timeout=30).status_code
        except httpx.HTTPError as error:
            status = type(error).__name__
        run.record("healthz", status, time.perf_counter() - started)
        time.sleep(0.25)


def attack_bank(run: Run, base: str, long_clips: list[Path]) -> None:
    with httpx.Client(headers={"X-API-Key": "attacker"}, timeout=120) as client:

        def teach(gloss: str, clip: Path) -> None:
            response = client.post(f"{base}/v1/bank/signs?gloss={gloss}", files={"file": clip.read_bytes()})
            run.record("bank add (long clip)", response.status_code)

        for index in range(10**6):
            if not run.going:
                return
            teaching = threading.Thread(target=teach, args=(f"a{index}", long_clips[index % len(long_clips)]))
            teaching.start()
            while teaching.is_alive() and run.going:  # deletions while the clip is extracted
                run.record("bank delete", client.delete(f"{base}/v1/bank/signs/a{index - 1}").status_code)
                time.sleep(0.2)
            teaching.join()


def attack_uploads(run: Run, base: str, declared: bytes, long_clips: list[Path]) -> None:
    with httpx.Client(headers={"X-API-Key": "attacker"}, timeout=3) as client:

        def upload(what: str, data: bytes) -> None:
            try:
                status: int | str = client.post(f"{base}/v1/recognize", files={"file": data}).status_code
            except httpx.TimeoutException:
                status = "dropped after 3 s"
            run.record(what, status)

        for index in range(10**6):
            if not run.going:
                return
            upload("upload declaring 700 s", declared)
            upload("long clip, dropped", long_clips[index % len(long_clips)].read_bytes())


def attack_jobs(run: Run, base: str, long_clips: list[Path]) -> None:
    with httpx.Client(headers={"X-API-Key": "attacker"}, timeout=30) as client:
        index = 0
        while run.going:
            clip = long_clips[index % len(long_clips)]
            index += 1
            run.record("job flood", client.post(f"{base}/v1/jobs", files={"file": clip.read_bytes()}).status_code)
            time.sleep(0.1)


def attack_heads(run: Run, base: str) -> None:
    host, port = base.removeprefix("http://").split(":")
    slow: list[socket.socket] = []
    while run.going:
        while len(slow) < SLOW_CONNECTIONS:
            with contextlib.suppress(OSError):
                connection = socket.create_connection((host, int(port)), timeout=1)
                connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                slow.append(connection)
        open_now = []
        for connection in slow:
            try:
                connection.sendall(b"X")  # a byte now and then
                open_now.append(connection)
            except OSError:
                run.record("unfinished headers", "closed by the server")
                connection.close()
        slow = open_now
        with contextlib.suppress(OSError), socket.create_connection((host, int(port)), timeout=5) as big:
            big.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n")
            run.record("1 MB header", big.recv(12).decode(errors="replace") or "closed")
        time.sleep(1)
    for connection in slow:
        connection.close()


def percentile(values: list[float], share: float) -> float:
    return float(np.percentile(values, share)) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--no-attack", action="store_true", help="the legitimate clients alone: the baseline")
    arguments = parser.parse_args()
    clips = sorted((DATA / "wlasl" / "clips").glob("*.mp4"))
    long_clips = sorted((DATA / "how2sign" / "clips").glob("*.mp4"))
    with tempfile.TemporaryDirectory() as folder:
        declared = declared_long_video(Path(folder) / "declared.mp4")
    env = {"SIGNSCRIBE_API_KEYS": ",".join(KEYS)}
    with running_server(env=env) as (base, _):
        run = Run(arguments.seconds)
        threads = [
            threading.Thread(target=legitimate, args=(run, base, KEYS[i], clips[i::LEGIT_CLIENTS]))
            for i in range(LEGIT_CLIENTS)
        ]
        threads.append(threading.Thread(target=health, args=(run, base)))
        if not arguments.no_attack:
            threads += [
                threading.Thread(target=attack_bank, args=(run, base, long_clips)),
                threading.Thread(target=attack_uploads, args=(run, base, declared, long_clips)),
                threading.Thread(target=attack_jobs, args=(run, base, long_clips)),
                threading.Thread(target=attack_heads, args=(run, base)),
            ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    answered = run.statuses["legitimate"][200]
    asked = sum(run.statuses["legitimate"].values())
    legit = run.latencies["legitimate"]
    probe = run.latencies["healthz"]
    setting = "alone" if arguments.no_attack else "under attack"
    print(f"{arguments.seconds:g} s {setting}, {LEGIT_CLIENTS} legitimate clients")
    share = answered / max(asked, 1)
    print(f"legitimate recognitions: {answered} answered of {asked} asked ({share:.0%})")
    print(f"  latency p50 {percentile(legit, 50):.2f} s, p95 {percentile(legit, 95):.2f} s")
    print(f"  by status {dict(run.statuses['legitimate'])}")
    print(f"/healthz: {len(probe)} probes, p95 {percentile(probe, 95) * 1000:.0f} ms, max {max(probe) * 1000:.0f} ms")
    print(f"  by status {dict(run.statuses['healthz'])}")
    for what, statuses in run.statuses.items():
        if what not in ("legitimate", "healthz"):
            print(f"attack, {what}: {dict(statuses)}")


if __name__ == "__main__":
    main()
