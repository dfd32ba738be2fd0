"""``signscribe embed``: foundation-model embeddings of clips, written in ASLVideoTranslate's layout.

One ``<id>_<variant>_vjepa.npy`` ``(tokens, hidden)`` float32 per clip and visual variant, listed in
``index.csv`` (``video_id,gloss,path_to_npy_file``: the file's name, the clip's gloss, its absolute
path), and ``embeddings.json`` (the backbone, its width, the tokens, the frame rate, the seconds a row
covers, the variants),
which the ``embeddings:`` dataset and the ``embeddings`` input read. A run resumes: files that are
there and readable are kept, so an interrupted run goes on where it stopped, and the index lists
every clip at the end. Embeddings also go through a cache keyed like the pose cache (the video's
content hash, its range, the backbone's weights, preprocessing, tokens and the variant), so the same
clip in another dataset or folder costs nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from signscribe.data.embeddings import COLUMNS, INDEX, npy_problem
from signscribe.errors import InputFileError, SignscribeError
from signscribe.files import atomic_write, write_csv_atomic, write_text_atomic
from signscribe.models.array_cache import ArrayCache
from signscribe.models.encoders import VJEPA2Encoder
from signscribe.models.inputs.embeddings import METADATA
from signscribe.pose.source import Clip
from signscribe.progress import ProgressCallback


def npy_name(clip_id: str, variant: str) -> str:
    return f"{clip_id}_{variant}_vjepa.npy"


@dataclass(frozen=True)
class EmbedItem:
    """A clip to embed, named ``id`` in the file names, with its gloss (empty when unknown)."""

    id: str
    gloss: str
    clip: Clip


@dataclass
class EmbedSummary:
    written: int = 0
    kept: int = 0  # files already there (a resumed run)
    failures: list[tuple[str, str]] = field(default_factory=list)

    def describe(self) -> list[str]:
        totals = f"wrote {self.written} embeddings, kept {self.kept} already there, failed {len(self.failures)} clips"
        return [totals, *(f"  failed {identifier}: {reason}" for identifier, reason in self.failures)]


def _check_metadata(out: Path, metadata: dict[str, Any]) -> None:
    """Refuse to resume into a folder of embeddings made another way."""
    path = out / METADATA
    if not path.is_file():
        return
    try:
        before = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise InputFileError(path, f"unreadable ({error}); remove it or use another --out") from error
    for name in ("backbone", "tokens", "frame_rate", "dim"):
        if before.get(name) != metadata[name]:
            held = f"the folder holds embeddings with {name} {before.get(name)!r}, not {metadata[name]!r}"
            raise InputFileError(path, f"{held}: use another --out")


def embed_items(
    encoder: VJEPA2Encoder,
    items: Sequence[EmbedItem],
    out: str | Path,
    variants: Sequence[str] = ("original",),
    batch: int = 4,
    cache: ArrayCache | None = None,
    on_progress: ProgressCallback | None = None,
) -> EmbedSummary:
    """Write the embeddings of ``items`` in ``variants`` into ``out`` with ``index.csv`` (see the module)."""
    out = Path(out)
    metadata = {
        "backbone": encoder.spec,
        "dim": encoder.dim,
        "tokens": encoder.tokens,
        "frame_rate": encoder.frame_rate,
        "seconds_per_row": encoder.seconds_per_row,
        "variants": list(variants),
    }
    _check_metadata(out, metadata)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / METADATA, json.dumps(metadata, indent=2))
    summary, rows = EmbedSummary(), []
    for done, item in enumerate(items, start=1):
        paths = {variant: out / npy_name(item.id, variant) for variant in variants}
        todo = [variant for variant, path in paths.items() if npy_problem(path)[0] is not None]  # missing or broken
        summary.kept += len(paths) - len(todo)
        try:
            arrays = encoder.embed_clip(item.clip, todo, batch, cache) if todo else {}
        except SignscribeError as error:
            summary.failures.append((item.id, str(error)))
            arrays = {}
        for variant, array in arrays.items():
            with atomic_write(paths[variant]) as file:
                np.save(file, np.ascontiguousarray(array, dtype=np.float32))
            summary.written += 1
        rows += [
            {"video_id": path.name, "gloss": item.gloss, "path_to_npy_file": str(path.resolve())}
            for path in paths.values()
            if path.exists()
        ]
        if on_progress is not None:
            on_progress(done, len(items))
    write_csv_atomic(out / INDEX, COLUMNS, rows)
    return summary
