"""What an extraction writes (``ExtractJob``): a file a clip, named from its path or its sample, in
one of the ``FORMATS``, and the asl-signs layout's index (``write_asl_signs_index``)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from signscribe.errors import SignscribeError
from signscribe.files import OutputFolder
from signscribe.io.inputs import VIDEO_SUFFIXES, gather_inputs
from signscribe.pose.asl_signs import INDEX_COLUMNS, INDEX_FILE, LABEL_MAP, PARQUET_SUFFIX, asl_signs_bytes
from signscribe.pose.posefile import POSE_SUFFIX, pose_bytes
from signscribe.pose.sequence import PoseSequence
from signscribe.pose.source import Clip

LABEL_SUFFIX = ".txt"  # beside a .pose file: its label or sentence
# The output formats: each file's suffix and its writer
FORMATS: dict[str, tuple[str, Callable[[PoseSequence], bytes]]] = {
    "pose": (POSE_SUFFIX, pose_bytes),
    "asl-signs": (PARQUET_SUFFIX, asl_signs_bytes),
}
ASL_SIGNS_FILES = "train_landmark_files"  # the asl-signs layout: train.csv, and a file a sequence under this


class LabelledClip(Protocol):
    """What a dataset sample offers extraction (``signscribe.data.Sample`` is one)."""

    @property
    def id(self) -> str: ...
    @property
    def label(self) -> str | None: ...
    @property
    def clip(self) -> Clip: ...
    @property
    def signer(self) -> str | None: ...


@dataclass(frozen=True)
class ExtractJob:
    """One clip to extract into ``output`` (its name in the output folder); a ``label`` is written
    beside it as ``<name>.txt``."""

    id: str
    clip: Clip
    output: str
    label: str | None = None


def jobs_for_paths(paths: Sequence[Path], suffix: str = POSE_SUFFIX) -> tuple[list[ExtractJob], list[tuple[str, str]]]:
    """One job per video, its output mirroring where it lies under the inputs' common folder (a
    folder's tree kept; ``a/x.mp4`` and ``b/x.mp4`` give ``a/x.pose`` and ``b/x.pose``), and what
    the folders held that is passed over, with why. Two videos that would write one file are refused."""
    if not paths:
        return [], []
    inputs = gather_inputs(paths, VIDEO_SUFFIXES, "videos")
    jobs, claimed = [], {}
    for video in inputs.files:
        name = inputs.name(video)
        output = name.with_suffix(suffix).as_posix()
        if (other := claimed.setdefault(output, video)) != video:
            raise SignscribeError(f"{other} and {video} would both be written to {output}; extract them apart")
        jobs.append(ExtractJob(str(name), Clip(video), output))
    return jobs, [(str(inputs.name(path)), reason) for path, reason in inputs.skipped]


def jobs_for_samples(samples: Iterable[LabelledClip], output_format: str = "pose") -> list[ExtractJob]:
    """One job per sample: a ``.pose`` file named by its id, with its label (a gloss or a sentence)
    beside it; or, in the asl-signs layout, ``train_landmark_files/<signer>/<id>.parquet`` (``/`` in
    an id becomes ``_``), whose label goes into ``train.csv``."""
    if output_format == "pose":
        return [ExtractJob(s.id, s.clip, f"{s.id}{POSE_SUFFIX}", s.label) for s in samples]
    return [ExtractJob(s.id, s.clip, _asl_signs_name(s)) for s in samples]


def _asl_signs_name(sample: LabelledClip) -> str:
    participant = (sample.signer or "unknown").replace("/", "_")
    return f"{ASL_SIGNS_FILES}/{participant}/{sample.id.replace('/', '_')}{PARQUET_SUFFIX}"


def write_asl_signs_index(out: OutputFolder, samples: Sequence[LabelledClip]) -> None:
    """``train.csv`` (a row a sample whose file is written) and ``sign_to_prediction_index_map.json``
    (the signs in alphabetical order) of the asl-signs layout."""
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(INDEX_COLUMNS)
    for sample in samples:
        name = _asl_signs_name(sample)
        writer.writerow([name, name.split("/")[1], Path(name).stem, sample.label])
    out.write_text(INDEX_FILE, table.getvalue())
    signs = sorted({str(sample.label) for sample in samples})
    out.write_text(LABEL_MAP, json.dumps({sign: index for index, sign in enumerate(signs)}, indent=1))
