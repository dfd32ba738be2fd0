"""Kaggle "asl-signs" (Google's Isolated Sign Language Recognition data, 250 signs by 21 signers; the
INCLUDE dump uses the same layout): ``train.csv`` with ``path,participant_id,sequence_id,sign`` and a
landmark file per sequence, ``train_landmark_files/<participant>/<sequence>.parquet`` (read by
``signscribe.pose.asl_signs``). ``sign_to_prediction_index_map.json`` beside the CSV, when present,
gives the label order."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from signscribe.data.dataset import Dataset, Sample, partition
from signscribe.errors import DatasetError
from signscribe.pose.asl_signs import INDEX_COLUMNS, LABEL_MAP


def _label_order(csv_path: Path) -> list[str] | None:
    path = csv_path.parent / LABEL_MAP
    if not path.is_file():
        return None
    try:
        mapping = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DatasetError(path, f"not valid JSON ({error})") from error
    if not isinstance(mapping, dict) or sorted(mapping.values()) != list(range(len(mapping))):
        raise DatasetError(path, "expected an object mapping each sign to its index 0..n-1")
    return sorted(mapping, key=mapping.__getitem__)


def read_asl_signs(csv_path: str | Path) -> Dataset:
    """Read ``train.csv``; landmark paths are relative to its folder, the signer is the participant."""
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise DatasetError(csv_path, "file not found")
    samples = []
    with csv_path.open(encoding="utf-8", newline="") as file:
        reader = csv.DictReader(file)
        if reader.fieldnames is None or not set(INDEX_COLUMNS) <= set(reader.fieldnames):
            raise DatasetError(csv_path, f"line 1: expected the columns {', '.join(INDEX_COLUMNS)}")
        for row in reader:
            if not all(row[name] for name in INDEX_COLUMNS):
                raise DatasetError(csv_path, f"line {reader.line_num}: empty field in {row}")
            samples.append(
                Sample(
                    id=f"{row['participant_id']}/{row['sequence_id']}",
                    path=csv_path.parent / row["path"],
                    label=row["sign"],
                    signer=row["participant_id"],
                )
            )
    labels = _label_order(csv_path)
    if labels is not None and (unknown := sorted({s.label for s in samples} - set(labels), key=str)):
        raise DatasetError(csv_path.parent / LABEL_MAP, f"lacks the signs {unknown[:5]}")
    return partition("asl_signs", csv_path, samples, labels)
