"""The service's second hardening round, one test per finding: nothing blocking on the event loop,
work bounded per clip and per key and stopped when nobody waits for it, bounded request heads,
forwarded headers trusted only from named proxies, streams that fail loudly, and small ones. Tests
that need uvicorn's own connection handling run a real server on a free port."""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import av
import httpx
import numpy as np
import pytest
from starlette.websockets import WebSocketDisconnect

from signscribe.serving import ServerSettings, create_app
from signscribe.serving.server import serve_in_thread

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
LONG_CLIP = "-d5dN54tH2E_0-1-rgb_front.mp4"  # How2Sign, 9.5 s: about 10 s of extraction here


@pytest.fixture(scope="module")
def long_clip(how2sign_dir: Path) -> bytes:
    return (how2sign_dir / "clips" / LONG_CLIP).read_bytes()


def _files(data: bytes, name: str = "clip.mp4") -> dict:
    return {"file": (name, data, "video/mp4")}


@contextlib.contextmanager
def running_server(settings: ServerSettings, recognizer) -> Iterator[tuple[str, object]]:
    """``(url, app)`` of a real uvicorn server configured as ``signscribe serve`` configures it."""
    app = create_app(settings, recognizer=recognizer)
    with serve_in_thread(app, settings) as url:
        yield url, app


def _tiny_long_video(path: Path, seconds: int) -> Path:
    """A few kilobytes that declare ``seconds`` of 16x16 video at 1 frame a second."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=1)
        stream.width = stream.height = 16
        stream.pix_fmt = "yuv420p"
        for index in range(seconds):
            frame = av.VideoFrame.from_ndarray(np.full((16, 16, 3), index % 255, np.uint8), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


# 1. Nothing blocking on the event loop: the bank's lock guards its write, not the extraction


def test_deleting_a_sign_answers_while_another_is_being_taught(make_client, long_clip: bytes, clip_bytes: bytes):
    client = make_client()
    assert client.post("/v1/bank/signs?gloss=agreement", files=_files(clip_bytes)).status_code == 200
    teaching: dict = {}
    thread = threading.Thread(
        target=lambda: teaching.update(r=client.post("/v1/bank/signs?gloss=long", files=_files(long_clip)))
    )
    thread.start()
    time.sleep(2.0)  # the long clip is being extracted
    started = time.perf_counter()
    removed = client.delete("/v1/bank/signs/agreement")
    health = client.get("/healthz")
    took = time.perf_counter() - started
    assert thread.is_alive(), "the clip was taught before the deletion was tried"
    assert removed.status_code == 200 and "agreement" not in removed.json()["signs"]
    assert health.status_code == 200 and took < 1.0
    thread.join(120)
    assert teaching["r"].status_code == 200 and set(teaching["r"].json()["signs"]) == {"long"}  # nothing lost


# 2. Bounded work per clip, and work nobody waits for is stopped


def test_a_clip_longer_than_the_limits_is_refused_from_its_header(make_client, tmp_path: Path) -> None:
    client = make_client()
    long_video = _tiny_long_video(tmp_path / "long.mp4", 700).read_bytes()  # 700 s in a few kB
    assert len(long_video) < 100_000
    started = time.perf_counter()
    for path in ("/v1/recognize", "/v1/transcribe", "/v1/jobs", "/v1/bank/signs?gloss=x", "/v1/bank/recognize"):
        response = client.post(path, files=_files(long_video))
        expected = 409 if path == "/v1/bank/recognize" else 422  # an empty bank answers first
        assert response.status_code == expected, (path, response.text)
        if expected == 422:
            assert response.json()["error"]["code"] == "clip_too_long"
            assert "700 s, more than the 600 s allowed" in response.json()["error"]["message"]
    assert time.perf_counter() - started < 10  # nothing was decoded
    assert not list(client.app.state.settings.uploads_dir.glob("*"))


def test_the_clip_limits_come_from_the_environment(monkeypatch, make_client) -> None:
    monkeypatch.setenv("SIGNSCRIBE_MAX_FRAME_RATE", "12")
    monkeypatch.setenv("SIGNSCRIBE_MAX_CLIP_SECONDS", "30")
    monkeypatch.setenv("SIGNSCRIBE_REQUEST_TIME_LIMIT", "5")
    monkeypatch.setenv("SIGNSCRIBE_JOB_TIME_LIMIT", "60")
    settings = ServerSettings.from_env()
    assert (settings.max_clip_seconds, settings.request_time_limit_seconds, settings.job_time_limit_seconds) == (
        30,
        5,
        60,
    )
    assert settings.clip_limits.max_seconds == 30
    client = make_client(max_frame_rate=settings.max_frame_rate)
    for recognizer in client.app.state.models.recognizers.values():  # every model extracts uploads at 12 fps
        assert recognizer.extractor.settings.rate_for(1000.0) == 12


def test_a_request_past_its_time_limit_stops_and_frees_its_slot(make_client, long_clip: bytes) -> None:
    client = make_client(request_time_limit_seconds=1, max_concurrent_recognitions=1, max_waiting_recognitions=0)
    started = time.perf_counter()
    response = client.post("/v1/recognize", files=_files(long_clip))
    assert response.status_code == 422 and response.json()["error"]["code"] == "time_limit_exceeded"
    assert "POST /v1/jobs" in response.json()["error"]["message"]
    assert time.perf_counter() - started < 6
    assert client.app.state.recognitions.admitted == 0
    assert not list(client.app.state.settings.uploads_dir.glob("*"))


def test_a_job_past_its_time_limit_fails_and_the_worker_goes_on(make_client, long_clip, clip_bytes) -> None:
    client = make_client(job_time_limit_seconds=1)
    slow = client.post("/v1/jobs", files=_files(long_clip)).json()["id"]
    failed = _finished(client, slow)
    assert failed["status"] == "failed" and "longer than the 1 s allowed" in failed["error"]
    client.app.state.worker.time_limit = None  # a clip of a few seconds takes more than 1 s on a slow machine
    assert _finished(client, client.post("/v1/jobs", files=_files(clip_bytes)).json()["id"])["status"] == "done"


def _finished(client, job_id: str) -> dict:
    deadline = time.monotonic() + 60
    while (job := client.get(f"/v1/jobs/{job_id}").json())["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
    return job


def test_work_whose_client_went_away_stops_and_frees_its_slot(tmp_path: Path, serving_recognizer, long_clip):
    settings = ServerSettings(
        data_dir=tmp_path, model="traduttore16", max_concurrent_recognitions=1, max_waiting_recognitions=0
    )
    with running_server(settings, serving_recognizer) as (url, app):
        body, boundary = _multipart(long_clip)
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


def test_the_command_line_refuses_a_long_video_unless_told(tmp_path: Path) -> None:
    video = _tiny_long_video(tmp_path / "long.mp4", 700)
    command = [sys.executable, "-m", "signscribe", "recognize", str(video), "--model", "traduttore16"]
    refused = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 1 and "more than the 600 s allowed; pass --no-limits" in refused.stderr
    assert "Traceback" not in refused.stderr
    lifted = subprocess.run([*command, "--no-limits", "--format", "json"], capture_output=True, text=True, timeout=600)
    assert "600 s allowed" not in lifted.stderr and "Traceback" not in lifted.stderr


# 3. A stop with a deadline


def test_sigterm_stops_a_busy_server_and_queues_its_job_again(tmp_path: Path, long_clip: bytes) -> None:
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
        job = httpx.post(f"{url}/v1/jobs?model=traduttore16", files=_files(long_clip)).json()["id"]

        def give_up_after_5_s() -> None:
            with contextlib.suppress(httpx.HTTPError):
                httpx.post(f"{url}/v1/recognize?model=traduttore16", files=_files(long_clip), timeout=5)

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


# 4. A stream's bad landmarks and a stream's failure


def test_landmarks_out_of_range_are_refused_and_a_failing_stream_closes_loudly(make_client, monkeypatch) -> None:
    client = make_client()
    pose = [[0.5, 0.5, 0.0, 1.0]] * 33
    with client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        for value in (1e36, 11.0, -11.0):
            ws.send_text(json.dumps({"type": "landmarks", "t": 0, "pose": [[value, 0.5, 0.0, 1.0]] * 33}))
            assert ws.receive_json()["code"] == "bad_landmarks"
        ws.send_text(json.dumps({"type": "landmarks", "t": 0, "pose": [[1.2, -0.1, 0.0, 1.0]] * 33}))
        assert ws.receive_json()["type"] == "landmarks"  # a point a little out of view is a landmark
    from signscribe.serving.stream.session import LandmarkSession

    monkeypatch.setattr(LandmarkSession, "_overlay", lambda *args: {"type": "landmarks", "t": float("nan")})
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        ws.send_text(json.dumps({"type": "landmarks", "t": 0, "pose": pose}))
        ws.receive_json()
    assert closed.value.code == 1011
    assert client.app.state.streams.open == 0  # its slot is free


# 5. Forwarded headers and 7. request heads


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


# 6. Quotas per key, 8. a full disk


def _held(client) -> threading.Event:
    """Jobs of ``client`` wait (queued or running) until the event is set."""
    hold, process = threading.Event(), client.app.state.worker.process
    client.app.state.worker.process = lambda job: (hold.wait(60), process(job))
    return hold


def test_jobs_and_their_storage_are_bounded_per_key(make_client, clip_bytes: bytes, tmp_path: Path) -> None:
    size = len(clip_bytes)
    client = make_client(api_keys=frozenset({"a", "b"}), max_jobs_per_key=2, max_stored_bytes=int(size * 3.5))
    hold = _held(client)
    a, b = {"X-API-Key": "a"}, {"X-API-Key": "b"}
    assert [client.post("/v1/jobs", files=_files(clip_bytes), headers=a).status_code for _ in range(2)] == [202, 202]
    third = client.post("/v1/jobs", files=_files(clip_bytes), headers=a)
    assert third.status_code == 429 and third.json()["error"]["code"] == "too_many_jobs"
    assert client.post("/v1/jobs", files=_files(clip_bytes), headers=b).status_code == 202  # b has its own
    full = client.post("/v1/jobs", files=_files(clip_bytes), headers=b)  # 4 uploads: past the server's 3.5
    assert full.status_code == 507 and full.json()["error"]["code"] == "storage_quota"
    assert len(list(client.app.state.settings.uploads_dir.glob("*"))) == 3
    hold.set()
    per_key = make_client(api_keys=frozenset({"c"}), data_dir=tmp_path / "c", max_stored_bytes_per_key=int(size * 1.5))
    hold = _held(per_key)
    c = {"X-API-Key": "c"}
    assert per_key.post("/v1/jobs", files=_files(clip_bytes), headers=c).status_code == 202
    over = per_key.post("/v1/jobs", files=_files(clip_bytes), headers=c)
    assert over.status_code == 507 and "one key may keep" in over.json()["error"]["message"]
    hold.set()


def test_one_keys_queue_of_jobs_takes_turns_with_anothers(tmp_path: Path) -> None:
    from signscribe.serving.jobs import JobStore

    store = JobStore(tmp_path / "jobs.sqlite3")
    for owner in ("flood", "flood", "flood", "other", "flood"):
        store.create("clip.mp4", tmp_path / f"{owner}.upload", 5, owner=owner)
        time.sleep(0.01)
    served = []
    while (job := store.claim_next()) is not None:
        served.append(job.owner)
        time.sleep(0.01)
        store.update(job.id, status="done")
    assert served == ["flood", "other", "flood", "flood", "flood"]  # not after all of flood's


def test_a_full_disk_is_507_and_readiness_says_so(make_client, clip_bytes: bytes, monkeypatch) -> None:
    client = make_client()
    from signscribe.serving import uploads

    def full_disk(path: Path, mode: str):
        return builtins.open("/dev/full", mode)  # the caller closes it

    monkeypatch.setattr(uploads, "open", full_disk, raising=False)
    for path in ("/v1/jobs", "/v1/recognize"):
        response = client.post(path, files=_files(clip_bytes))  # the kernel's own ENOSPC
        assert response.status_code == 507 and response.json()["error"]["code"] == "storage_full"
    monkeypatch.undo()
    assert not list(client.app.state.settings.uploads_dir.glob("*"))
    client.app.state.settings.min_free_disk_bytes = 1 << 60  # more than any disk has
    assert client.post("/v1/recognize", files=_files(clip_bytes)).status_code == 507
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["disk"] is False


# 9. A share of the stream slots per key, and the WebSocket's Origin


def test_one_key_cannot_take_every_stream_slot(make_client) -> None:
    client = make_client(api_keys=frozenset({"a", "b"}), stream_max_connections=3, stream_max_per_caller=2)
    with client.websocket_connect("/v1/stream?api_key=a") as first, client.websocket_connect("/v1/stream?api_key=a"):
        first.receive_json()
        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/v1/stream?api_key=a") as ws:
            ws.receive_json()
        assert refused.value.code == 1013 and "for one caller" in refused.value.reason
        with client.websocket_connect("/v1/stream?api_key=b") as other:
            assert other.receive_json()["type"] == "ready"


def test_streams_are_refused_to_pages_of_other_origins(make_client) -> None:
    client = make_client()
    evil = {"Origin": "https://evil.example"}
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/v1/stream", headers=evil) as ws:
        ws.receive_json()
    assert refused.value.code == 4403
    for headers in ({}, {"Origin": "http://testserver"}):  # no browser, or the server's own page
        with client.websocket_connect("/v1/stream", headers=headers) as ws:
            assert ws.receive_json()["type"] == "ready"
    allowed = make_client(stream_origins=("https://app.example",), data_dir=client.app.state.settings.data_dir / "b")
    with allowed.websocket_connect("/v1/stream", headers={"Origin": "https://app.example"}) as ws:
        assert ws.receive_json()["type"] == "ready"


# 10. The first browser-model export


def test_waiting_for_the_browser_model_holds_no_thread(make_client, monkeypatch, clip_bytes: bytes) -> None:
    from signscribe.serving import model_pool

    exports = []

    def slow_export(loaded) -> bytes:
        exports.append(loaded)
        time.sleep(3)
        return b"onnx"

    monkeypatch.setattr(model_pool, "browser_onnx", slow_export)
    client = make_client()
    answers: list = []
    waiting = [
        threading.Thread(target=lambda: answers.append(client.get("/v1/browser-model").content)) for _ in range(10)
    ]
    for thread in waiting:
        thread.start()
    time.sleep(0.5)
    started = time.perf_counter()
    assert client.post("/v1/jobs", files=_files(clip_bytes)).status_code == 202  # hashes the clip in a thread
    assert time.perf_counter() - started < 1.5
    for thread in waiting:
        thread.join(30)
    assert answers == [b"onnx"] * 10 and len(exports) == 1


# 11. Small ones


def test_small_findings(make_client, clip_bytes: bytes, tmp_path: Path) -> None:
    client = make_client()
    spaces = client.post("/v1/bank/signs?gloss=%20%20%20", files=_files(clip_bytes))
    assert spaces.status_code == 422 and spaces.json()["error"]["code"] == "invalid_request"
    gif = b"GIF89a" + bytes(600)
    assert client.post("/v1/recognize", files=_files(gif)).json()["error"]["code"] == "not_a_video"
    assert client.post("/v1/recognize", files=_files(b"G" + bytes(600))).status_code == 415


def test_a_stream_whose_clock_goes_back_predicts_again(make_client) -> None:
    client = make_client(stream_min_frames=4)
    pose = [[0.5, 0.5, 0.0, 1.0]] * 33
    with client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        for start in (100.0, 0.0):  # the client's clock starts again
            times = []
            for index in range(12):  # one frame at a time: none is dropped
                ws.send_text(json.dumps({"type": "landmarks", "t": start + index / 10, "pose": pose}))
                while (message := ws.receive_json())["type"] != "landmarks":
                    times.append(message["t"])
            predicted = [t for t in times if start <= t < start + 2]
            assert predicted, f"no prediction after t={start}"
            # the window restarted with the clock: its frames are the new ones
            assert predicted[-1] - predicted[0] < 2


def test_uploads_left_by_a_killed_server_are_removed_at_start(make_client, tmp_path: Path) -> None:
    uploads = tmp_path / "data" / "uploads"
    uploads.mkdir(parents=True)
    (uploads / "0123abcd.upload").write_bytes(b"half an upload")
    client = make_client()
    assert not (uploads / "0123abcd.upload").exists()
    assert client.get("/healthz").status_code == 200


def test_the_command_line_reports_a_write_it_cannot_make_in_one_line(wlasl_dir: Path) -> None:
    clip = wlasl_dir / "clips" / "01586.mp4"
    out = Path("/sys/signscribe-results.json")  # not writable, even for root
    command = [sys.executable, "-m", "signscribe", "recognize", str(clip), "-m", "traduttore16", "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")


def test_a_folder_lists_fifos_and_looping_links_under_failed(wlasl_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    folder.mkdir()
    (folder / "real.mp4").symlink_to(wlasl_dir / "clips" / "01586.mp4")
    os.mkfifo(folder / "pipe.mp4")
    (folder / "loop.mp4").symlink_to(folder / "loop.mp4")
    command = [sys.executable, "-m", "signscribe", "recognize", str(folder), "-m", "traduttore16", "--format", "json"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "pipe.mp4: not a regular file: a FIFO" in result.stderr
    assert "loop.mp4: not a regular file: a symbolic link" in result.stderr
    answer = json.loads(result.stdout)
    assert [entry["video"] for entry in answer["results"]] == ["real.mp4"]
    assert sorted(entry["video"] for entry in answer["failed"]) == ["loop.mp4", "pipe.mp4"]
