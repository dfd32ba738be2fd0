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
from typing import BinaryIO


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
