"""File helpers shared by every writer: nothing is ever left half-written."""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from signscribe.errors import SignscribeError


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


@contextmanager
def atomic_write(path: str | Path) -> Iterator[BinaryIO]:
    """Open a temporary file beside ``path`` and rename it over ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
    try:
        with os.fdopen(handle, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write a UTF-8 text file atomically."""
    with atomic_write(path) as file:
        file.write(text.encode("utf-8"))


def write_section(path: str | Path, section: str, begin: str, end: str, before: str) -> None:
    """Put ``section`` (which starts with the marker ``begin`` and ends with ``end``) into the text file
    at ``path`` in place of the marked section it holds, else before its line ``before`` (a heading, or
    the begin marker just above it), else at its end; atomically. The scripts that measure a model
    write their tables into its card so."""
    text = Path(path).read_text(encoding="utf-8")
    if begin in text and end in text:
        text = text[: text.index(begin)] + section + text[text.index(end) + len(end) :]
    elif heading := re.search(rf"\n(<!-- [^\n]*: begin -->\n)?{re.escape(before)}\n", text):
        # before the heading's own begin marker, if it has one: never inside another marked section
        text = text[: heading.start() + 1] + f"{section}\n\n" + text[heading.start() + 1 :]
    else:
        text = text.rstrip("\n") + f"\n\n{section}\n"
    write_text_atomic(path, text)


def write_csv_atomic(path: str | Path, columns: Sequence[str], rows: Iterable[Mapping[str, object]]) -> None:
    """Write rows (dicts holding at least ``columns``) as a CSV file with a header, atomically.

    Lines end in CRLF, as RFC 4180 has it: the csv module then quotes every field holding a carriage
    return or a line feed (a generated sentence may hold either), so each row reads back whole."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(columns), lineterminator="\r\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(path, text.getvalue())


class OutputFolder:
    """The folder a long job writes its files into: a local path, or a folder of any filesystem
    fsspec knows by URL (``s3://bucket/poses``, ``gs://``, ``az://``, ``memory://``; the protocol's
    package, such as s3fs, installed). A file appears whole or not at all: locally a temporary file
    renamed into place, on an object store one upload (atomic there). It pickles as its location, so
    worker processes and Ray actors open it again on their side."""

    def __init__(self, location: str | Path) -> None:
        location = str(location)
        self.location = location.removeprefix("file://")
        self.local = "://" not in self.location

    def __str__(self) -> str:
        return self.location

    def _remote(self, name: str) -> tuple[Any, str]:
        """The fsspec filesystem and the path of ``name`` on it."""
        import fsspec

        try:
            filesystem, root = fsspec.core.url_to_fs(self.location)
        except (ImportError, ValueError) as error:
            raise SignscribeError(f"{self.location}: cannot open this location ({error})") from error
        return filesystem, f"{root.rstrip('/')}/{name}"

    def exists(self, name: str) -> bool:
        if self.local:
            return (Path(self.location) / name).exists()
        filesystem, path = self._remote(name)
        return bool(filesystem.exists(path))

    def write_bytes(self, name: str, data: bytes) -> None:
        if self.local:
            with atomic_write(Path(self.location) / name) as file:
                file.write(data)
            return
        filesystem, path = self._remote(name)
        filesystem.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        filesystem.pipe_file(path, data)

    def write_text(self, name: str, text: str) -> None:
        self.write_bytes(name, text.encode("utf-8"))
