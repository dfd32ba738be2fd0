"""Uploads that are size-limited and sniffed before anything reads them, and the bounded queue of the
synchronous recognitions that read them."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import re
import shutil
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from fastapi import UploadFile

from signscribe.errors import VideoReadError
from signscribe.io import VideoInfo, probe
from signscribe.io.limits import ClipTooLongError
from signscribe.io.photos import ImageReadError, check_image, looks_like_image
from signscribe.serving.security import ApiError
from signscribe.serving.settings import ServerSettings

CHUNK = 1 << 20
# Leading bytes of the containers we accept (ISO BMFF/QuickTime, Matroska/WebM, AVI, MPEG-PS); an
# MPEG-TS file is recognised by its sync byte at the start of three 188-byte packets in a row.
_SIGNATURES = (
    (4, b"ftyp"),
    (4, b"moov"),
    (4, b"mdat"),
    (4, b"wide"),
    (4, b"free"),
    (0, b"\x1a\x45\xdf\xa3"),
    (8, b"AVI "),
    (0, b"\x00\x00\x01\xba"),
)
_TS_PACKET = 188


def display_name(filename: str | None) -> str:
    """The client's file name for display only: no folders, no control characters, bounded length."""
    name = re.split(r"[\\/]", filename or "upload")[-1]
    return re.sub(r"[^\w.\- ]", "_", name)[:120] or "upload"


def too_large(max_bytes: int) -> ApiError:
    return ApiError(413, "upload_too_large", f"the upload is larger than {max_bytes} bytes")


def storage_full() -> ApiError:
    return ApiError(507, "storage_full", "the server's disk is full; try again later")


def free_bytes(settings: ServerSettings) -> int:
    """Free space on the disk of the server's data dir."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(settings.data_dir).free


def stored_bytes(folder: Path, uploads: Iterable[Path] | None = None) -> int:
    """The size of ``uploads`` (default: every upload in ``folder``)."""
    paths = folder.glob("*.upload") if uploads is None else uploads
    total = 0
    for path in paths:
        with contextlib.suppress(OSError):  # one deleted meanwhile
            total += path.stat().st_size
    return total


def check_storage(settings: ServerSettings) -> None:
    """507 when the disk has less than ``min_free_disk_bytes`` free, or the uploads on it pass
    ``max_stored_bytes``."""
    if free_bytes(settings) < settings.min_free_disk_bytes:
        raise storage_full()
    if stored_bytes(settings.uploads_dir) > settings.max_stored_bytes:
        megabytes = settings.max_stored_bytes // (1024 * 1024)
        raise ApiError(507, "storage_quota", f"the server's uploads fill the {megabytes} MB it keeps; try again later")


async def save_upload(upload: UploadFile, settings: ServerSettings) -> Path:
    """Stream an upload to a server-chosen name under the uploads folder, stopping at the upload limit
    and on a full disk (507); then check (in a thread: FFmpeg reads its header) that it is a real
    video within the clip limits, or a photo (JPEG, PNG, WebP) within the pixel limit. The client's
    file name is never used as a path; a refused upload leaves nothing behind."""
    folder, max_bytes = settings.uploads_dir, settings.max_upload_bytes
    folder.mkdir(parents=True, exist_ok=True)
    check_storage(settings)
    path = folder / f"{uuid.uuid4().hex}.upload"
    size = 0
    try:
        with open(path, "wb") as file:
            while chunk := await upload.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise too_large(max_bytes)
                file.write(chunk)
        if size == 0:
            raise ApiError(400, "empty_upload", "the uploaded file is empty")
        check_storage(settings)  # with this upload
        info = await asyncio.to_thread(sniff_media, path)
        if info is not None:
            settings.clip_limits.check(info)
    except ClipTooLongError as error:
        path.unlink(missing_ok=True)
        raise ApiError(422, "clip_too_long", f"the upload {error.reason}") from None
    except OSError as error:
        path.unlink(missing_ok=True)
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise storage_full() from None
        raise
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def sniff_media(path: Path) -> VideoInfo | None:
    """The video's header, or ``None`` for a photo whose header passes ``check_image`` (422 when it is
    too large, 415 when it is no image after all); 415 for anything else (``sniff_video``)."""
    with path.open("rb") as file:
        head = file.read(3 * _TS_PACKET)
    if not looks_like_image(head):
        return sniff_video(path, head)
    try:
        check_image(path)
    except ImageReadError as error:
        code = (422, "image_too_large") if error.too_large else (415, "not_a_video")
        raise ApiError(*code, f"the upload is not a usable photo: {error.reason}") from error
    return None


def sniff_video(path: Path, head: bytes) -> VideoInfo:
    """415 unless the file starts (``head``) like a video container and FFmpeg finds a decodable video
    stream in it."""
    transport_stream = len(head) == 3 * _TS_PACKET and head[0::_TS_PACKET] == b"GGG"
    if not transport_stream and not any(head[offset : offset + len(magic)] == magic for offset, magic in _SIGNATURES):
        kinds = "a video (MP4, MOV, WebM, MKV, AVI, MPEG) nor a photo (JPEG, PNG, WebP)"
        raise ApiError(415, "not_a_video", f"the upload is neither {kinds}")
    try:
        return probe(path)
    except VideoReadError as error:
        raise ApiError(415, "not_a_video", f"the upload is not a readable video: {error.reason}") from error


class WorkQueue:
    """At most ``running`` recognitions at once and ``waiting`` more in line, ``per_caller`` of them
    (running or waiting) for one caller; past that a request is refused at once with 503 and
    ``Retry-After``, so a burst cannot pile up memory and one caller cannot take every slot."""

    def __init__(self, running: int, waiting: int, per_caller: int | None = None) -> None:
        self.capacity = running + waiting
        self.per_caller = per_caller or self.capacity
        self.admitted = 0
        self.by_caller: Counter[str] = Counter()
        self._slots = asyncio.Semaphore(running)

    @contextlib.asynccontextmanager
    async def slot(self, caller: str = "") -> AsyncIterator[None]:
        if self.admitted >= self.capacity:
            raise ApiError(503, "busy", "the server is busy with other recognitions; try again shortly",
                           {"Retry-After": "2"})  # fmt: skip
        if self.by_caller[caller] >= self.per_caller:
            message = f"you have {self.per_caller} recognitions running or waiting, the most one caller may have"
            raise ApiError(503, "busy", f"{message}; try again once one is answered", {"Retry-After": "2"})
        self.admitted += 1
        self.by_caller[caller] += 1
        try:
            async with self._slots:
                yield
        finally:
            self.admitted -= 1
            self.by_caller[caller] -= 1
            if not self.by_caller[caller]:
                del self.by_caller[caller]
