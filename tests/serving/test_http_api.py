"""REST recognition, transcription and the sign bank's routes: answers like the command line's, bad uploads
refused early and clearly, and work bounded by a clip's length, time and queue."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from dataclasses import asdict
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from service_client import upload, upload_files, wait_for_job
from starlette.websockets import WebSocketDisconnect

from conftest import tiny_long_video
from signscribe.inference import Recognizer
from signscribe.pose import PoseSequence
from signscribe.serving import ServerSettings, create_app

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


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


def test_recognize_real_clip_like_the_cli(
    make_client, clip_bytes: bytes, serving_recognizer: Recognizer, wlasl_dir
) -> None:
    response = upload(make_client(), clip_bytes, name="../../etc/passwd/clip.mp4")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["failed"] == [] and body["results"][0]["video"] == "clip.mp4"  # no client path survives
    predictions = body["results"][0]["predictions"]
    expected = serving_recognizer.predict(wlasl_dir / "clips" / "01586.mp4", top_k=5)
    assert [p["rank"] for p in predictions] == [1, 2, 3, 4, 5]
    assert [p["gloss"] for p in predictions] == [p.gloss for p in expected]
    top3 = upload(make_client(), clip_bytes).request.url  # same server, other top_k below
    assert top3.path == "/v1/recognize"


def test_the_browser_model_is_the_served_model_as_onnx(
    make_client, serving_recognizer: Recognizer, both_hands_pose: PoseSequence, tmp_path: Path
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
    assert model.metadata()[1] == serving_recognizer.labels
    inputs = serving_recognizer.model_inputs(serving_recognizer.prepare([both_hands_pose]))
    np.testing.assert_allclose(
        model(*inputs).numpy(), serving_recognizer.loaded.model(*inputs).detach().numpy(), atol=1e-4
    )
    from_file = make_client(model=str(exported), data_dir=tmp_path / "other")
    assert from_file.get("/v1/browser-model").content == response.content
    missing = client.get("/v1/browser-model", params={"model": "nope"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"


def test_every_bundled_model_is_offered_and_chosen_per_request(
    make_client, clip_bytes: bytes, wlasl_dir: Path, tmp_path: Path
) -> None:

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
        (upload(client, b"just some notes\n" * 20, name="notes.mp4"), 415, "not_a_video"),
        (upload(client, b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100), 415, "not_a_video"),
        (upload(client, b""), 400, "empty_upload"),
        (upload(client, clip_bytes), 413, "upload_too_large"),
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


def test_transcribe_endpoint_matches_the_transcriber(make_client, sentence_bytes: bytes, tmp_path: Path) -> None:
    from signscribe.inference import Transcriber

    client = make_client()
    response = upload(client, sentence_bytes, name="../sentence.mp4", path="/v1/transcribe")
    assert response.status_code == 200, response.text
    body = response.json()
    video = tmp_path / "sentence.mp4"
    video.write_bytes(sentence_bytes)
    expected = Transcriber.from_pretrained("traduttore16").transcribe(video)
    assert body["source"] == "sentence.mp4" and body["frames"] == 189
    assert [(s["start"], s["end"], s["gloss"]) for s in body["segments"]] == [
        (s.start, s.end, s.gloss) for s in expected.segments
    ]
    vtt = upload(client, sentence_bytes, path="/v1/transcribe?format=vtt&min_confidence=0.7")
    assert vtt.status_code == 200 and vtt.headers["content-type"].startswith("text/vtt")
    assert vtt.text.startswith("WEBVTT\n\n1\n") and vtt.text.count(" --> ") == sum(
        s.confidence >= 0.7 for s in expected.segments
    )
    bad = upload(client, sentence_bytes, path="/v1/transcribe?format=docx")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"
    assert not list((tmp_path / "data" / "uploads").glob("*"))


@pytest.mark.parametrize("package", ["holistic", "hands", "onnxruntime"])
def test_a_browser_runtime_is_refused_unless_it_matches_the_registrys_integrity(package: str, tmp_path: Path) -> None:
    from signscribe.errors import SignscribeError
    from signscribe.serving.web_assets import PACKAGES

    (chosen,) = [p for p in PACKAGES if p.folder == package]
    with pytest.raises(SignscribeError, match="does not match the registry's integrity sha512-"):
        chosen.fetch(tmp_path, tarball=b"not the release")
    assert not (tmp_path / package).exists() and not chosen.installed(tmp_path)


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


def test_unexpected_errors_are_json(make_client, monkeypatch) -> None:
    client = make_client()
    client.app.state.models.describe = lambda: 1 / 0
    with TestClient(client.app, raise_server_exceptions=False) as raw:
        response = raw.get("/v1/models")
    assert response.status_code == 500 and response.json()["error"]["code"] == "internal_error"


def test_recognitions_are_queued_with_a_bound(make_client, clip_bytes: bytes) -> None:
    client = make_client(max_concurrent_recognitions=1, max_waiting_recognitions=0)
    queue = client.app.state.recognitions
    first: list[httpx.Response] = []
    runner = threading.Thread(target=lambda: first.append(upload(client, clip_bytes)))
    runner.start()
    deadline = time.monotonic() + 30
    while queue.admitted == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    busy = upload(client, clip_bytes)  # extraction of the first (a cold cache) takes seconds
    runner.join()
    assert busy.status_code == 503 and busy.json()["error"]["code"] == "busy" and busy.headers["retry-after"]
    assert first[0].status_code == 200 and queue.admitted == 0
    assert upload(client, clip_bytes).status_code == 200  # the slot is free again


def test_a_clip_without_a_person_is_no_signer_on_every_path(make_client, empty_scene_video: Path) -> None:
    client = make_client()
    data = empty_scene_video.read_bytes()
    refused = upload(client, data)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "no_signer"
    assert "no signer found" in refused.json()["error"]["message"]
    job = wait_for_job(client, upload(client, data, "/v1/jobs").json()["id"])
    assert job["status"] == "failed" and "no signer found" in job["error"] and job["result"] is None


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


def test_deleting_a_sign_answers_while_another_is_being_taught(make_client, sentence_bytes: bytes, clip_bytes: bytes):
    client = make_client()
    assert client.post("/v1/bank/signs?gloss=agreement", files=upload_files(clip_bytes)).status_code == 200
    teaching: dict = {}
    thread = threading.Thread(
        target=lambda: teaching.update(r=client.post("/v1/bank/signs?gloss=long", files=upload_files(sentence_bytes)))
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


def test_a_clip_longer_than_the_limits_is_refused_from_its_header(make_client, tmp_path: Path) -> None:
    client = make_client()
    long_video = tiny_long_video(tmp_path / "long.mp4", 700).read_bytes()  # 700 s in a few kB
    assert len(long_video) < 100_000
    started = time.perf_counter()
    for path in ("/v1/recognize", "/v1/transcribe", "/v1/jobs", "/v1/bank/signs?gloss=x", "/v1/bank/recognize"):
        response = client.post(path, files=upload_files(long_video))
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


def test_a_request_past_its_time_limit_stops_and_frees_its_slot(make_client, sentence_bytes: bytes) -> None:
    client = make_client(request_time_limit_seconds=1, max_concurrent_recognitions=1, max_waiting_recognitions=0)
    started = time.perf_counter()
    response = client.post("/v1/recognize", files=upload_files(sentence_bytes))
    assert response.status_code == 422 and response.json()["error"]["code"] == "time_limit_exceeded"
    assert "POST /v1/jobs" in response.json()["error"]["message"]
    assert time.perf_counter() - started < 6
    assert client.app.state.recognitions.admitted == 0
    assert not list(client.app.state.settings.uploads_dir.glob("*"))


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
    assert client.post("/v1/jobs", files=upload_files(clip_bytes)).status_code == 202  # hashes the clip in a thread
    assert time.perf_counter() - started < 1.5
    for thread in waiting:
        thread.join(30)
    assert answers == [b"onnx"] * 10 and len(exports) == 1


def test_small_findings(make_client, clip_bytes: bytes, tmp_path: Path) -> None:
    client = make_client()
    spaces = client.post("/v1/bank/signs?gloss=%20%20%20", files=upload_files(clip_bytes))
    assert spaces.status_code == 422 and spaces.json()["error"]["code"] == "invalid_request"
    gif = b"GIF89a" + bytes(600)
    assert client.post("/v1/recognize", files=upload_files(gif)).json()["error"]["code"] == "not_a_video"
    assert client.post("/v1/recognize", files=upload_files(b"G" + bytes(600))).status_code == 415


def _photo(data: bytes, name: str = "hand.jpg") -> dict:
    return {"file": (name, data, "image/jpeg")}


def test_a_photo_is_answered_with_ranked_letters(make_client, letter_photos: Path, tmp_path: Path) -> None:
    from PIL import Image

    client = make_client()
    photo = (letter_photos / "test" / "images" / "V10.jpg").read_bytes()
    answer = client.post("/v1/recognize?labels=letters&top_k=3", files=_photo(photo, "v.jpg"))
    assert answer.status_code == 200, answer.text
    predictions = answer.json()["results"][0]["predictions"]
    assert predictions[0]["gloss"] == "V" and [p["gloss"].isalpha() for p in predictions] == [True] * 3
    digits = client.post("/v1/recognize?labels=2,6,0", files=_photo(photo)).json()["results"][0]["predictions"]
    assert {p["gloss"] for p in digits} == {"2", "6", "0"}
    Image.fromarray(np.full((90, 120, 3), 210, np.uint8)).save(tmp_path / "wall.png")
    wall = client.post("/v1/recognize", files=_photo((tmp_path / "wall.png").read_bytes(), "wall.png"))
    assert wall.status_code == 422 and wall.json()["error"] == {
        "code": "no_hand",
        "message": "wall.png: no hand found in this photo",
    }
    unknown = client.post("/v1/recognize?labels=vowels", files=_photo(photo))
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_labels"
    video_model = client.post("/v1/recognize?model=traduttore16", files=_photo(photo, "v.jpg"))
    assert video_model.status_code == 422 and "--model fingerspelling" in video_model.json()["error"]["message"]


def test_a_huge_photo_is_refused_from_its_header(make_client, tmp_path: Path) -> None:
    from PIL import Image

    Image.new("1", (10_000, 6_000)).save(tmp_path / "huge.png")  # 60 megapixels in a few kilobytes
    client = make_client()
    refused = client.post("/v1/recognize", files=_photo((tmp_path / "huge.png").read_bytes(), "huge.png"))
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "image_too_large"
    assert "10000x6000" in refused.json()["error"]["message"]
    assert not list((tmp_path / "data" / "uploads").glob("*"))  # nothing left behind


def test_a_photo_job_gives_its_letters(make_client, letter_photos: Path) -> None:
    client = make_client()
    photo = (letter_photos / "test" / "images" / "V10.jpg").read_bytes()
    created = client.post("/v1/jobs?labels=letters", files=_photo(photo, "v.jpg"))
    assert created.status_code == 202, created.text
    job = wait_for_job(client, created.json()["id"])
    assert job["status"] == "done", job
    assert job["result"]["results"][0]["predictions"][0]["gloss"] == "V"
