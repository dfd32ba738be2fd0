"""A user's own data as a CSV file: ``path,label`` (or ``path,sentence`` for translation data) and
optional ``start,end,split,signer`` columns; any other column (notes, a source) is ignored, and the
dataset's notes name it."""

from __future__ import annotations

import csv
from pathlib import Path

from signscribe.data.dataset import Dataset, Sample, partition
from signscribe.errors import DatasetError

REQUIRED = ("path", "label")
SENTENCE = "sentence"  # accepted instead of "label": the sample's label is then its sentence
OPTIONAL = ("start", "end", "split", "signer")


def _optional_seconds(path: Path, line: int, column: str, text: str | None) -> float | None:
    if text is None or not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise DatasetError(path, f"line {line}: {column} {text!r} is not a number of seconds") from None
    if value < 0:
        raise DatasetError(path, f"line {line}: {column} {value} is negative")
    return value


def read_csv(csv_path: str | Path) -> Dataset:
    """Read a CSV with a header. Relative paths are relative to the CSV's folder; a path may be a
    video, a ``.pose`` file or an MP_Data sequence folder. ``start``/``end`` are seconds."""
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise DatasetError(csv_path, "file not found")
    samples = []
    try:
        with csv_path.open(encoding="utf-8-sig", newline="") as file:
            reader = csv.DictReader(file)
            header = [name.strip() for name in reader.fieldnames or []]
            label_column = SENTENCE if SENTENCE in header and "label" not in header else "label"
            columns = [("label" if name == label_column else name) for name in header]
            missing = [name for name in REQUIRED if name not in columns]
            if missing:
                raise DatasetError(csv_path, f"line 1: header {header} lacks column(s) {missing}")
            ignored = [name for name in columns if name not in REQUIRED + OPTIONAL]
            for raw in reader:
                line = reader.line_num
                if None in raw or None in raw.values():
                    raise DatasetError(csv_path, f"line {line}: expected {len(columns)} fields")
                row = {key.strip(): value.strip() for key, value in raw.items()}
                row["label"] = row.pop(label_column)
                if not row["path"]:
                    raise DatasetError(csv_path, f"line {line}: empty path")
                if not row["label"]:
                    raise DatasetError(csv_path, f"line {line}: empty {label_column}")
                start = _optional_seconds(csv_path, line, "start", row.get("start"))
                end = _optional_seconds(csv_path, line, "end", row.get("end"))
                if start is not None and end is not None and end <= start:
                    raise DatasetError(csv_path, f"line {line}: end {end} is not after start {start}")
                media = Path(row["path"])
                samples.append(
                    Sample(
                        id=f"{media.stem}" if start is None else f"{media.stem}@{start:g}",
                        path=media if media.is_absolute() else csv_path.parent / media,
                        label=row["label"],
                        split=row.get("split") or None,
                        signer=row.get("signer") or None,
                        start_time=start,
                        end_time=end,
                    )
                )
    except UnicodeDecodeError as error:
        raise DatasetError(csv_path, f"not UTF-8 text ({error.reason} at byte {error.start})") from error
    except csv.Error as error:
        raise DatasetError(csv_path, f"malformed CSV: {error}") from error
    dataset = partition("csv", csv_path, samples)
    if ignored:
        dataset.notes.append(f"{csv_path.name}: column(s) {ignored} ignored (read: {', '.join(REQUIRED + OPTIONAL)})")
    return dataset
