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

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from signscribe.cluster import map_on_actors
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


@dataclass(frozen=True)
class _Task:
    """One clip to encode: the variants it lacks and where each goes."""

    item: EmbedItem
    paths: dict[str, Path]
    todo: list[str]


def _encode(encoder: VJEPA2Encoder, task: _Task, batch: int, cache: ArrayCache | None) -> tuple[str, int, str | None]:
    """Encode and write a clip's missing variants: ``(id, files written, failure or None)``."""
    try:
        arrays = encoder.embed_clip(task.item.clip, task.todo, batch, cache) if task.todo else {}
    except SignscribeError as error:
        return task.item.id, 0, str(error)
    for variant, array in arrays.items():
        with atomic_write(task.paths[variant]) as file:
            np.save(file, np.ascontiguousarray(array, dtype=np.float32))
    return task.item.id, len(arrays), None


class EmbedActor:
    """One encoder on a Ray worker, for every clip it is given (``embed_items(ray=...)``)."""

    def __init__(self, spec: str, tokens: str, device: str | None, batch: int, cache_dir: Path | None) -> None:
        from signscribe.models.encoders import load_encoder

        self.encoder = load_encoder(spec, tokens, device)
        self.batch, self.cache = batch, ArrayCache(cache_dir) if cache_dir else None

    def __call__(self, task: _Task) -> tuple[str, int, str | None]:
        return _encode(self.encoder, task, self.batch, self.cache)


def _lost(task: _Task, reason: str) -> tuple[str, int, str | None]:
    return task.item.id, 0, f"{task.item.clip.path}: {reason}"


def embed_items(
    encoder: VJEPA2Encoder,
    items: Sequence[EmbedItem],
    out: str | Path,
    variants: Sequence[str] = ("original",),
    batch: int = 4,
    cache: ArrayCache | None = None,
    on_progress: ProgressCallback | None = None,
    ray: str | None = None,
    device: str | None = None,
) -> EmbedSummary:
    """Write the embeddings of ``items`` in ``variants`` into ``out`` with ``index.csv`` (see the module).
    With ``ray``, the clips are encoded on that Ray cluster by one actor a core (``device``: where
    each actor's encoder runs), the files written into ``out`` (a folder every node sees)."""
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
    summary, tasks = EmbedSummary(), []
    for item in items:
        paths = {variant: out / npy_name(item.id, variant) for variant in variants}
        todo = [variant for variant, path in paths.items() if npy_problem(path)[0] is not None]  # missing or broken
        summary.kept += len(paths) - len(todo)
        tasks.append(_Task(item, paths, todo))
    if ray is None:
        results = (_encode(encoder, task, batch, cache) for task in tasks)
    else:
        arguments = {"spec": encoder.spec, "tokens": encoder.tokens, "device": device, "batch": batch,
                     "cache_dir": cache.root if cache else None}  # fmt: skip
        kept = ((task.item.id, 0, None) for task in tasks if not task.todo)
        encoded = map_on_actors(ray, [task for task in tasks if task.todo], EmbedActor, arguments, None, _lost)
        results = itertools.chain(kept, encoded)
    for done, (item_id, written, failure) in enumerate(results, start=1):
        summary.written += written
        if failure is not None:
            summary.failures.append((item_id, failure))
        if on_progress is not None:
            on_progress(done, len(tasks))
    rows = [
        {"video_id": path.name, "gloss": task.item.gloss, "path_to_npy_file": str(path.resolve())}
        for task in tasks
        for path in task.paths.values()
        if path.exists()
    ]
    write_csv_atomic(out / INDEX, COLUMNS, rows)
    return summary
