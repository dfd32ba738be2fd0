"""A cache of extracted poses keyed by the video's content hash, so a second run costs nothing."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from pathlib import Path

from signscribe.errors import PoseFileError
from signscribe.pose.posefile import load_pose, save_pose
from signscribe.pose.sequence import PoseSequence

_CHUNK = 1 << 20


def default_cache_dir() -> Path:
    """``$SIGNSCRIBE_CACHE_DIR``, else ``$XDG_CACHE_HOME/signscribe/poses``, else ``~/.cache/signscribe/poses``."""
    if configured := os.environ.get("SIGNSCRIBE_CACHE_DIR"):
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "signscribe" / "poses"


def content_hash(path: str | Path) -> str:
    """BLAKE2b of a file's bytes: the same video under another name or folder hits the same entry."""
    digest = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class PoseCache:
    """``.pose`` files stored under a key made of the video's content hash and the extraction options.

    Unbounded by default (a user's own cache); a server bounds its cache with ``max_bytes`` and
    ``max_age`` (seconds): each ``put`` then removes entries older than ``max_age``, and the oldest
    entries while the total is over ``max_bytes``."""

    def __init__(
        self, root: str | Path | None = None, max_bytes: int | None = None, max_age: float | None = None
    ) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()
        self.max_bytes, self.max_age = max_bytes, max_age
        self.hits = 0
        self.misses = 0

    def key(self, video: str | Path, options: dict[str, object]) -> str:
        return self.keys(video, options)[0]

    def keys(self, video: str | Path, *options: dict[str, object]) -> list[str]:
        """The key of ``video`` under each of ``options`` (the file is read once)."""
        video_digest = content_hash(video)
        digests = [hashlib.blake2b(json.dumps(o, sort_keys=True, default=str).encode(), digest_size=8) for o in options]
        return [f"{video_digest}-{digest.hexdigest()}" for digest in digests]

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.pose"

    def get(self, key: str, source: str, *alternatives: str) -> PoseSequence | None:
        """The cached sequence (with ``source`` set) of ``key``, or else of the first of ``alternatives``
        cached, or ``None`` (one miss); an unreadable entry counts as missing."""
        for candidate in (key, *alternatives):
            path = self._path(candidate)
            if path.is_file():
                try:
                    sequence = load_pose(path)
                except PoseFileError:
                    path.unlink(missing_ok=True)
                else:
                    self.hits += 1
                    return sequence.replace(source=source)
        self.misses += 1
        return None

    def put(self, key: str, sequence: PoseSequence) -> None:
        save_pose(sequence, self._path(key))
        if self.max_bytes is not None or self.max_age is not None:
            self.prune()

    def entries(self) -> list[Path]:
        return list(self.root.glob("??/*.pose"))

    def prune(self) -> None:
        """Remove entries past ``max_age``, then the oldest until the total fits ``max_bytes``."""
        now = time.time()
        aged = []
        for path in self.entries():
            with contextlib.suppress(FileNotFoundError):  # another process may prune at the same time
                status = path.stat()
                aged.append((status.st_mtime, status.st_size, path))
        aged.sort()
        total = sum(size for _, size, _ in aged)
        for modified, size, path in aged:
            too_old = self.max_age is not None and now - modified > self.max_age
            if not too_old and (self.max_bytes is None or total <= self.max_bytes):
                break
            path.unlink(missing_ok=True)
            total -= size

    def forget(self, video_hash: str) -> int:
        """Remove every entry of the video with this content hash (whatever its options); returns how many."""
        if not video_hash:
            return 0
        paths = list(self.root.glob(f"{video_hash[:2]}/{video_hash}-*.pose"))
        for path in paths:
            path.unlink(missing_ok=True)
        return len(paths)
