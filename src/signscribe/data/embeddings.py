"""Foundation-model embeddings as a dataset (``embeddings:index.csv``, or the folder holding it):
the ``index.csv`` of ``signscribe embed`` and of ASLVideoTranslate, read as it is.

Columns ``video_id,gloss,path_to_npy_file``. A relative path is relative to the index; an absolute
path that no longer exists (an index written on another machine) is looked for beside the index
under its file name. Each ``.npy`` is opened (memory-mapped, header only) as the index is read: one
that is unreadable or not a ``(tokens, width)`` float array of the index's common width is left
out and reported in the dataset's notes, as is one missing. The variants of one clip
(``<id>_<variant>_vjepa.npy``) form a group that a random split keeps on one side.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import numpy as np

from signscribe.data.dataset import Dataset, Sample
from signscribe.errors import DatasetError

INDEX = "index.csv"
COLUMNS = ("video_id", "gloss", "path_to_npy_file")
VARIANT_NAME = re.compile(r"^(?P<clip>.+)_(?P<variant>[A-Za-z]+)_vjepa(\.npy)?$")
NOTED = 5  # broken files named in a note; the rest are counted


def _npy_path(index: Path, text: str) -> Path:
    path = Path(text)
    if not path.is_absolute():
        return index.parent / path
    beside = index.parent / path.name
    return beside if not path.exists() and beside.exists() else path


def npy_problem(path: Path) -> tuple[str | None, int | None]:
    """Why an ``.npy`` cannot be used (``None`` when it can), and its width."""
    try:
        array = np.load(path, mmap_mode="r")
    except (OSError, ValueError) as error:
        return f"unreadable ({error})", None
    if array.ndim != 2 or array.shape[0] == 0 or not np.issubdtype(array.dtype, np.floating):
        return f"not a (tokens, width) float array: shape {array.shape}, {array.dtype}", None
    return None, int(array.shape[1])


def read_embeddings(path: str | Path) -> Dataset:
    index = Path(path)
    if index.is_dir():
        index = index / INDEX
    if not index.is_file():
        raise DatasetError(index, "file not found (an index.csv written by `signscribe embed`)")
    samples, missing, broken = [], [], []
    widths: dict[int, list[int]] = {}
    try:
        with index.open(encoding="utf-8-sig", newline="") as file:
            reader = csv.DictReader(file)
            header = [name.strip() for name in reader.fieldnames or []]
            if header[: len(COLUMNS)] != list(COLUMNS):
                raise DatasetError(index, f"line 1: header {header}, expected {','.join(COLUMNS)}")
            for raw in reader:
                line = reader.line_num
                if None in raw or None in raw.values() or not raw["path_to_npy_file"].strip():
                    raise DatasetError(index, f"line {line}: expected video_id, gloss and a path")
                video_id, gloss = raw["video_id"].strip(), raw["gloss"].strip()
                npy = _npy_path(index, raw["path_to_npy_file"].strip())
                name = VARIANT_NAME.match(Path(video_id).name)
                sample = Sample(
                    id=video_id.removesuffix(".npy"),
                    path=npy,
                    label=gloss or None,
                    group=name["clip"] if name else None,
                )
                if not npy.exists():
                    missing.append(sample)
                    continue
                problem, width = npy_problem(npy)
                if problem is not None:
                    broken.append(f"{npy.name}: {problem}")
                    continue
                widths.setdefault(width, []).append(len(samples))
                samples.append(sample)
    except UnicodeDecodeError as error:
        raise DatasetError(index, f"not UTF-8 text ({error.reason} at byte {error.start})") from error
    except csv.Error as error:
        raise DatasetError(index, f"malformed CSV: {error}") from error
    if len(widths) > 1:  # embeddings of another backbone slipped in: keep the common width
        common = Counter({width: len(rows) for width, rows in widths.items()}).most_common(1)[0][0]
        for width, rows in widths.items():
            if width != common:
                broken += [f"{samples[row].path.name}: width {width}, not the index's {common}" for row in rows]
        kept = set(widths[common])
        samples = [sample for row, sample in enumerate(samples) if row in kept]
    dataset = Dataset("embeddings", index, samples, missing, sorted({s.label for s in samples if s.label}))
    if broken:
        named = "; ".join(broken[:NOTED]) + (f"; and {len(broken) - NOTED} more" if len(broken) > NOTED else "")
        dataset.notes.append(f"left out {len(broken)} unusable .npy file(s): {named}")
    return dataset
