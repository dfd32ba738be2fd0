"""Two ``signscribe serve`` processes sharing one data folder (one SQLite jobs database in WAL mode): every
job is run exactly once, both servers take jobs, and when one server is killed mid-job its job is queued
again by the other once its heartbeat lapses, and done; nothing is lost or run twice otherwise."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from service_client import upload_files

LEASE_SECONDS = 2


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def servers(data: Path, count: int) -> Iterator[list[tuple[str, subprocess.Popen]]]:
    """``count`` servers of ``traduttore16`` on free ports, sharing ``data``; ``(url, process)`` each."""
    env = {**os.environ, "SIGNSCRIBE_DATA_DIR": str(data), "SIGNSCRIBE_JOB_LEASE_SECONDS": str(LEASE_SECONDS)}
    started = []
    for _ in range(count):
        port = _free_port()
        command = [sys.executable, "-m", "signscribe", "serve", "--port", str(port), "--model", "traduttore16"]
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append((f"http://127.0.0.1:{port}", process))
    try:
        for url, process in started:
            deadline = time.monotonic() + 120
            while True:
                assert process.poll() is None, "a server exited at its start"
                assert time.monotonic() < deadline, "a server did not start"
                try:
                    if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.3)
        yield started
    finally:
        for _, process in started:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)


def _jobs(data: Path) -> list[tuple[str, str, int, str, str | None]]:
    with sqlite3.connect(data / "jobs.sqlite3") as connection:
        return connection.execute("SELECT id, status, runs, claimed_by, note FROM jobs").fetchall()


def _wait_until(data: Path, condition, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out: {_jobs(data)}"
        time.sleep(0.2)


def test_two_server_processes_run_every_job_exactly_once(tmp_path: Path, wlasl_dir: Path) -> None:
    data = tmp_path / "data"
    clips = [path.read_bytes() for path in sorted((wlasl_dir / "clips").glob("*.mp4"))[:12]]  # none in the cache
    with servers(data, 2) as started:
        for index in range(6):  # sent to both servers in turn; either may run any of them
            url = started[index % 2][0]
            response = httpx.post(f"{url}/v1/jobs", files=upload_files(clips[index]), timeout=30)
            assert response.status_code == 202, response.text
        _wait_until(data, lambda: all(status == "done" for _, status, *_ in _jobs(data)))
        first = _jobs(data)
        assert len(first) == 6 and {runs for _, _, runs, _, _ in first} == {1}  # none run twice
        assert len({claimer for _, _, _, claimer, _ in first}) == 2  # both servers took jobs

        for index in range(6, 12):
            httpx.post(f"{started[index % 2][0]}/v1/jobs", files=upload_files(clips[index]), timeout=30)
        _wait_until(data, lambda: sum(status == "running" for _, status, *_ in _jobs(data)) == 2)
        os.kill(started[0][1].pid, signal.SIGKILL)  # one of the two running jobs is its
        started[0][1].wait()
        _wait_until(data, lambda: all(status == "done" for _, status, *_ in _jobs(data)), seconds=180)
    jobs = _jobs(data)
    assert len(jobs) == 12
    assert sorted(runs for _, _, runs, _, _ in jobs) == [1] * 11 + [2]  # the killed server's job ran once more
    assert "queued again" in next(note for _, _, runs, _, note in jobs if runs == 2)
