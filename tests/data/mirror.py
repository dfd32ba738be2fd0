"""A local mirror of video hosts for the downloader's tests: real files served on the loopback (threads)
with the misbehaviours of real hosts, chosen by the URL's first part: ``/<behaviour>/<name>``; and
WLASL JSON files that point at it."""

from __future__ import annotations

import csv
import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BEHAVIOURS = {
    "ok": "200, or 206 to a Range",
    "norange": "200 and the whole file, whatever the Range",
    "404": "404 Not Found",
    "410": "410 Gone",
    "flaky": "500 the first time, then as ok",
    "limited": "429 with Retry-After: 1 the first time, then as ok",
    "cut": "the connection cut halfway the first time, then as ok",
    "html": "an HTML 'video unavailable' page with status 200",
    "loop": "a redirect to itself",
    "slow": "no answer for 5 seconds",
    "notvideo": "200 video/mp4 whose bytes are not a video",
    "empty": "200 video/mp4 with 0 bytes",
    "truncated": "200 video/mp4: the first 40% of the file, its length declared",
    "page": "an HTML page with a <video> of the file (for yt-dlp)",
    "trickle": "as ok, 8 KiB every 0.3 s",
}
UNAVAILABLE = b"<!DOCTYPE html><html><body><h1>This video is unavailable</h1></body></html>"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up mid-answer (a cut or killed download) is no error of the mirror's."""


class Mirror:
    """``url(behaviour, name)`` for each file in ``files`` (name -> path); ``requests`` counts each
    path asked."""

    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files
        self.requests: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), self._handler())

    def url(self, behaviour: str, name: str) -> str:
        assert behaviour in BEHAVIOURS, behaviour
        page = ".html" if behaviour == "page" else ""
        return f"http://127.0.0.1:{self.server.server_address[1]}/{behaviour}/{name}{page}"

    def _count(self, path: str) -> int:
        with self._lock:
            self.requests[path] += 1
            return self.requests[path]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None: ...

            def do_GET(self) -> None:
                _, behaviour, name = self.path.split("/", 2)
                name = name.removesuffix(".html") if behaviour == "page" else name
                times = mirror._count(self.path)
                data = mirror.files[name].read_bytes() if name in mirror.files else b""
                if behaviour in ("404", "410") or name not in mirror.files:
                    return self._send(int(behaviour) if behaviour in ("404", "410") else 404, b"no", "text/plain")
                if behaviour == "flaky" and times == 1:
                    return self._send(500, b"oops", "text/plain")
                if behaviour == "limited" and times == 1:
                    return self._send(429, b"slow down", "text/plain", {"Retry-After": "1"})
                if behaviour == "html":
                    return self._send(200, UNAVAILABLE, "text/html; charset=utf-8")
                if behaviour == "loop":
                    return self._send(302, b"", "text/plain", {"Location": self.path})
                if behaviour == "slow":
                    time.sleep(5)
                if behaviour == "notvideo":
                    return self._send(200, b"GIF89a not a video at all " * 40, "video/mp4")
                if behaviour == "empty":
                    return self._send(200, b"", "video/mp4")
                if behaviour == "truncated":
                    return self._send(200, data[: len(data) * 2 // 5], "video/mp4")
                if behaviour == "page":
                    page = (
                        f'<html><head><title>{name}</title></head><body><video src="/ok/{name}"></video></body></html>'
                    )
                    return self._send(200, page.encode(), "text/html")
                if behaviour == "cut" and times == 1:
                    return self._cut(data)
                start = self._range_start() if behaviour != "norange" else None
                if start is not None and start >= len(data):
                    return self._send(416, b"", "text/plain", {"Content-Range": f"bytes */{len(data)}"})
                if start is None:
                    return self._send(200, data, "video/mp4", trickle=behaviour == "trickle")
                ranged = {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"}
                return self._send(206, data[start:], "video/mp4", ranged, trickle=behaviour == "trickle")

            def _range_start(self) -> int | None:
                value = self.headers.get("Range", "")
                if value.startswith("bytes=") and value.endswith("-"):
                    return int(value[6:-1])
                return None

            def _cut(self, data: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "video/mp4")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True

            def _send(
                self, status: int, body: bytes, kind: str, headers: dict[str, str] | None = None, trickle: bool = False
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                step = 1 << 13 if trickle else max(len(body), 1)
                for offset in range(0, len(body), step):
                    self.wfile.write(body[offset : offset + step])
                    if trickle:
                        self.wfile.flush()
                        time.sleep(0.3)

        return Handler


def wlasl_json(folder: Path, instances: list[dict], name: str = "WLASL_v0.3.json") -> Path:
    """A copy of WLASL's JSON layout for ``instances`` (each with a ``gloss``), grouped by gloss."""
    entries: dict[str, list[dict]] = {}
    for number, instance in enumerate(instances):
        fields = {"bbox": [0, 0, 256, 256], "fps": 25, "frame_start": 1, "frame_end": -1, "instance_id": number,
                  "signer_id": 1, "source": "mirror", "split": "train", "variation_id": 0}  # fmt: skip
        given = {key: value for key, value in instance.items() if key != "gloss"}
        entries.setdefault(instance["gloss"], []).append({**fields, **given})
    path = folder / name
    path.write_text(json.dumps([{"gloss": gloss, "instances": found} for gloss, found in entries.items()]))
    return path


def clips_of(wlasl100_csv: Path, count: int) -> list[dict[str, str]]:
    with wlasl100_csv.open(newline="") as file:
        rows = list(csv.DictReader(file))
    return [{**row, "file": str(wlasl100_csv.parent / row["path"])} for row in rows[:: len(rows) // count][:count]]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if p.is_file() and (".partial" in p.parts or p.name.startswith("."))]


@contextmanager
def serving(files: dict[str, Path]) -> Iterator[Mirror]:
    mirror = Mirror(files)
    thread = threading.Thread(target=mirror.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield mirror
    finally:
        mirror.server.shutdown()
        mirror.server.server_close()
