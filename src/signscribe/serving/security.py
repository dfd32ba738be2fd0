"""API keys, rate limits, and uploads that are size-limited and sniffed before anything reads them."""

from __future__ import annotations

import hmac
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Mapping
from pathlib import Path

from fastapi import Request, UploadFile

from signscribe.errors import VideoReadError
from signscribe.io import probe

CHUNK = 1 << 20
# Leading bytes of the containers we accept (ISO BMFF/QuickTime, Matroska/WebM, AVI, MPEG-PS/TS).
_SIGNATURES = (
    (4, b"ftyp"),
    (4, b"moov"),
    (4, b"mdat"),
    (4, b"wide"),
    (4, b"free"),
    (0, b"\x1a\x45\xdf\xa3"),
    (0, b"RIFF"),
    (0, b"\x00\x00\x01\xba"),
    (0, b"\x47"),
)


class ApiError(Exception):
    """An error answered as ``{"error": {"code", "message"}}`` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def presented_key(headers: Mapping[str, str], query_key: str | None = None) -> str | None:
    """The key from ``X-API-Key``, ``Authorization: Bearer``, or (WebSockets from browsers) the query."""
    key = headers.get("x-api-key")
    authorization = headers.get("authorization", "")
    if not key and authorization.lower().startswith("bearer "):
        key = authorization[7:].strip()
    return key or query_key


def check_key(keys: frozenset[str], key: str | None) -> None:
    """Raise 401 unless keys are off or ``key`` is one of them (compared in constant time)."""
    if not keys:
        return
    if not key:
        raise ApiError(401, "missing_api_key", "this server needs an API key: send it as the X-API-Key header")
    if not any(hmac.compare_digest(key.encode(), known.encode()) for known in keys):
        raise ApiError(401, "invalid_api_key", "the API key is not valid")


class RateLimiter:
    """At most ``limit`` requests a minute per identity (sliding window)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._pruned = time.monotonic()

    def check(self, identity: str) -> None:
        if self.limit <= 0:
            return
        now = time.monotonic()
        with self._lock:
            seen = self._seen[identity]
            while seen and now - seen[0] >= 60:
                seen.popleft()
            if now - self._pruned >= 60:  # forget clients idle for a minute, so the table stays small
                self._pruned = now
                for idle in [name for name, times in self._seen.items() if not times or now - times[-1] >= 60]:
                    del self._seen[idle]
                seen = self._seen[identity]
            if len(seen) >= self.limit:
                retry = max(1, int(60 - (now - seen[0])) + 1)
                raise ApiError(429, "rate_limited", f"more than {self.limit} requests a minute",
                               {"Retry-After": str(retry)})  # fmt: skip
            seen.append(now)


def identity(request: Request, key: str | None) -> str:
    return f"key:{key}" if key else f"address:{request.client.host if request.client else '?'}"


async def save_upload(upload: UploadFile, folder: Path, max_bytes: int) -> Path:
    """Stream an upload to a server-chosen name under ``folder``, stopping at ``max_bytes``; then check
    that it is a real video. The client's file name is never used as a path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.upload"
    size = 0
    try:
        with path.open("wb") as file:
            while chunk := await upload.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise ApiError(413, "upload_too_large", f"the upload is larger than {max_bytes} bytes")
                file.write(chunk)
        if size == 0:
            raise ApiError(400, "empty_upload", "the uploaded file is empty")
        sniff_video(path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def sniff_video(path: Path) -> None:
    """415 unless the file starts like a video container and FFmpeg finds a decodable video stream in it."""
    with path.open("rb") as file:
        head = file.read(16)
    if not any(head[offset : offset + len(magic)] == magic for offset, magic in _SIGNATURES):
        raise ApiError(415, "not_a_video", "the upload is not a video container (MP4, MOV, WebM, MKV, AVI or MPEG)")
    try:
        probe(path)
    except VideoReadError as error:
        raise ApiError(415, "not_a_video", f"the upload is not a readable video: {error.reason}") from error
