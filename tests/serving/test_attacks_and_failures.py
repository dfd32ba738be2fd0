"""The service under attack and failure, one test per finding of the hardening probe: image bombs on
the stream, uploads refused before their body is read, a full disk, malformed stream messages, access
control, the graph pool, clips without a signer and the privacy of uploaded landmarks."""

from __future__ import annotations

import asyncio
import io
import json
import struct
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from starlette.websockets import WebSocketDisconnect

from signscribe.errors import InputFileError
from signscribe.io import read_frames
from signscribe.serving import ServerSettings, create_app

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _upload(client: TestClient, data: bytes, path: str = "/v1/recognize", **headers: str) -> httpx.Response:
    return client.post(path, files={"file": ("clip.mp4", data, "video/mp4")}, headers=headers)


def _wait_for(client: TestClient, job_id: str, seconds: float = 60, **headers: str) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def _strict_json(text: str) -> dict:
    """JSON as the standard defines it: NaN and Infinity are not numbers."""

    def refuse(constant: str) -> None:
        raise AssertionError(f"invalid JSON constant {constant} in {text[:200]}")

    return json.loads(text, parse_constant=refuse)


# 1. Image bombs on the stream


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def test_huge_frames_are_refused_undecoded_and_the_server_stays_responsive(make_client) -> None:
    client = make_client()
    bomb, giant = _png(12000, 12000), _png(20000, 20000)
    assert len(bomb) < 200_000  # tiny on the wire, 144 megapixels decoded
    with client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        for index in range(40):
            ws.send_bytes(struct.pack("<d", index / 15) + bomb)
        ws.send_bytes(struct.pack("<d", 3.0) + giant)  # once an uncaught DecompressionBombError
        started = time.perf_counter()
        assert client.get("/healthz").status_code == 200
        assert time.perf_counter() - started < 1.0
        codes = [ws.receive_json()["code"] for _ in range(41)]
        assert set(codes) == {"frame_too_large"}
        ws.send_text(json.dumps({"type": "landmarks", "t": 5, "pose": None, "left_hand": None, "right_hand": None}))
        assert ws.receive_json()["type"] == "landmarks"  # the stream goes on


def test_frame_pixel_limit_is_configurable(make_client) -> None:
    client = make_client(stream_max_frame_pixels=100 * 100)
    with client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        ws.send_bytes(struct.pack("<d", 0.0) + _png(101, 100))
        error = ws.receive_json()
        assert error["code"] == "frame_too_large" and "101x100" in error["message"]


# 2. Uploads: the key and the size before the body


def _sent_upload(app, size: int, headers: dict[str, str]) -> tuple[httpx.Response, int]:
    """POST a ``size``-byte multipart upload in 256 KiB chunks straight into the app; returns the
    response and how many bytes the app pulled from the client."""
    pulled = 0
    boundary = "x" * 16
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\n'.encode()

    async def body():
        nonlocal pulled
        for chunk in [head, *([b"\0" * (256 * 1024)] * (size // (256 * 1024))), f"\r\n--{boundary}--\r\n".encode()]:
            pulled += len(chunk)
            yield chunk

    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            content_type = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
            return await client.post("/v1/recognize", content=body(), headers={**content_type, **headers})

    return asyncio.run(post()), pulled


def test_uploads_are_refused_before_their_body_is_read(tmp_path: Path, serving_recognizer) -> None:
    limit = 2 * 1024 * 1024
    settings = ServerSettings(data_dir=tmp_path, api_keys=frozenset({"k"}), max_upload_bytes=limit)
    app = create_app(settings, recognizer=serving_recognizer)
    response, pulled = _sent_upload(app, 64 * 1024 * 1024, {})
    assert response.status_code == 401 and response.json()["error"]["code"] == "missing_api_key"
    assert pulled == 0  # not a byte read without a key
    declared = {"X-API-Key": "k", "Content-Length": str(600 * 1024 * 1024)}
    response, pulled = _sent_upload(app, 64 * 1024 * 1024, declared)
    assert response.status_code == 413 and response.json()["error"]["code"] == "upload_too_large" and pulled == 0
    response, pulled = _sent_upload(app, 64 * 1024 * 1024, {"X-API-Key": "k"})  # chunked: counted as it comes
    assert response.status_code == 413 and response.json()["error"]["code"] == "upload_too_large"
    assert pulled < limit + 512 * 1024  # at most the limit in the spool, and the limit again in uploads/
    assert not list((tmp_path / "uploads").glob("*"))


# 3. A full disk


def test_a_full_disk_fails_in_json_and_the_worker_recovers(make_client, clip_bytes: bytes) -> None:
    client = make_client()
    store, worker = client.app.state.store, client.app.state.worker
    worker.retry_seconds = 0.2
    hold, process = threading.Event(), worker.process
    worker.process = lambda job: (hold.wait(60), process(job))  # the first job waits while the disk fills
    queued = [_upload(client, clip_bytes, "/v1/jobs").json()["id"] for _ in range(3)]
    connection = store._connection
    with store._lock:
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        connection.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own "database or disk is full"
    for _ in range(100):
        response = _upload(client, clip_bytes, "/v1/jobs")
        if response.status_code != 202:
            break
        queued.append(response.json()["id"])
    assert response.status_code == 507 and response.json()["error"]["code"] == "storage_full"
    assert len(list(client.app.state.settings.uploads_dir.glob("*"))) == len(queued)  # the refused one is gone
    hold.set()
    deadline = time.monotonic() + 60
    while worker.storage_error is None and time.monotonic() < deadline:
        time.sleep(0.05)  # the worker cannot store a result: it waits the error out
    assert worker.storage_error and worker.is_alive()
    assert client.get("/readyz").status_code == 503
    with store._lock:
        connection.execute("PRAGMA max_page_count = 1073741823")  # space comes back
    for job_id in queued:
        assert _wait_for(client, job_id)["status"] == "done"
    assert worker.healthy and client.get("/readyz").status_code == 200


def test_no_job_is_accepted_while_no_worker_runs(make_client, clip_bytes: bytes) -> None:
    client = make_client()
    client.app.state.worker.stop()
    client.app.state.worker.join(5)
    response = _upload(client, clip_bytes, "/v1/jobs")
    assert response.status_code == 503 and response.json()["error"]["code"] == "worker_unavailable"
    assert response.headers["retry-after"]


def test_unexpected_errors_are_json(make_client, monkeypatch) -> None:
    client = make_client()
    client.app.state.models.describe = lambda: 1 / 0
    with TestClient(client.app, raise_server_exceptions=False) as raw:
        response = raw.get("/v1/models")
    assert response.status_code == 500 and response.json()["error"]["code"] == "internal_error"


# 4. Malformed stream messages


def test_malformed_stream_messages_get_errors_and_the_stream_goes_on(make_client) -> None:
    client = make_client()
    pose = [[0.5, 0.5, 0.0, 1.0]] * 33
    bad = [
        ({"type": "config", "top_k": "abc"}, "bad_message"),
        ({"type": "config", "rate": "fast"}, "bad_message"),
        ({"type": "config", "rate": 0}, "bad_message"),
        ({"type": "landmarks", "t": 1, "pose": [["a", "b", "c", "d"]] * 33}, "bad_landmarks"),
        ({"type": "landmarks", "t": 1, "pose": [[0.5, 0.5, 0.0, 1.0]] * 32 + [[0.5]]}, "bad_landmarks"),
        ({"type": "landmarks", "t": 1, "pose": [[0.5, 0.5, 0.0, 1.0]] * 32 + [[0.5, 0.5, 0.0]]}, "bad_landmarks"),
        ({"type": "landmarks", "t": 1, "pose": [[0.5, 0.5]] * 33}, "bad_landmarks"),
        ({"type": "landmarks", "t": 1, "pose": pose, "width": 1e400}, "bad_landmarks"),
        ({"type": "landmarks", "t": 1, "pose": [[float("nan"), 0.5, 0.0, 1.0]] * 33}, "bad_landmarks"),
        ({"type": "landmarks", "t": 1, "pose": [[float("inf"), 0.5, 0.0, 1.0]] * 33}, "bad_landmarks"),
        ({"type": "landmarks", "t": 1, "pose": [[1e300, 0.5, 0.0, 1.0]] * 33}, "bad_landmarks"),
        ({"type": "landmarks", "t": float("nan"), "pose": pose}, "bad_landmarks"),
        ({"type": "frame", "t": 1, "jpeg": 7}, "bad_frame"),
    ]
    with client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        for message, code in bad:
            ws.send_text(json.dumps(message))  # Python writes NaN, Infinity and 1e400 as such
            error = _strict_json(ws.receive_text())
            assert (error["type"], error["code"]) == ("error", code), message
        ws.send_text("[" * 100_000 + "]" * 100_000)
        assert ws.receive_json()["type"] == "error"
        ws.send_bytes(struct.pack("<d", float("nan")) + b"\xff\xd8 jpeg")
        assert ws.receive_json()["code"] == "bad_frame"
        ws.send_text(json.dumps({"type": "config", "top_k": 3, "rate": 30}))
        for index in range(10):
            ws.send_text(json.dumps({"type": "landmarks", "t": index / 15, "pose": pose}))
            time.sleep(0.02)
        messages = []
        while not any(m["type"] == "prediction" for m in messages):
            messages.append(_strict_json(ws.receive_text()))
    prediction = next(m for m in messages if m["type"] == "prediction")
    assert prediction["frames"]["processed"] >= 8


# 5. Access control


def test_jobs_belong_to_the_key_that_made_them(make_client, clip_bytes: bytes) -> None:
    client = make_client(api_keys=frozenset({"alice", "bob"}))
    created = _upload(client, clip_bytes, "/v1/jobs", **{"X-API-Key": "alice"}).json()
    job = _wait_for(client, created["id"], **{"X-API-Key": "alice"})
    assert job["status"] == "done" and "owner" not in job
    for method in (client.get, client.delete):
        other = method(f"/v1/jobs/{job['id']}", headers={"X-API-Key": "bob"})
        assert other.status_code == 404 and other.json()["error"]["code"] == "job_not_found"
    assert client.get(f"/v1/jobs/{job['id']}", headers={"X-API-Key": "alice"}).json()["status"] == "done"
    assert client.delete(f"/v1/jobs/{job['id']}", headers={"X-API-Key": "alice"}).status_code == 200


def test_failed_authentication_is_throttled_per_address(make_client) -> None:
    client = make_client(api_keys=frozenset({"right"}), auth_failures_per_minute=3)
    statuses = [client.get("/v1/models", headers={"X-API-Key": f"guess{i}"}).status_code for i in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    throttled = client.get("/v1/models", headers={"X-API-Key": "right"})  # the address is locked out for now
    assert throttled.status_code == 429 and "failed authentications" in throttled.json()["error"]["message"]
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/v1/stream?api_key=right") as ws:
        ws.receive_json()
    assert closed.value.code == 4429


def test_the_stream_counts_against_the_rate_limit(make_client) -> None:
    client = make_client(api_keys=frozenset({"k"}), rate_limit_per_minute=2)
    assert [client.get("/v1/models", headers={"X-API-Key": "k"}).status_code for _ in range(2)] == [200, 200]
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/v1/stream?api_key=k") as ws:
        ws.receive_json()
    assert closed.value.code == 4429


def test_without_keys_the_limit_is_per_address_whatever_the_headers(make_client) -> None:
    client = make_client(rate_limit_per_minute=3)
    statuses = [client.get("/v1/models", headers={"X-API-Key": f"random{i}"}).status_code for i in range(5)]
    assert statuses == [200, 200, 200, 429, 429]


def test_an_empty_or_unreadable_key_file_stops_the_start(tmp_path: Path, monkeypatch) -> None:
    empty = tmp_path / "keys.txt"
    empty.write_text("# no keys yet\n\n")
    monkeypatch.setenv("SIGNSCRIBE_API_KEYS_FILE", str(empty))
    with pytest.raises(InputFileError, match="holds no key"):
        ServerSettings.from_env(data_dir=tmp_path)
    binary = tmp_path / "keys.bin"
    binary.write_bytes(b"\xff\xfe\x00")
    monkeypatch.setenv("SIGNSCRIBE_API_KEYS_FILE", str(binary))
    with pytest.raises(InputFileError, match="unreadable"):
        ServerSettings.from_env(data_dir=tmp_path)


def test_idle_streams_time_out_and_free_their_slot(make_client) -> None:
    client = make_client(stream_idle_seconds=0.5, stream_max_connections=1)
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/v1/stream") as ws:
        assert ws.receive_json()["type"] == "ready"
        ws.receive_json()  # nothing comes but the close
    assert closed.value.code == 4408
    with client.websocket_connect("/v1/stream") as again:
        assert again.receive_json()["type"] == "ready"


def test_recognitions_are_queued_with_a_bound(make_client, clip_bytes: bytes) -> None:
    client = make_client(max_concurrent_recognitions=1, max_waiting_recognitions=0)
    queue = client.app.state.recognitions
    first: list[httpx.Response] = []
    runner = threading.Thread(target=lambda: first.append(_upload(client, clip_bytes)))
    runner.start()
    deadline = time.monotonic() + 30
    while queue.admitted == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    busy = _upload(client, clip_bytes)  # extraction of the first (a cold cache) takes seconds
    runner.join()
    assert busy.status_code == 503 and busy.json()["error"]["code"] == "busy" and busy.headers["retry-after"]
    assert first[0].status_code == 200 and queue.admitted == 0
    assert _upload(client, clip_bytes).status_code == 200  # the slot is free again


# 6. Memory: streams share a pool of graphs


def test_streams_reuse_the_pooled_graph(make_client, both_hands_clip: Path) -> None:
    client = make_client()
    frames = []
    for frame in read_frames(both_hands_clip, end_frame=6):
        buffer = io.BytesIO()
        Image.fromarray(frame.image).save(buffer, format="JPEG")
        frames.append(buffer.getvalue())
    graphs = []
    for _ in range(3):
        with client.websocket_connect("/v1/stream") as ws:
            ws.receive_json()
            ws.send_bytes(struct.pack("<d", 0.0) + frames[0])
            assert ws.receive_json()["type"] == "landmarks"
        deadline = time.monotonic() + 10
        while not client.app.state.streams.kept and time.monotonic() < deadline:
            time.sleep(0.01)
        graphs.append(client.app.state.streams._idle[0])
    assert graphs[0] is graphs[1] is graphs[2] and client.app.state.streams.kept == 1


# 7. No signer


def test_a_clip_without_a_person_is_no_signer_on_every_path(make_client, empty_scene_video: Path) -> None:
    client = make_client()
    data = empty_scene_video.read_bytes()
    refused = _upload(client, data)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "no_signer"
    assert "no signer found" in refused.json()["error"]["message"]
    job = _wait_for(client, _upload(client, data, "/v1/jobs").json()["id"])
    assert job["status"] == "failed" and "no signer found" in job["error"] and job["result"] is None


# 11. Privacy of uploaded landmarks


def test_the_service_caches_under_its_data_dir_and_deleting_a_job_deletes_its_landmarks(
    make_client, clip_bytes: bytes, tmp_path: Path
) -> None:
    client = make_client()
    cache_dir = tmp_path / "data" / "poses"
    job = _wait_for(client, _upload(client, clip_bytes, "/v1/jobs").json()["id"])
    assert job["status"] == "done" and len(list(cache_dir.glob("??/*.pose"))) == 1
    client.delete(f"/v1/jobs/{job['id']}")
    assert not list(cache_dir.glob("??/*.pose"))


def test_the_pose_cache_is_bounded_by_size_and_age(tmp_path: Path, both_hands_pose) -> None:
    import os

    from signscribe.pose import PoseCache

    cache = PoseCache(tmp_path, max_age=3600)
    cache.put("aa11-1", both_hands_pose)
    old = tmp_path / "aa" / "aa11-1.pose"
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    cache.put("bb22-1", both_hands_pose)
    assert not old.exists() and (tmp_path / "bb" / "bb22-1.pose").exists()
    size = (tmp_path / "bb" / "bb22-1.pose").stat().st_size
    bounded = PoseCache(tmp_path, max_bytes=int(size * 2.5))
    for index, key in enumerate(["cc33-1", "dd44-1"]):
        path = tmp_path / key[:2] / f"{key}.pose"
        bounded.put(key, both_hands_pose)
        os.utime(path, (time.time() + index, time.time() + index))
    bounded.put("ee55-1", both_hands_pose)
    assert sorted(p.stem for p in tmp_path.glob("??/*.pose")) == ["dd44-1", "ee55-1"]
    assert bounded.forget("ee55") == 1 and sorted(p.stem for p in tmp_path.glob("??/*.pose")) == ["dd44-1"]


# 10. /docs offline, with a key


def test_docs_work_offline_and_declare_the_api_key(make_client) -> None:
    client = make_client(api_keys=frozenset({"k"}))
    page = client.get("/docs").text
    assert "cdn" not in page.lower() and "/docs-assets/swagger-ui-bundle.js" in page
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    openapi = client.get("/openapi.json").json()
    assert openapi["components"]["securitySchemes"]["APIKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "Needed when the server has keys.",
    }
    assert {"APIKeyHeader": []} in openapi["paths"]["/v1/recognize"]["post"]["security"]


def test_bad_settings_in_the_environment_are_one_line(monkeypatch, tmp_path: Path) -> None:
    from signscribe.serving.settings import SettingsError

    for name, value in [("SIGNSCRIBE_MAX_UPLOAD_MB", "lots"), ("SIGNSCRIBE_RATE_LIMIT", "-1")]:
        monkeypatch.setenv(name, value)
        with pytest.raises(SettingsError, match=name):
            ServerSettings.from_env(data_dir=tmp_path)
        monkeypatch.delenv(name)


def test_a_stream_never_sends_invalid_json(make_client) -> None:
    """Every message of a stream fed only valid input parses as strict JSON (no NaN anywhere)."""
    client = make_client()
    rng = np.random.default_rng(0)
    with client.websocket_connect("/v1/stream") as ws:
        _strict_json(ws.receive_text())
        for index in range(12):
            pose = np.concatenate([rng.uniform(0, 1, (33, 3)), np.ones((33, 1))], axis=1).tolist()
            ws.send_text(json.dumps({"type": "landmarks", "t": index / 15, "pose": pose}))
            time.sleep(0.02)
        kinds = set()
        while "prediction" not in kinds:
            kinds.add(_strict_json(ws.receive_text())["type"])
