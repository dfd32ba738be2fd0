"""Jobs: their lifecycle, restarts, bounds per key, time limits, full disks and what they leave behind."""

from __future__ import annotations

import builtins
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from service_client import upload, upload_files, wait_for_job

from signscribe.inference import Recognizer
from signscribe.serving import ServerSettings, create_app
from signscribe.serving.jobs import JobStore

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_job_lifecycle(make_client, clip_bytes: bytes, tmp_path: Path) -> None:
    client = make_client()
    created = upload(client, clip_bytes, path="/v1/jobs?top_k=3")
    assert created.status_code == 202 and created.json()["status"] == "queued" and "upload" not in created.json()
    job = wait_for_job(client, created.json()["id"])
    assert job["status"] == "done" and job["progress"] == 1.0
    assert not list((tmp_path / "data" / "uploads").glob("*"))  # the video goes once the result is stored
    assert len(job["result"]["results"][0]["predictions"]) == 3
    assert client.delete(f"/v1/jobs/{job['id']}").json() == {"deleted": job["id"]}
    assert client.get(f"/v1/jobs/{job['id']}").status_code == 404


def test_jobs_survive_a_restart(tmp_path: Path, clip_bytes: bytes, serving_recognizer: Recognizer) -> None:
    settings = ServerSettings(data_dir=tmp_path / "data", model="traduttore16", job_lease_seconds=1.0)
    # a server accepted two jobs and died: one still queued, one half way through (its heartbeat lapses)
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

    with TestClient(create_app(settings, recognizer=serving_recognizer)) as client:
        queued, running = (wait_for_job(client, job.id) for job in uploads)
    assert queued["status"] == running["status"] == "done"
    notes = {queued["note"], running["note"]}
    assert "interrupted by a server restart and queued again" in notes
    with TestClient(create_app(settings, recognizer=serving_recognizer)) as client:  # and results outlive the server
        assert client.get(f"/v1/jobs/{uploads[0].id}").json()["result"] == queued["result"]


def test_transcribe_job(make_client, sentence_bytes: bytes) -> None:
    client = make_client()
    created = upload(client, sentence_bytes, name="talk.mp4", path="/v1/jobs?kind=transcribe&min_confidence=0.6")
    assert created.status_code == 202 and created.json()["kind"] == "transcribe"
    job = wait_for_job(client, created.json()["id"])
    assert job["status"] == "done", job
    result = job["result"]
    assert result["source"] == "talk.mp4" and result["frames"] == 189 and result["segments"]
    assert all(segment["confidence"] >= 0.6 for segment in result["segments"])
    assert job["options"] == {"min_confidence": 0.6}
    srt = client.get(f"/v1/jobs/{job['id']}?format=srt")
    assert srt.status_code == 200 and srt.headers["content-type"].startswith("application/x-subrip")
    assert srt.text.startswith("1\n00:00:") and result["segments"][0]["gloss"] in srt.text
    vtt = client.get(f"/v1/jobs/{job['id']}?format=vtt")
    assert vtt.text.startswith("WEBVTT\n") and vtt.text.count(" --> ") == len(result["segments"])
    recognized = wait_for_job(client, upload(client, sentence_bytes, path="/v1/jobs").json()["id"])
    refused = client.get(f"/v1/jobs/{recognized['id']}?format=srt")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "no_transcript"


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


def test_a_full_disk_fails_in_json_and_the_worker_recovers(make_client, clip_bytes: bytes) -> None:
    client = make_client()
    store, worker = client.app.state.store, client.app.state.worker
    worker.retry_seconds = 0.2
    hold, process = threading.Event(), worker.process
    worker.process = lambda job: (hold.wait(60), process(job))  # the first job waits while the disk fills
    queued = [upload(client, clip_bytes, "/v1/jobs").json()["id"] for _ in range(3)]
    connection = store._connection
    with store._lock:
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        connection.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own "database or disk is full"
    for _ in range(100):
        response = upload(client, clip_bytes, "/v1/jobs")
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
        assert wait_for_job(client, job_id)["status"] == "done"
    assert worker.healthy and client.get("/readyz").status_code == 200


def test_no_job_is_accepted_while_no_worker_runs(make_client, clip_bytes: bytes) -> None:
    client = make_client()
    client.app.state.worker.stop()
    client.app.state.worker.join(5)
    response = upload(client, clip_bytes, "/v1/jobs")
    assert response.status_code == 503 and response.json()["error"]["code"] == "worker_unavailable"
    assert response.headers["retry-after"]


def test_the_service_caches_under_its_data_dir_and_deleting_a_job_deletes_its_landmarks(
    make_client, clip_bytes: bytes, tmp_path: Path
) -> None:
    client = make_client()
    cache_dir = tmp_path / "data" / "poses"
    job = wait_for_job(client, upload(client, clip_bytes, "/v1/jobs").json()["id"])
    assert job["status"] == "done" and len(list(cache_dir.glob("??/*.pose"))) == 1
    client.delete(f"/v1/jobs/{job['id']}")
    assert not list(cache_dir.glob("??/*.pose"))


def test_a_job_past_its_time_limit_fails_and_the_worker_goes_on(make_client, sentence_bytes, clip_bytes) -> None:
    client = make_client(job_time_limit_seconds=1)
    slow = client.post("/v1/jobs", files=upload_files(sentence_bytes)).json()["id"]
    failed = wait_for_job(client, slow)
    assert failed["status"] == "failed" and "longer than the 1 s allowed" in failed["error"]
    client.app.state.worker.time_limit = None  # a clip of a few seconds takes more than 1 s on a slow machine
    assert (
        wait_for_job(client, client.post("/v1/jobs", files=upload_files(clip_bytes)).json()["id"])["status"] == "done"
    )


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
    assert [client.post("/v1/jobs", files=upload_files(clip_bytes), headers=a).status_code for _ in range(2)] == [
        202,
        202,
    ]
    third = client.post("/v1/jobs", files=upload_files(clip_bytes), headers=a)
    assert third.status_code == 429 and third.json()["error"]["code"] == "too_many_jobs"
    assert client.post("/v1/jobs", files=upload_files(clip_bytes), headers=b).status_code == 202  # b has its own
    full = client.post("/v1/jobs", files=upload_files(clip_bytes), headers=b)  # 4 uploads: past the server's 3.5
    assert full.status_code == 507 and full.json()["error"]["code"] == "storage_quota"
    assert len(list(client.app.state.settings.uploads_dir.glob("*"))) == 3
    hold.set()
    per_key = make_client(api_keys=frozenset({"c"}), data_dir=tmp_path / "c", max_stored_bytes_per_key=int(size * 1.5))
    hold = _held(per_key)
    c = {"X-API-Key": "c"}
    assert per_key.post("/v1/jobs", files=upload_files(clip_bytes), headers=c).status_code == 202
    over = per_key.post("/v1/jobs", files=upload_files(clip_bytes), headers=c)
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
        response = client.post(path, files=upload_files(clip_bytes))  # the kernel's own ENOSPC
        assert response.status_code == 507 and response.json()["error"]["code"] == "storage_full"
    monkeypatch.undo()
    assert not list(client.app.state.settings.uploads_dir.glob("*"))
    client.app.state.settings.min_free_disk_bytes = 1 << 60  # more than any disk has
    assert client.post("/v1/recognize", files=upload_files(clip_bytes)).status_code == 507
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["disk"] is False


def test_uploads_left_by_a_killed_server_are_removed_at_start(make_client, tmp_path: Path) -> None:
    uploads = tmp_path / "data" / "uploads"
    uploads.mkdir(parents=True)
    (uploads / "0123abcd.upload").write_bytes(b"half an upload")
    client = make_client()
    assert not (uploads / "0123abcd.upload").exists()
    assert client.get("/healthz").status_code == 200
