"""What the service's tests do as a client: upload a clip, wait for a job, read JSON strictly."""

from __future__ import annotations

import io
import json
import struct
import time

import httpx
import numpy as np
from fastapi.testclient import TestClient
from PIL import Image


def upload_files(data: bytes, name: str = "clip.mp4") -> dict:
    """A multipart ``file`` field as the page and the README's curl send it."""
    return {"file": (name, data, "video/mp4")}


def upload(
    client: TestClient, data: bytes, path: str = "/v1/recognize", name: str = "clip.mp4", **headers: str
) -> httpx.Response:
    return client.post(path, files=upload_files(data, name), headers=headers)


def wait_for_job(client: TestClient, job_id: str, seconds: float = 60, **headers: str) -> dict:
    """The job once it is done or failed, asked for twice a second; a 429 (a long job's polls pass the
    server's rate limit) waits as its ``Retry-After`` says."""
    deadline = time.monotonic() + seconds
    while True:
        response = client.get(f"/v1/jobs/{job_id}", headers=headers)
        if response.status_code == 429:
            time.sleep(float(response.headers.get("Retry-After", 1)))
            continue
        job = response.json()
        assert response.status_code == 200, job
        if job["status"] in ("done", "failed"):
            return job
        assert time.monotonic() < deadline, f"job {job_id} did not finish: {job}"
        time.sleep(0.5)


def strict_json(text: str) -> dict:
    """JSON as the standard defines it: NaN and Infinity are not numbers."""

    def refuse(constant: str) -> None:
        raise AssertionError(f"invalid JSON constant {constant} in {text[:200]}")

    return json.loads(text, parse_constant=refuse)


def jpeg_frame(image: np.ndarray, t: float | None = None) -> bytes:
    """An RGB image as JPEG bytes; with ``t``, as the stream's binary frame (its timestamp first)."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue() if t is None else struct.pack("<d", t) + buffer.getvalue()
