"""``signscribe serve`` as a process, on uvicorn's own connection handling: its start and bad settings,
bounded request heads, forwarded addresses from named proxies, clients that go away, and SIGTERM."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from service_client import upload_files
from typer.testing import CliRunner

from signscribe.cli import app
from signscribe.serving import ServerSettings, create_app
from signscribe.serving.server import serve_in_thread

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@contextlib.contextmanager
def running_server(settings: ServerSettings, recognizer) -> Iterator[tuple[str, object]]:
    """``(url, app)`` of a real uvicorn server configured as ``signscribe serve`` configures it."""
    app = create_app(settings, recognizer=recognizer)
    with serve_in_thread(app, settings) as url:
        yield url, app


def test_work_whose_client_went_away_stops_and_frees_its_slot(tmp_path: Path, serving_recognizer, sentence_bytes):
    settings = ServerSettings(
        data_dir=tmp_path, model="traduttore16", max_concurrent_recognitions=1, max_waiting_recognitions=0
    )
    with running_server(settings, serving_recognizer) as (url, app):
        body, boundary = _multipart(sentence_bytes)
        for _ in range(3):  # each dropped by its client once it is running
            with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1]))) as dropped:
                head = (
                    f"POST /v1/recognize HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary={boundary}"
                )
                dropped.sendall(f"{head}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
                deadline = time.monotonic() + 10
                while app.state.recognitions.admitted == 0:
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
                time.sleep(0.5)
            started = time.monotonic()
            while app.state.recognitions.admitted:
                assert time.monotonic() - started < 5, "the abandoned recognition kept its slot"
                time.sleep(0.05)
        assert not list(settings.uploads_dir.glob("*"))
        assert httpx.get(f"{url}/healthz").status_code == 200


def _multipart(data: bytes) -> tuple[bytes, str]:
    boundary = "signscribe-test-boundary"
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="c.mp4"\r\n'
    head += "Content-Type: video/mp4\r\n\r\n"
    return head.encode() + data + f"\r\n--{boundary}--\r\n".encode(), boundary


def test_sigterm_stops_a_busy_server_and_queues_its_job_again(tmp_path: Path, sentence_bytes: bytes) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "signscribe", "serve", "--port", str(port), "--data-dir", str(tmp_path)]
    env = {**os.environ, "SIGNSCRIBE_SHUTDOWN_SECONDS": "3"}
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"{url}/healthz")
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "signscribe serve did not start"
                time.sleep(0.5)
        job = httpx.post(f"{url}/v1/jobs?model=traduttore16", files=upload_files(sentence_bytes)).json()["id"]

        def give_up_after_5_s() -> None:
            with contextlib.suppress(httpx.HTTPError):
                httpx.post(f"{url}/v1/recognize?model=traduttore16", files=upload_files(sentence_bytes), timeout=5)

        busy = threading.Thread(target=give_up_after_5_s)
        busy.start()
        while httpx.get(f"{url}/v1/jobs/{job}").json()["status"] != "running":
            time.sleep(0.1)
        time.sleep(1.0)
        stopping = time.monotonic()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        assert time.monotonic() - stopping < 15
        busy.join(10)
    finally:
        if server.poll() is None:
            server.kill()
    import sqlite3

    with contextlib.closing(sqlite3.connect(tmp_path / "jobs.sqlite3")) as database:
        status, upload = database.execute("SELECT status, upload FROM jobs WHERE id = ?", (job,)).fetchone()
    assert status == "queued" and Path(upload).is_file()  # it runs again on the next start
    assert [path for path in (tmp_path / "uploads").iterdir() if str(path) != upload] == []


def test_forwarded_addresses_count_only_from_named_proxies(tmp_path: Path, serving_recognizer) -> None:
    limited = {"model": "traduttore16", "rate_limit_per_minute": 3}
    with running_server(ServerSettings(data_dir=tmp_path / "a", **limited), serving_recognizer) as (url, _):
        statuses = [
            httpx.get(f"{url}/v1/models", headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code for i in range(5)
        ]
        assert statuses == [200, 200, 200, 429, 429]
    proxied = ServerSettings(data_dir=tmp_path / "b", trusted_proxies=("127.0.0.1",), **limited)
    with running_server(proxied, serving_recognizer) as (url, _):
        statuses = [
            httpx.get(f"{url}/v1/models", headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code for i in range(5)
        ]
        assert statuses == [200] * 5  # behind a named proxy, each forwarded client has its own limit


def test_request_heads_are_bounded_in_size_and_time(tmp_path: Path, serving_recognizer) -> None:
    settings = ServerSettings(data_dir=tmp_path, model="traduttore16", header_timeout_seconds=1)
    with running_server(settings, serving_recognizer) as (url, _):
        port = int(url.rsplit(":", 1)[1])
        huge = socket.create_connection(("127.0.0.1", port))
        huge.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n")
        # the status line only: the server closes with the rest of the head unread, which may reset the rest
        assert huge.recv(100).startswith(b"HTTP/1.1 431 Request Header Fields Too Large")
        huge.close()
        with socket.create_connection(("127.0.0.1", port)) as malformed:  # any other bad head stays a 400
            malformed.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            assert malformed.recv(100).startswith(b"HTTP/1.1 400")
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(50)]
        for connection in idle:
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        trickle = socket.create_connection(("127.0.0.1", port))
        trickle.settimeout(5)
        started = time.monotonic()
        with contextlib.suppress(OSError):
            while time.monotonic() - started < 4:
                trickle.sendall(b"X")  # a byte at a time does not keep the connection open
                time.sleep(0.2)
        assert time.monotonic() - started < 3
        for connection in idle:
            connection.settimeout(5)
            assert connection.recv(10) == b""  # closed by the server
            connection.close()
        assert httpx.get(f"{url}/healthz").status_code == 200
        assert httpx.head(f"{url}/healthz").status_code == 200


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SIGNSCRIBE_MAX_UPLOAD_MB", "big", "SIGNSCRIBE_MAX_UPLOAD_MB='big': expected a number"),
        ("SIGNSCRIBE_RATE_LIMIT", "1.5", "SIGNSCRIBE_RATE_LIMIT='1.5': expected a whole number"),
        ("SIGNSCRIBE_API_KEYS_FILE", "/nonexistent/keys", "API key file not found"),
    ],
)
def test_serve_with_bad_settings_is_one_line(variable: str, value: str, message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["serve", "--data-dir", str(tmp_path)], env={variable: value})
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert "serving on" not in result.output


def test_serve_on_a_busy_port_says_so_before_serving(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        command = [sys.executable, "-m", "signscribe", "serve", "--port", str(port), "--data-dir", str(tmp_path)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "serving on" not in result.stdout + result.stderr and "Traceback" not in result.stderr


def test_serve_command_as_the_readme_starts_it(tmp_path: Path, clip_bytes: bytes) -> None:
    """The server starts, serves the page and recognises a real clip, and its output has none of
    MediaPipe's native notices (the XNNPACK and "Feedback manager" lines) but keeps its own."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "signscribe", "serve", "--port", str(port), "--data-dir", str(tmp_path)]
    log = (tmp_path / "server.log").open("w+")
    server = subprocess.Popen(command, env={**os.environ, "SIGNSCRIBE_API_KEYS": "k"}, stderr=log, stdout=log)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz")
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "signscribe serve did not start"
                time.sleep(0.5)
        assert ready.status_code == 200
        page = httpx.get(f"http://127.0.0.1:{port}/")
        assert page.status_code == 200 and "Live webcam" in page.text
        assert httpx.get(f"http://127.0.0.1:{port}/v1/models").status_code == 401
        assert httpx.get(f"http://127.0.0.1:{port}/v1/models", headers={"X-API-Key": "k"}).status_code == 200
        assert (tmp_path / "jobs.sqlite3").is_file()
        files = {"file": ("clip.mp4", clip_bytes, "video/mp4")}
        recognized = httpx.post(
            f"http://127.0.0.1:{port}/v1/recognize", files=files, headers={"X-API-Key": "k"}, timeout=120
        )
        (answered,) = recognized.json()["results"]  # a sign outside WLASL100: no gloss, and why
        assert recognized.status_code == 200 and (answered["predictions"] or answered["no_gloss"])
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.seek(0)
        output = log.read()
        log.close()
    assert f"serving on http://127.0.0.1:{port}" in output, "the server's own lines are kept"
    assert not any(noise in output for noise in ("XNNPACK", "Feedback manager", "W0000", "absl::InitializeLog")), output
