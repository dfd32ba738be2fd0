"""The command line under bad input, per finding of the hardening probe: output that stays parseable,
no file written where nobody asked, samples never dropped silently, and one clear line (with nothing
left behind) for truncated archives, tiny videos, bad settings and a busy port."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import av
import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from signscribe.cli import app


def _run(*args: object, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


def test_recognize_folder_json_on_stdout_is_valid_and_nothing_lands_in_the_current_folder(
    wlasl_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    folder = tmp_path / "clips"
    folder.mkdir()
    for clip in ("01586", "01065"):
        shutil.copy(wlasl_dir / "clips" / f"{clip}.mp4", folder)
    monkeypatch.chdir(tmp_path)
    result = _run("recognize", folder, "--format", "json", "--top-k", 2, "-m", "traduttore16")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)  # stdout holds the JSON and nothing else
    assert len(body["results"]) == 2 and not list(tmp_path.glob("*.txt"))
    top10 = tmp_path / "reports" / "top10.txt"
    result = _run("recognize", folder, "--format", "json", "-m", "traduttore16", "--results", top10)
    assert json.loads(result.stdout)["results"] and f"wrote {top10}" in result.stderr
    assert top10.read_text().count("=== ") == 2


def test_evaluate_counts_missing_samples_and_strict_makes_them_fatal(wlasl_dir: Path, tmp_path: Path) -> None:
    table = tmp_path / "eval.csv"
    clip = wlasl_dir / "clips" / "01586.mp4"
    table.write_text(f"path,label,split\n{clip},hello,test\nlost.mp4,thanks,test\n")
    result = _run("evaluate", "--data", f"csv:{table}", "-m", "traduttore16")
    assert result.exit_code == 0, result.output
    assert "1 sample(s) left out" in result.stderr and "1 with missing media" in result.stderr
    assert "lost.mp4" in result.stderr
    strict = _run("evaluate", "--data", f"csv:{table}", "-m", "traduttore16", "--strict")
    assert strict.exit_code == 1 and "--strict" in strict.stderr


def test_a_truncated_archive_is_one_line_and_leaves_nothing(keypoints_archive: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "MP_Data.tar.gz"
    data = keypoints_archive.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    cache = tmp_path / "cache" / "poses"
    for _ in range(2):
        result = _run("dataset", f"mp_data:{truncated}", env={"SIGNSCRIBE_CACHE_DIR": str(cache)})
        assert result.exit_code == 2 and "cannot unpack archive: the archive is truncated" in result.output
        assert "Aborted" not in result.output and len(result.output.strip().splitlines()) == 1
    leftovers = [p for p in tmp_path.rglob("*") if p.name.startswith(".unpack-")]
    assert not leftovers and not (tmp_path / "cache" / "archives").exists()  # under the configured dir only


def test_annotating_a_1x1_video_is_a_clear_error(tmp_path: Path) -> None:
    video = tmp_path / "one.mkv"
    with av.open(str(video), "w") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width = stream.height = 1
        stream.pix_fmt = "yuv444p"
        for _ in range(10):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.zeros((1, 1, 3), np.uint8), format="rgb24")))
        container.mux(stream.encode())
    result = _run("transcribe", video, "--annotate", tmp_path / "out.mp4")
    assert result.exit_code == 2 and "1x1 is too small to annotate" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.mkv"]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SIGNSCRIBE_MAX_UPLOAD_MB", "big", "SIGNSCRIBE_MAX_UPLOAD_MB='big': expected a number"),
        ("SIGNSCRIBE_RATE_LIMIT", "1.5", "SIGNSCRIBE_RATE_LIMIT='1.5': expected a whole number"),
        ("SIGNSCRIBE_API_KEYS_FILE", "/nonexistent/keys", "API key file not found"),
    ],
)
def test_serve_with_bad_settings_is_one_line(variable: str, value: str, message: str, tmp_path: Path) -> None:
    result = _run("serve", "--data-dir", tmp_path, env={variable: value})
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
