"""Arrays computed from clips, on disk: decoded frames (``train --frame-cache DIR``) and foundation
model embeddings (``signscribe embed``), so each is computed once and read back memory-mapped.

A frames model reads many decoded frames per clip: WLASL100 at MoViNet's input is about 10 MB a
clip, 20 GB for its 1,780 clips, more than a machine's memory. As ``.npy`` files read back
memory-mapped, the operating system pages them in as examples are built and drops them under
memory pressure. Entries are keyed like the pose cache: the video's content hash and everything that
shaped the array (the range, the bbox, the settings), written atomically (the array first, then the
``.json`` that makes it visible), and an unreadable entry counts as a miss.
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


class ArrayCache:
    """``<key>.npy`` (an array whose first axis is time) and ``<key>.json`` (what goes with it)."""

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
        """The array, memory-mapped read-only, and its metadata; ``None`` when absent or unreadable."""
        array_path, meta_path = self._paths(key)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            array = np.load(array_path, mmap_mode="r")
        except (OSError, ValueError):
            return None
        if list(array.shape) != meta.get("shape"):
            return None
        return array, meta

    def put(self, key: str, array: np.ndarray, meta: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
        """Store an array and its metadata; returns them as ``get`` will (memory-mapped). A cache that
        cannot be written (no permission, a full disk) stops the run: a ``ValueError`` naming it."""
        array_path, meta_path = self._paths(key)
        try:
            with atomic_write(array_path) as file:
                np.save(file, np.ascontiguousarray(array))
            write_text_atomic(meta_path, json.dumps({**meta, "shape": list(array.shape)}))
        except OSError as error:
            raise ValueError(f"{self.root}: cannot write the cache ({error})") from error
        stored = self.get(key)
        if stored is None:
            raise ValueError(f"{array_path}: the cache entry just written cannot be read back")
        return stored
