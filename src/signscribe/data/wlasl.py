"""WLASL: ``WLASL_v0.3.json`` and the ``nslt_{100,300,1000,2000}.json`` subsets, as published."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from signscribe.data.dataset import Dataset, Sample, partition
from signscribe.errors import DatasetError, VideoReadError
from signscribe.io import probe

SUBSETS = (100, 300, 1000, 2000)
CLASS_LIST = "wlasl_class_list.txt"
VIDEO_SUFFIX = ".mp4"


def load_json(path: Path) -> Any:
    """Parse a JSON file; a syntax error names the line and column."""
    if not path.is_file():
        raise DatasetError(path, "file not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise DatasetError(path, f"invalid JSON at line {error.lineno} column {error.colno}: {error.msg}") from error
    except UnicodeDecodeError as error:
        raise DatasetError(path, f"not UTF-8 text ({error.reason} at byte {error.start})") from error


def _require(path: Path, entry: dict[str, Any], key: str, where: str) -> Any:
    if not isinstance(entry, dict):
        raise DatasetError(path, f"{where}: expected an object, got {type(entry).__name__}")
    if key not in entry:
        raise DatasetError(path, f"{where}: missing key {key!r}")
    return entry[key]


def read_instances(path: Path) -> tuple[list[str], dict[str, tuple[str, dict[str, Any]]]]:
    """Glosses in file order and ``video_id -> (gloss, instance)``."""
    entries = load_json(path)
    if not isinstance(entries, list):
        raise DatasetError(path, f"expected a list of glosses at the top level, got {type(entries).__name__}")
    glosses: list[str] = []
    instances: dict[str, tuple[str, dict[str, Any]]] = {}
    for number, entry in enumerate(entries):
        gloss = _require(path, entry, "gloss", f"entry {number}")
        glosses.append(gloss)
        for position, instance in enumerate(_require(path, entry, "instances", f"entry {number} ({gloss})")):
            where = f"entry {number} ({gloss}) instance {position}"
            for key in ("video_id", "split", "frame_start", "frame_end"):
                _require(path, instance, key, where)
            instances[str(instance["video_id"])] = (gloss, instance)
    return glosses, instances


def _bbox(instance: dict[str, Any]) -> tuple[int, int, int, int] | None:
    box = instance.get("bbox")
    return (int(box[0]), int(box[1]), int(box[2]), int(box[3])) if box and len(box) == 4 else None


def _sample(
    video_id: str, gloss: str, instance: dict[str, Any], videos: Path, split: str, frames: tuple[int, int]
) -> Sample:
    signer = instance.get("signer_id")
    return Sample(
        id=video_id,
        path=videos / f"{video_id}{VIDEO_SUFFIX}",
        label=gloss,
        split=split,
        signer=None if signer is None else str(signer),
        start_frame=max(1, int(frames[0])),
        end_frame=int(frames[1]),
        bbox=_bbox(instance),
    )


def read_class_list(path: Path) -> list[str]:
    """``wlasl_class_list.txt``: ``class_index<TAB>gloss`` lines."""
    if not path.is_file():
        raise DatasetError(path, "file not found")
    classes: dict[int, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        index, _, gloss = line.partition("\t")
        if not index.strip().isdigit() or not gloss.strip():
            raise DatasetError(path, f"line {number}: expected 'class_index<TAB>gloss', got {line!r}")
        classes[int(index)] = gloss.strip()
    return [classes[index] for index in sorted(classes)]


TRIMMED_SHARE = 0.9  # of the clips with a frame range, those that look cut to it make a pre-trimmed copy
LENGTH_TOLERANCE = 2  # frames a re-encoded copy may gain or lose


def _has_range(sample: Sample) -> bool:
    return (sample.start_frame, sample.end_frame) != (1, -1)


def range_fit(sample: Sample) -> tuple[bool, bool]:
    """Whether a clip with a frame range is (a) as long as its range, as a copy cut to the sign is,
    and (b) too short to hold it: it ends before the range does, so the range cannot apply. An
    unreadable clip is neither: it keeps its range, and extraction reports it with the reason."""
    try:
        frames = probe(sample.path).frame_count
    except VideoReadError:
        return False, False
    end = sample.end_frame if sample.end_frame != -1 else None
    as_long = end is not None and abs(frames - (end - sample.start_frame + 1)) <= LENGTH_TOLERANCE
    return as_long, frames + LENGTH_TOLERANCE < (end if end is not None else sample.start_frame)


def _apply_trimming(dataset: Dataset, trimmed: bool | None) -> Dataset:
    """Drop the frame ranges of pre-trimmed clips, whose ranges count the frames of the untrimmed
    source videos: all of them with ``trimmed=True``; none with ``False``; with ``None``, all when
    nearly every clip with a range is as long as its range or shorter (a pre-trimmed copy), else only
    those too short to hold their range. Notes say what was done."""
    ranged = [s for s in dataset.samples if _has_range(s)]
    if trimmed is False or not ranged:
        return dataset
    fits = {s.id: range_fit(s) for s in ranged} if trimmed is None else {}
    cut_to_range = sum(as_long or too_short for as_long, too_short in fits.values())
    if trimmed or cut_to_range >= TRIMMED_SHARE * len(ranged):
        whole = {s.id for s in ranged}
        how = (
            "as --trimmed says"
            if trimmed
            else (f"{cut_to_range} of the {len(ranged)} with a frame range are as long as it or shorter")
        )
        note = f"a pre-trimmed copy ({how}): every clip is used whole, without the frame ranges of WLASL_v0.3.json"
    else:
        whole = {sample_id for sample_id, (_, too_short) in fits.items() if too_short}
        note = (
            f"{len(whole)} of {len(ranged)} clips with a frame range are too short to hold it (pre-trimmed): "
            "each is used whole; the others keep their range"
        )
    if whole:
        dataset.samples = [replace(s, start_frame=1, end_frame=-1) if s.id in whole else s for s in dataset.samples]
        dataset.notes.append(note)
    return dataset


def read_wlasl(
    json_path: str | Path, videos: str | Path | None = None, subset: int | None = None, trimmed: bool | None = None
) -> Dataset:
    """Read WLASL. Videos are ``<videos>/<video_id>.mp4`` (default: ``videos/`` beside the json).

    With ``subset`` (100, 300, 1000 or 2000) the samples, splits and frame ranges come from
    ``nslt_<subset>.json`` beside the json and labels from ``wlasl_class_list.txt``, as the
    WLASL I3D baseline uses them. Instances whose video is missing land in ``Dataset.missing``.

    Widely shared copies of WLASL are already cut to the sign, and the published frame ranges do not
    apply to them: ``trimmed=None`` detects such clips (``range_fit``) and uses them whole,
    ``True`` treats every clip as trimmed, ``False`` applies every range; ``Dataset.notes`` says so.
    """
    json_path = Path(json_path)
    videos = Path(videos) if videos is not None else json_path.parent / "videos"
    glosses, instances = read_instances(json_path)
    if subset is None:
        samples = [
            _sample(
                video_id, gloss, instance, videos, instance["split"], (instance["frame_start"], instance["frame_end"])
            )
            for video_id, (gloss, instance) in instances.items()
        ]
        return _apply_trimming(partition("wlasl", json_path, samples, labels=glosses), trimmed)

    if subset not in SUBSETS:
        raise ValueError(f"WLASL subset must be one of {SUBSETS}, got {subset}")
    subset_path = json_path.parent / f"nslt_{subset}.json"
    class_path = json_path.parent / CLASS_LIST
    classes = read_class_list(class_path) if class_path.is_file() else glosses
    entries = load_json(subset_path)
    if not isinstance(entries, dict):
        raise DatasetError(subset_path, "expected an object mapping video_id to its subset and action")
    samples = []
    for video_id, entry in entries.items():
        split = _require(subset_path, entry, "subset", f"video {video_id}")
        action = _require(subset_path, entry, "action", f"video {video_id}")
        if not (isinstance(action, list) and len(action) == 3 and all(isinstance(v, int) for v in action)):
            raise DatasetError(subset_path, f"video {video_id}: 'action' must be [class, frame_start, frame_end]")
        if not 0 <= action[0] < min(subset, len(classes)):
            raise DatasetError(subset_path, f"video {video_id}: class {action[0]} is outside 0-{subset - 1}")
        gloss = classes[action[0]]
        instance = instances.get(video_id, (gloss, {}))[1]
        samples.append(_sample(video_id, gloss, instance, videos, split, (action[1], action[2])))
    return _apply_trimming(partition("wlasl", json_path, samples, labels=classes[:subset]), trimmed)
