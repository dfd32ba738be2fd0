"""``signscribe dataset init``: a folder of one's own recordings laid out as ``<gloss>/<clip>`` (videos,
photos, ``.pose`` files) listed as a ``csv:`` table (``path,label,split,signer``), with the signer of
each clip read from its name by a pattern, and the classes too small to learn from named."""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from signscribe.errors import DatasetError
from signscribe.files import write_csv_atomic
from signscribe.io.inputs import PHOTO_SUFFIXES, VIDEO_SUFFIXES
from signscribe.pose.posefile import POSE_SUFFIX

MEDIA_SUFFIXES = (*VIDEO_SUFFIXES, *PHOTO_SUFFIXES, POSE_SUFFIX)
TABLE = "dataset.csv"


@dataclass
class FolderDataset:
    """The table written and what a newcomer should know about it."""

    table: Path
    clips: int
    per_class: Counter[str]
    small: dict[str, int] = field(default_factory=dict)  # classes with fewer than min_clips
    no_signer: list[Path] = field(default_factory=list)  # names the pattern did not match
    ignored: list[Path] = field(default_factory=list)  # files outside a class folder, or not media
    signers: int = 0


def init_dataset(
    root: str | Path, signer_pattern: str | None = None, min_clips: int = 5, table: str | Path | None = None
) -> FolderDataset:
    """List ``root/<gloss>/<clip>`` into ``table`` (default ``root/dataset.csv``, paths relative to it).
    ``signer_pattern`` is a regular expression searched in each clip's file name: its group
    ``signer`` (or its first group, or the whole match) is the signer, so that training can split by
    signer (``P03_hello_2.mp4`` with ``^(P\\d+)_``)."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(root, "not a folder")
    pattern = _compile(signer_pattern)
    table = Path(table) if table is not None else root / TABLE
    rows, per_class, signers, no_signer, ignored = [], Counter(), set(), [], []
    for entry in sorted(root.iterdir()):
        if entry.is_file():
            if entry.resolve() != table.resolve():
                ignored.append(entry)
            continue
        if entry.name.startswith("."):
            continue
        for clip in sorted(p for p in entry.rglob("*") if p.is_file() and not p.name.startswith(".")):
            if clip.suffix.lower() not in MEDIA_SUFFIXES:
                ignored.append(clip)
                continue
            signer = _signer(pattern, clip.name) if pattern else ""
            if pattern and signer is None:
                no_signer.append(clip)
            path = _relative(clip, table.parent)
            rows.append({"path": path, "label": entry.name, "split": "", "signer": signer or ""})
            per_class[entry.name] += 1
            signers.add(signer)
    if not rows:
        raise DatasetError(root, f"no clips in <gloss>/<clip> folders (media: {', '.join(MEDIA_SUFFIXES)})")
    write_csv_atomic(table, ("path", "label", "split", "signer"), rows)
    small = {label: count for label, count in sorted(per_class.items()) if count < min_clips}
    return FolderDataset(table, len(rows), per_class, small, no_signer, ignored, len(signers - {None, ""}))


def _compile(pattern: str | None) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error as error:
        raise ValueError(f"--signer-pattern {pattern!r} is not a regular expression: {error}") from None


def _signer(pattern: re.Pattern[str], name: str) -> str | None:
    match = pattern.search(name)
    if match is None:
        return None
    if "signer" in pattern.groupindex:
        return match.group("signer")
    return match.group(1) if pattern.groups else match.group(0)


def _relative(path: Path, folder: Path) -> str:
    """The path from the table's folder, links left as they are (a clip linked in stays in the folder)."""
    return Path(os.path.relpath(path.absolute(), folder.absolute())).as_posix()
