"""Decoded clips on disk (``train --frame-cache DIR``), so RGB training decodes each video once and
holds no clip in memory.

A frames model reads many decoded frames per clip: WLASL100 at MoViNet's input is about 10 MB a
clip, 20 GB for its 1,780 clips, more than a machine's memory. With a cache, each clip's decoded,
cropped and shrunk frames are an ``.npy`` file read back memory-mapped: the operating system pages
them in as examples are built and drops them under memory pressure. Entries are keyed by the
video's content hash and everything that shaped the frames (the range, the bbox, the pipeline's
decoding settings), written atomically (frames first, then the ``.json`` that makes them visible),
and an unreadable entry counts as a miss.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from signscribe.files import atomic_write, write_text_atomic
from signscribe.pose.cache import content_hash
from signscribe.pose.source import Clip


class FrameCache:
    """``<key>.npy`` (frames ``(n, height, width, 3)`` uint8) and ``<key>.json`` (their timing)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def key(self, clip: Clip, options: dict[str, Any]) -> str:
        shaping = {"selection": clip.selection(), "bbox": clip.bbox, **options}
        text = json.dumps(shaping, sort_keys=True, default=str)
        return f"{content_hash(clip.path)}-{hashlib.blake2b(text.encode(), digest_size=8).hexdigest()}"

    def _paths(self, key: str) -> tuple[Path, Path]:
        folder = self.root / key[:2]
        return folder / f"{key}.npy", folder / f"{key}.json"

    def get(self, key: str) -> tuple[np.ndarray, dict[str, Any]] | None:
        """The frames, memory-mapped read-only, and their timing; ``None`` when absent or unreadable."""
        frames_path, timing_path = self._paths(key)
        try:
            timing = json.loads(timing_path.read_text(encoding="utf-8"))
            frames = np.load(frames_path, mmap_mode="r")
        except (OSError, ValueError):
            return None
        if frames.ndim != 4 or len(frames) != timing.get("frames"):
            return None
        return frames, timing

    def put(self, key: str, frames: np.ndarray, timing: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
        """Store a clip's frames and timing; returns them as ``get`` will (memory-mapped). A cache that
        cannot be written (no permission, a full disk) stops the run: a ``ValueError`` naming it."""
        frames_path, timing_path = self._paths(key)
        try:
            with atomic_write(frames_path) as file:
                np.save(file, np.ascontiguousarray(frames))
            write_text_atomic(timing_path, json.dumps({**timing, "frames": len(frames)}))
        except OSError as error:
            raise ValueError(f"{self.root}: cannot write the frame cache ({error})") from error
        stored = self.get(key)
        if stored is None:
            raise OSError(f"{frames_path}: the frame cache entry just written cannot be read back")
        return stored
