"""How2Sign: the realigned sentence annotation files (tab-separated, CRLF), as published."""

from __future__ import annotations

import csv
from pathlib import Path

from signscribe.data.dataset import Dataset, Sample, partition
from signscribe.errors import DatasetError

COLUMNS = ("VIDEO_ID", "VIDEO_NAME", "SENTENCE_ID", "SENTENCE_NAME", "START_REALIGNED", "END_REALIGNED", "SENTENCE")
SPLITS = ("train", "val", "test")
VIDEO_SUFFIX = ".mp4"


def _split_from_name(path: Path) -> str | None:
    return next((split for split in SPLITS if f"_{split}" in path.stem), None)


def _seconds(path: Path, line: int, column: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise DatasetError(path, f"line {line}: {column} {text!r} is not a number of seconds") from None


def read_how2sign(csv_path: str | Path, videos: str | Path | None = None) -> Dataset:
    """Read a How2Sign ``how2sign_realigned_<split>.csv``.

    ``videos`` holds either sentence clips (``<SENTENCE_NAME>.mp4``, used whole) or full videos
    (``<VIDEO_NAME>.mp4``, cut by ``START_REALIGNED``/``END_REALIGNED``); a sentence clip wins
    when both exist. The label of a sample is its English sentence.
    """
    csv_path = Path(csv_path)
    videos = Path(videos) if videos is not None else csv_path.parent / "clips"
    if not csv_path.is_file():
        raise DatasetError(csv_path, "file not found")
    split = _split_from_name(csv_path)
    samples = []
    with csv_path.open(encoding="utf-8", newline="") as file:
        rows = csv.reader(file, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(rows, None)
        if header is None or tuple(column.strip() for column in header) != COLUMNS:
            raise DatasetError(csv_path, f"line 1: expected the tab-separated columns {' '.join(COLUMNS)}")
        for line, row in enumerate(rows, start=2):
            if not row:
                continue
            if len(row) != len(COLUMNS):
                raise DatasetError(
                    csv_path, f"line {line}: expected {len(COLUMNS)} tab-separated fields, got {len(row)}"
                )
            fields = dict(zip(COLUMNS, row, strict=True))
            start = _seconds(csv_path, line, "START_REALIGNED", fields["START_REALIGNED"])
            end = _seconds(csv_path, line, "END_REALIGNED", fields["END_REALIGNED"])
            if end <= start:
                raise DatasetError(csv_path, f"line {line}: END_REALIGNED {end} is not after START_REALIGNED {start}")
            clip = videos / f"{fields['SENTENCE_NAME']}{VIDEO_SUFFIX}"
            full = videos / f"{fields['VIDEO_NAME']}{VIDEO_SUFFIX}"
            cut = not clip.exists() and full.exists()
            samples.append(
                Sample(
                    id=fields["SENTENCE_NAME"],
                    path=full if cut else clip,
                    label=fields["SENTENCE"].strip(),
                    split=split,
                    start_time=start if cut else None,
                    end_time=end if cut else None,
                )
            )
    return partition("how2sign", csv_path, samples)
