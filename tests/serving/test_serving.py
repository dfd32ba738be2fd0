from __future__ import annotations

import io
import json
import re
import struct
import time
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from signscribe.data import read_mp_data
from signscribe.inference import Recognizer
from signscribe.io import read_frames
from signscribe.pose import HolisticExtractor, PoseCache, PoseSequence, load_mp_sequence
from signscribe.serving import ServerSettings, create_app
from signscribe.serving.jobs import JobStore
from signscribe.serving.stream.messages import landmarks_message

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def recognizer(serving_recognizer: Recognizer) -> Recognizer:
    return serving_recognizer


def _upload(client: TestClient, data: bytes, name: str = "clip.mp4", path: str = "/v1/recognize", **headers):
    return client.post(path, files={"file": (name, data, "video/mp4")}, headers=headers)


def test_status_endpoints_and_docs(make_client) -> None:
    client = make_client()
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {
        "model": True,
        "worker": True,
        "database": True,
        "disk": True,
    }
    model = client.get("/v1/models").json()["models"][0]
    assert model["num_labels"] == 16 and "hello" in model["labels"]
    assert client.get("/docs").status_code == 200
    assert {"/v1/recognize", "/v1/jobs", "/v1/jobs/{job_id}", "/v1/models"} <= set(
        client.get("/openapi.json").json()["paths"]
    )
    page = client.get("/")
    assert page.status_code == 200 and "Live webcam" in page.text
    scripts = re.findall(r'<script src="(/static/[\w.]+\.js)"', page.text)
    assert "/static/live.js" in scripts and all(client.get(script).status_code == 200 for script in scripts)


def test_recognize_real_clip_like_the_cli(make_client, clip_bytes: bytes, recognizer: Recognizer, wlasl_dir) -> None:
    response = _upload(make_client(), clip_bytes, name="../../etc/passwd/clip.mp4")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["failed"] == [] and body["results"][0]["video"] == "clip.mp4"  # no client path survives
    predictions = body["results"][0]["predictions"]
    expected = recognizer.predict(wlasl_dir / "clips" / "01586.mp4", top_k=5)
    assert [p["rank"] for p in predictions] == [1, 2, 3, 4, 5]
    assert [p["gloss"] for p in predictions] == [p.gloss for p in expected]
    top3 = _upload(make_client(), clip_bytes).request.url  # same server, other top_k below
    assert top3.path == "/v1/recognize"


def test_the_browser_model_is_the_served_model_as_onnx(
    make_client, recognizer: Recognizer, both_hands_pose: PoseSequence, tmp_path: Path
) -> None:
    """GET /v1/browser-model (the page's offline mode): the model exported once, whose onnxruntime
    answer is PyTorch's on a real clip; a server started with that file hands it over as it is."""
    from signscribe.models.onnx_model import OnnxModel

    client = make_client()
    offered = {m["id"]: m for m in client.get("/v1/models").json()["models"]}
    assert offered["traduttore16"]["runs_in_browser"] and offered["traduttore16"]["features"]["max_frames"] == 64
    response = client.get("/v1/browser-model", params={"model": "traduttore16"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/octet-stream"
    assert client.get("/v1/browser-model").content == response.content  # exported once, kept
    exported = tmp_path / "traduttore16.onnx"
    exported.write_bytes(response.content)
    model = OnnxModel(exported)
    assert model.metadata()[1] == recognizer.labels
    inputs = recognizer.model_inputs(recognizer.prepare([both_hands_pose]))
    np.testing.assert_allclose(model(*inputs).numpy(), recognizer.loaded.model(*inputs).detach().numpy(), atol=1e-4)
    from_file = make_client(model=str(exported), data_dir=tmp_path / "other")
    assert from_file.get("/v1/browser-model").content == response.content
    missing = client.get("/v1/browser-model", params={"model": "nope"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"


def test_every_bundled_model_is_offered_and_chosen_per_request(
    make_client, clip_bytes: bytes, wlasl_dir: Path, tmp_path: Path
) -> None:
    from starlette.websockets import WebSocketDisconnect

    client = make_client()
    offered = {m["id"]: m for m in client.get("/v1/models").json()["models"]}
    assert next(iter(offered)) == "traduttore16" and offered["traduttore16"]["default"]  # the server's own first
    assert offered["wlasl100"]["num_labels"] == 100 and "C-UDA" in offered["wlasl100"]["licence"]
    chosen = client.post("/v1/recognize?model=wlasl100", files={"file": ("clip.mp4", clip_bytes, "video/mp4")})
    predictions, no_gloss = Recognizer.from_pretrained("wlasl100").answer(wlasl_dir / "clips" / "01586.mp4", top_k=5)
    (result,) = chosen.json()["results"]
    assert [p["gloss"] for p in result["predictions"]] == [p.gloss for p in predictions]
    assert result.get("no_gloss") == (None if no_gloss is None else asdict(no_gloss))
    for path in ("/v1/recognize?model=nope", "/v1/jobs?model=nope"):
        refused = client.post(path, files={"file": ("clip.mp4", clip_bytes, "video/mp4")})
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "model_not_found"
        assert "wlasl100" in refused.json()["error"]["message"]
    assert not list((tmp_path / "data").rglob("*.mp4")), "a refused upload is not kept"
    with client.websocket_connect("/v1/stream?model=wlasl100") as ws:
        ready = ws.receive_json()
    # the chosen model's window: wlasl100's median training span (the default's is 20)
    assert ready["model"] == "wlasl100" and len(ready["labels"]) == 100 and ready["window_frames"] == 45
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/v1/stream?model=nope") as ws:
        ws.receive_json()
    assert closed.value.code == 4404


def test_bad_uploads_are_clear_4xx_json(make_client, clip_bytes: bytes, tmp_path: Path) -> None:
    client = make_client(max_upload_bytes=len(clip_bytes) - 1)
    cases = [
        (_upload(client, b"just some notes\n" * 20, name="notes.mp4"), 415, "not_a_video"),
        (_upload(client, b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100), 415, "not_a_video"),
        (_upload(client, b""), 400, "empty_upload"),
        (_upload(client, clip_bytes), 413, "upload_too_large"),
        (client.post("/v1/recognize"), 422, "invalid_request"),
        (client.post("/v1/recognize?top_k=0", files={"file": ("a.mp4", b"x")}), 422, "invalid_request"),
        (client.get("/v1/jobs/nope"), 404, "job_not_found"),
        (client.get("/v2/whatever"), 404, "not_found"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code and response.json()["error"]["message"]
    assert "not a readable video" in cases[1][0].json()["error"]["message"]
    assert not list((tmp_path / "data" / "uploads").glob("*"))  # rejected uploads are not kept


def test_api_keys(make_client, clip_bytes: bytes, tmp_path: Path) -> None:
    client = make_client(api_keys=frozenset({"s3cret"}))
    assert client.get("/healthz").status_code == 200  # probes stay open
    missing = client.get("/v1/models")
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "missing_api_key"
    assert client.get("/v1/models", headers={"X-API-Key": "nope"}).json()["error"]["code"] == "invalid_api_key"
    assert client.get("/v1/models", headers={"X-API-Key": "s3cret"}).status_code == 200
    assert client.get("/v1/models", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert _upload(client, clip_bytes).status_code == 401
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
    assert closed.value.code == 4401
    with client.websocket_connect("/v1/stream?api_key=s3cret") as ws:
        assert ws.receive_json()["type"] == "ready"


def test_api_keys_from_environment(monkeypatch, tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("# team keys\nalpha\n\nbeta\n")
    monkeypatch.setenv("SIGNSCRIBE_API_KEYS", "gamma, delta")
    monkeypatch.setenv("SIGNSCRIBE_API_KEYS_FILE", str(keys))
    monkeypatch.setenv("SIGNSCRIBE_MAX_UPLOAD_MB", "2")
    monkeypatch.setenv("SIGNSCRIBE_CORS_ORIGINS", "https://a.example, https://b.example")
    settings = ServerSettings.from_env(data_dir=tmp_path)
    assert settings.api_keys == {"alpha", "beta", "gamma", "delta"}
    assert settings.max_upload_bytes == 2 * 1024 * 1024 and settings.cors_origins == (
        "https://a.example",
        "https://b.example",
    )


def test_rate_limit_per_key(make_client) -> None:
    client = make_client(rate_limit_per_minute=2, api_keys=frozenset({"k1", "k2"}))
    statuses = [client.get("/v1/models", headers={"X-API-Key": "k1"}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = client.get("/v1/models", headers={"X-API-Key": "k1"})
    assert limited.json()["error"]["code"] == "rate_limited" and int(limited.headers["retry-after"]) >= 1
    assert client.get("/v1/models", headers={"X-API-Key": "k2"}).status_code == 200


def test_cors_is_configurable(make_client) -> None:
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    allowed = make_client(cors_origins=("https://app.example",)).options("/v1/recognize", headers=preflight)
    assert allowed.headers.get("access-control-allow-origin") == "https://app.example"
    closed = make_client().options("/v1/recognize", headers=preflight)
    assert "access-control-allow-origin" not in closed.headers


def _wait_for(client: TestClient, job_id: str, seconds: float = 60) -> dict:
    """Poll the job until it ends, twice a second: within the default 120 requests a minute however long
    the job takes on a busy machine."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        response = client.get(f"/v1/jobs/{job_id}")
        assert response.status_code == 200, response.text
        job = response.json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def test_job_lifecycle(make_client, clip_bytes: bytes, tmp_path: Path) -> None:
    client = make_client()
    created = _upload(client, clip_bytes, path="/v1/jobs?top_k=3")
    assert created.status_code == 202 and created.json()["status"] == "queued" and "upload" not in created.json()
    job = _wait_for(client, created.json()["id"])
    assert job["status"] == "done" and job["progress"] == 1.0
    assert not list((tmp_path / "data" / "uploads").glob("*"))  # the video goes once the result is stored
    assert len(job["result"]["results"][0]["predictions"]) == 3
    assert client.delete(f"/v1/jobs/{job['id']}").json() == {"deleted": job["id"]}
    assert client.get(f"/v1/jobs/{job['id']}").status_code == 404


def test_jobs_survive_a_restart(tmp_path: Path, clip_bytes: bytes, recognizer: Recognizer) -> None:
    settings = ServerSettings(data_dir=tmp_path / "data", model="traduttore16")
    # a server accepted two jobs and died: one still queued, one half way through
    store = JobStore(settings.jobs_database)
    uploads = []
    for name in ("queued.mp4", "running.mp4"):
        path = settings.uploads_dir / f"{name}.upload"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(clip_bytes)
        uploads.append(store.create(name, path, 5))
    store.claim_next()
    store.update(uploads[1].id, status="running", progress=0.4)
    store.close()

    with TestClient(create_app(settings, recognizer=recognizer)) as client:
        queued, running = (_wait_for(client, job.id) for job in uploads)
    assert queued["status"] == running["status"] == "done"
    notes = {queued["note"], running["note"]}
    assert "interrupted by a server restart and queued again" in notes
    with TestClient(create_app(settings, recognizer=recognizer)) as client:  # and results outlive the server
        assert client.get(f"/v1/jobs/{uploads[0].id}").json()["result"] == queued["result"]


def _jpeg(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def test_stream_real_frames_gives_predictions_and_overlay(make_client, both_hands_clip: Path) -> None:
    client = make_client()
    frames = list(read_frames(both_hands_clip))
    with client.websocket_connect("/v1/stream") as ws:
        ready = ws.receive_json()
        assert ready["type"] == "ready" and ready["schema"] == 1 and ready["window_frames"] == 20
        ws.send_text(json.dumps({"type": "config", "top_k": 3}))
        ws.send_bytes(struct.pack("<d", frames[0].time) + _jpeg(frames[0].image))
        messages = [ws.receive_json()]  # the first frame's overlay: the server's MediaPipe graph is ready
        for frame in frames[1:]:
            ws.send_bytes(struct.pack("<d", frame.time) + _jpeg(frame.image))
            time.sleep(1 / 15)
        # the last frame is always processed, and its prediction sent even when the rate held it back
        while not any(m["type"] == "prediction" and m["t"] == frames[-1].time for m in messages):
            messages.append(ws.receive_json())
    overlays = [m for m in messages if m["type"] == "landmarks"]
    assert overlays and len(overlays[-1]["pose"]) == 33 and all(0 <= v <= 1.5 for v in overlays[-1]["pose"][0])
    predictions = [m for m in messages if m["type"] == "prediction"]
    last = predictions[-1]
    assert len(last["top_k"]) == 3 and last["window"]["frames"] <= 20
    assert last["window"]["start"] < last["window"]["end"] == last["t"]
    counts = last["frames"]
    assert counts["processed"] + counts["dropped"] <= counts["received"] <= len(frames)


def test_stream_follows_a_signer_small_in_a_720p_frame(make_client, wlasl100_csv: Path, tmp_path: Path) -> None:
    """A webcam's 720p frames with the signer sitting back: the server finds them after a few frames
    (``SignerFraming``) and the overlay shows their body where they are in the whole frame."""
    from signscribe.evaluation.camera import VIEWS

    webcam = VIEWS["webcam_720p"].render(wlasl100_csv.parent / "videos" / "06362.mp4", tmp_path / "06362_720p.mp4")
    frames = list(read_frames(webcam))
    client = make_client()
    with client.websocket_connect("/v1/stream") as ws:
        assert ws.receive_json()["type"] == "ready"
        for frame in frames:
            ws.send_bytes(struct.pack("<d", frame.time) + _jpeg(frame.image))
            time.sleep(1 / 15)
        overlays = []
        while not overlays or overlays[-1]["t"] < frames[-1].time:
            message = ws.receive_json()
            if message["type"] == "landmarks":
                overlays.append(message)
    assert overlays[0]["pose"] is None  # the whole frame, before the search
    found = [m for m in overlays if m["pose"] is not None]
    assert len(found) > len(overlays) / 2
    shoulders = np.array([m["pose"][11] for m in found] + [m["pose"][12] for m in found])
    assert (shoulders[:, 0] > 0.15).all() and (shoulders[:, 0] < 0.45).all() and (shoulders[:, 1] > 0.5).all()


def _send_landmarks(ws, sequence: PoseSequence, frames: Iterable[int], fps: float, start: float = 0.0) -> float:
    """Send frames of ``sequence`` (in pixels) as a client running MediaPipe would, its normalised
    landmarks, one message a frame at ``fps`` from time ``start``; returns the last one's time."""
    t = start
    for count, index in enumerate(frames):
        t = start + count / fps
        ws.send_text(json.dumps({**landmarks_message(sequence, index), "t": t}))
        time.sleep(0.02)
    return t


def _prediction_at(ws, t: float) -> dict:
    message = ws.receive_json()
    while not (message["type"] == "prediction" and message["t"] == t):
        message = ws.receive_json()
    return message


def test_stream_landmarks_from_a_client_running_mediapipe(make_client, keypoints_archive: Path) -> None:
    """A client sends MediaPipe's normalised landmarks (here: a real traduttore 'hello')."""
    sample = next(s for s in read_mp_data(keypoints_archive).samples if s.id == "hello/75")
    sequence = load_mp_sequence(sample.path)
    client = make_client()
    with client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        message = _prediction_at(ws, _send_landmarks(ws, sequence, range(sequence.num_frames), 30))
    assert message["signing"] is True and message["top_k"][0]["gloss"] == "hello"
    assert message["window"]["frames"] == min(20, message["frames"]["processed"])


def test_the_last_frame_gets_the_prediction_the_rate_held_back(make_client, keypoints_archive: Path) -> None:
    """At one prediction a second, 20 frames at 30 fps give the first window's prediction and, once
    the client stops sending, the one the rate held back for its last frame."""
    sample = next(s for s in read_mp_data(keypoints_archive).samples if s.id == "hello/75")
    sequence = load_mp_sequence(sample.path)
    client = make_client()
    with client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        ws.send_text(json.dumps({"type": "config", "rate": 1}))
        last = _send_landmarks(ws, sequence, range(20), 30)
        predictions = []
        while not predictions or predictions[-1]["t"] < last:
            message = ws.receive_json()
            if message["type"] == "prediction":
                predictions.append(message)
    assert len(predictions) == 2 and predictions[1]["t"] == predictions[1]["window"]["end"] == last
    assert predictions[1]["top_k"][0]["gloss"] == "hello"


def test_stream_says_no_sign_while_the_signer_rests_with_hands_in_view(make_client, wlasl_dir: Path) -> None:
    """A real WLASL clip whose signer ends at rest, hands at the waist: the sign, then the rest held."""
    sequence = HolisticExtractor(cache=PoseCache()).extract(wlasl_dir / "clips" / "10520.mp4")
    rest = list(range(sequence.num_frames - 12, sequence.num_frames))
    client = make_client()
    with client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        signed_until = _send_landmarks(ws, sequence, range(8, 28), sequence.fps)
        signing = _prediction_at(ws, signed_until)
        rested_until = _send_landmarks(ws, sequence, rest + rest[::-1], sequence.fps, signed_until + 1 / sequence.fps)
        resting = _prediction_at(ws, rested_until)
    assert signing["signing"] is True and len(signing["top_k"]) == 5
    assert resting["signing"] is False and resting["top_k"] == [] and resting["window"]["frames"] == 20


def test_stream_reports_bad_messages_and_goes_on(make_client) -> None:
    client = make_client()
    with client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        ws.send_text("{not json")
        assert ws.receive_json()["code"] == "bad_json"
        ws.send_text(json.dumps({"type": "dance", "t": 1}))
        assert ws.receive_json()["code"] == "bad_message"
        ws.send_text(json.dumps({"type": "frame", "jpeg": "aGVsbG8="}))
        assert "t: Field required" in ws.receive_json()["message"]
        ws.send_bytes(struct.pack("<d", 0.5) + b"definitely not a jpeg")
        assert ws.receive_json()["code"] == "bad_frame"
        ws.send_text(json.dumps({"type": "landmarks", "t": 1, "pose": [[0, 0, 0]] * 5}))
        assert ws.receive_json()["code"] == "bad_landmarks"
        ws.send_bytes(b"x" * (3 * 1024 * 1024))
        assert ws.receive_json()["code"] == "too_large"
        ws.send_text(json.dumps({"type": "landmarks", "t": 2, "pose": None, "left_hand": None, "right_hand": None}))
        assert ws.receive_json()["type"] == "landmarks"


def test_stream_drops_frames_when_behind(make_client, both_hands_clip: Path) -> None:
    client = make_client()
    frames = [_jpeg(frame.image) for frame in read_frames(both_hands_clip)]
    with client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        sent = 0
        for _ in range(12):  # bursts of 8 frames at once, far faster than MediaPipe runs
            for _ in range(8):
                ws.send_bytes(struct.pack("<d", sent / 15) + frames[sent % len(frames)])
                sent += 1
            time.sleep(0.25)
        time.sleep(0.5)
        ws.send_text(json.dumps({"type": "landmarks", "t": 99.0, "pose": None, "left_hand": None, "right_hand": None}))
        last = None
        while True:
            message = ws.receive_json()
            if message["type"] == "prediction":
                last = message
            if message.get("t") == 99.0 and message["type"] == "landmarks":
                break
    assert last is not None and last["frames"]["dropped"] > 0
    assert last["frames"]["processed"] + last["frames"]["dropped"] <= last["frames"]["received"] == sent


def test_live_streams_are_capped(make_client) -> None:
    from starlette.websockets import WebSocketDisconnect

    client = make_client(stream_max_connections=1)
    with client.websocket_connect("/v1/stream") as first:
        assert first.receive_json()["type"] == "ready"
        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/v1/stream") as second:
            second.receive_json()
        assert refused.value.code == 1013
    with client.websocket_connect("/v1/stream") as again:  # the slot is free once the first closes
        assert again.receive_json()["type"] == "ready"


def test_rate_limiter_window_and_idle_clients(monkeypatch) -> None:
    from signscribe.serving import security
    from signscribe.serving.security import ApiError, RateLimiter

    clock = [1000.0]
    monkeypatch.setattr(security.time, "monotonic", lambda: clock[0])
    limiter = RateLimiter(2)
    limiter.check("a")
    limiter.check("b")
    limiter.check("a")
    with pytest.raises(ApiError, match="more than 2 requests a minute"):
        limiter.check("a")
    clock[0] += 61  # a minute later the window is free again and idle clients are forgotten
    limiter.check("c")
    assert set(limiter._seen) == {"c"}
    limiter.check("c")


@pytest.fixture(scope="module")
def sentence_bytes(how2sign_dir: Path) -> bytes:
    """A real How2Sign sentence clip (continuous signing, 189 frames)."""
    return (how2sign_dir / "clips" / "-d5dN54tH2E_0-1-rgb_front.mp4").read_bytes()


def test_transcribe_endpoint_matches_the_transcriber(make_client, sentence_bytes: bytes, tmp_path: Path) -> None:
    from signscribe.inference import Transcriber

    client = make_client()
    response = _upload(client, sentence_bytes, name="../sentence.mp4", path="/v1/transcribe")
    assert response.status_code == 200, response.text
    body = response.json()
    video = tmp_path / "sentence.mp4"
    video.write_bytes(sentence_bytes)
    expected = Transcriber.from_pretrained("traduttore16").transcribe(video)
    assert body["source"] == "sentence.mp4" and body["frames"] == 189
    assert [(s["start"], s["end"], s["gloss"]) for s in body["segments"]] == [
        (s.start, s.end, s.gloss) for s in expected.segments
    ]
    vtt = _upload(client, sentence_bytes, path="/v1/transcribe?format=vtt&min_confidence=0.7")
    assert vtt.status_code == 200 and vtt.headers["content-type"].startswith("text/vtt")
    assert vtt.text.startswith("WEBVTT\n\n1\n") and vtt.text.count(" --> ") == sum(
        s.confidence >= 0.7 for s in expected.segments
    )
    bad = _upload(client, sentence_bytes, path="/v1/transcribe?format=docx")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"
    assert not list((tmp_path / "data" / "uploads").glob("*"))


def test_transcribe_job(make_client, sentence_bytes: bytes) -> None:
    client = make_client()
    created = _upload(client, sentence_bytes, name="talk.mp4", path="/v1/jobs?kind=transcribe&min_confidence=0.6")
    assert created.status_code == 202 and created.json()["kind"] == "transcribe"
    job = _wait_for(client, created.json()["id"])
    assert job["status"] == "done", job
    result = job["result"]
    assert result["source"] == "talk.mp4" and result["frames"] == 189 and result["segments"]
    assert all(segment["confidence"] >= 0.6 for segment in result["segments"])
    assert job["options"] == {"min_confidence": 0.6}


def test_a_jobs_database_from_before_job_kinds_is_upgraded(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "jobs.sqlite3"
    connection = sqlite3.connect(path)
    connection.execute(
        "CREATE TABLE jobs (id TEXT PRIMARY KEY, status TEXT NOT NULL, progress REAL NOT NULL DEFAULT 0, "
        "filename TEXT NOT NULL, upload TEXT NOT NULL, top_k INTEGER NOT NULL, result TEXT, error TEXT, "
        "note TEXT, created REAL NOT NULL, updated REAL NOT NULL)"
    )
    connection.execute(
        "INSERT INTO jobs VALUES ('old', 'done', 1, 'a.mp4', 'x', 5, '{\"results\": []}', NULL, NULL, 1, 1)"
    )
    connection.commit()
    connection.close()
    store = JobStore(path)
    old = store.get("old")
    assert old is not None and (old.kind, old.result, old.options) == ("recognize", {"results": []}, None)
    new = store.create("b.mp4", tmp_path / "b", 5, "transcribe", {"min_confidence": 0.4})
    assert (new.kind, new.options) == ("transcribe", {"min_confidence": 0.4})
    store.close()


@pytest.mark.parametrize("package", ["holistic", "onnxruntime"])
def test_a_browser_runtime_is_refused_unless_it_matches_the_registrys_integrity(package: str, tmp_path: Path) -> None:
    from signscribe.errors import SignscribeError
    from signscribe.serving.web_assets import PACKAGES

    (chosen,) = [p for p in PACKAGES if p.folder == package]
    with pytest.raises(SignscribeError, match="does not match the registry's integrity sha512-"):
        chosen.fetch(tmp_path, tarball=b"not the release")
    assert not (tmp_path / package).exists() and not chosen.installed(tmp_path)
