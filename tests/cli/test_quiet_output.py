"""MediaPipe's native notices never reach the user: the command line's stderr keeps its progress bars and
summary and loses the XNNPACK and "Feedback manager" lines, in worker processes too."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from signscribe.native_log import NoiseFilter

NOTICES = ("XNNPACK", "Feedback manager", "W0000", "I0000", "absl::InitializeLog")


def test_the_filter_drops_notice_lines_and_passes_the_rest_at_once() -> None:
    noise = NoiseFilter()
    feedback = b"W0000 00:00:1796.22 21015 inference_feedback_manager.cc:114] Feedback manager requires...\n"
    assert noise.feed(b"\rextracting 3/12") == b"\rextracting 3/12", "a progress bar redraw passes at once"
    assert noise.feed(b"\n") == b"\n"
    # A notice split across reads, between real lines, and a line that only begins like one.
    assert noise.feed(b"done 1\nW00") == b"done 1\n"
    assert noise.feed(feedback[3:40]) == b""
    assert noise.feed(feedback[40:] + b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\nerror: x.mp4\n") == (
        b"error: x.mp4\n"
    )
    assert noise.feed(b"W00") == b"" and noise.feed(b"t, a word\n") == b"W00t, a word\n"
    assert noise.feed(b"INFO") == b"" and noise.flush() == b"INFO"


def test_the_filter_drops_rays_notices_and_keeps_its_errors() -> None:
    noise = NoiseFilter()
    info = b"[2026-12-06 18:16:50,921 I 25442 25442] logging.cc:303: Set ray log level from environment\n"
    pool = (b"[2026-12-06 18:16:25,047 E 24010 24010] core_worker.cc:2465: Actor with class name: 'MapWorker'"
            b" and ID: 'f7c8' has constructor arguments in the object store and max_restarts > 0.\n")  # fmt: skip
    error = b"[2026-12-06 18:16:25,047 E 24010 24010] raylet_client.cc:80: Failed to connect to the raylet\n"
    assert noise.feed(info[:20]) == b"" and noise.feed(info[20:] + pool) == b""
    assert noise.feed(error) == error
    assert noise.feed(b"[x] a line of a user's\n") == b"[x] a line of a user's\n"


def test_extract_on_real_clips_in_two_workers_prints_no_native_notices(wlasl_dir: Path, tmp_path: Path) -> None:
    clips = sorted((wlasl_dir / "clips").glob("6*.mp4"))[:4]
    command = [sys.executable, "-m", "signscribe", "extract", *map(str, clips), "--out", str(tmp_path / "poses"),
               "--workers", "2"]  # fmt: skip
    env = {**os.environ, "SIGNSCRIBE_CACHE_DIR": str(tmp_path / "cache")}
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "extracting" in result.stderr and f"done {len(clips)}" in output
    assert not any(notice in output for notice in NOTICES), output
