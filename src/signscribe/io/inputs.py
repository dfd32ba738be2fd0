"""The clips a command reads from the paths it is given: files, folders (searched recursively; an
MP_Data sequence folder is one clip) and glob patterns the shell left as they are (``"words/*.mp4"``
in quotes, or on Windows), with what a folder held that was passed over and why: nothing is
skipped unsaid."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from signscribe.errors import InputFileError

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".heic")
_GLOB = frozenset("*?[")


@dataclass
class Inputs:
    """The files to read, in the order given (a folder's sorted), each once; the entries of a folder
    passed over, with why; the folder the files are named relative to; and whether more than one
    file or a folder was asked for (a batch, whose results are listed by name)."""

    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    base: Path = Path(".")
    batch: bool = False

    def name(self, path: Path) -> Path:
        """The file's path relative to ``base`` (a folder's tree kept)."""
        path, base = path.absolute(), self.base.absolute()
        return path.relative_to(base) if path.is_relative_to(base) else Path(path.name)


def gather_inputs(paths: Sequence[str | Path], suffixes: Sequence[str], what: str) -> Inputs:
    """The files of ``paths`` with one of ``suffixes`` (a file named directly is taken whatever its
    suffix: its reader says what is wrong with it). In a folder, an entry with such a suffix that is
    no regular file (a FIFO, a link that loops or leads nowhere) and a photo, where photos are not
    read, are listed in ``skipped``. ``what`` names the files in the error for a folder without any."""
    inputs = Inputs()
    roots: list[Path] = []
    seen: set[Path] = set()
    for given in map(Path, paths):
        for path in _expanded(given):
            folder = path.is_dir() and not _is_landmark_sequence(path)
            roots.append(path if folder else path.parent)
            inputs.batch |= folder
            passed_over = len(inputs.skipped)
            found = _in_folder(path, suffixes, what, inputs.skipped) if folder else [path]
            if folder and not found and len(inputs.skipped) == passed_over:  # this folder held nothing at all
                raise InputFileError(path, f"no {what} in this folder")
            for file in found:
                if (key := file.resolve()) not in seen:
                    seen.add(key)
                    inputs.files.append(file)
    if not roots:
        raise ValueError(f"give one or more {what}, or folders of them")
    common = Path(os.path.commonpath([root.absolute() for root in roots]))
    inputs.base = roots[0] if len(set(roots)) == 1 else common
    inputs.batch |= len(inputs.files) + len(inputs.skipped) > 1
    return inputs


def _expanded(given: Path) -> list[Path]:
    """The path itself, or the sorted matches of a glob pattern; an error when neither is there."""
    if given.exists() or given.is_symlink():
        return [given]
    if _GLOB & set(str(given)):
        matches = sorted(Path(match) for match in glob.glob(str(given), recursive=True))
        if not matches:
            raise InputFileError(given, "no file matches this pattern")
        return matches
    raise InputFileError(given, "file not found")


def _in_folder(folder: Path, suffixes: Sequence[str], what: str, skipped: list[tuple[Path, str]]) -> list[Path]:
    files = []
    for entry in sorted(folder.rglob("*")):
        suffix = entry.suffix.lower()
        if suffix in suffixes:
            if entry.is_file():
                files.append(entry)
            elif not entry.is_dir():
                skipped.append((entry, f"not a regular file: {_kind(entry)}"))
        elif suffix in PHOTO_SUFFIXES and entry.is_file():
            skipped.append((entry, f"a photo, and only {what} are read here"))
    return files


def _kind(entry: Path) -> str:
    if entry.is_symlink():
        return "a symbolic link that loops or leads to nothing"
    return "a FIFO" if entry.is_fifo() else "a socket or device"


def _is_landmark_sequence(folder: Path) -> bool:
    """An MP_Data sequence: a folder of ``<frame>.npy`` files, read as one clip."""
    return folder.is_dir() and any(child.suffix == ".npy" and child.stem.isdigit() for child in folder.iterdir())
