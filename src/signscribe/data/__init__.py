"""Dataset readers selected as ``KIND:PATH``: ``wlasl:``, ``how2sign:``, ``mp_data:``, ``csv:`` and ``poses:``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from signscribe.data.dataset import Dataset, Sample
from signscribe.data.how2sign import read_how2sign
from signscribe.data.mp_data import load_mp_sequence, read_mp_data
from signscribe.data.pose_folder import read_pose_folder
from signscribe.data.table import read_csv
from signscribe.data.wlasl import read_wlasl
from signscribe.errors import SignscribeError
from signscribe.pose.extract import HolisticExtractor
from signscribe.pose.normalize import normalize
from signscribe.pose.posefile import load_pose
from signscribe.pose.sequence import PoseSequence

KINDS = ("wlasl", "how2sign", "mp_data", "csv", "poses")


def parse_spec(spec: str) -> tuple[str, Path]:
    """Split ``KIND:PATH`` into its kind and path, checking the kind."""
    kind, separator, path = spec.partition(":")
    if not separator or not path:
        raise ValueError(f"dataset must be given as KIND:PATH with KIND one of {', '.join(KINDS)}; got {spec!r}")
    if kind not in KINDS:
        raise ValueError(f"unknown dataset kind {kind!r} in {spec!r}; expected one of {', '.join(KINDS)}")
    return kind, Path(path)


def open_dataset(
    spec: str,
    videos: str | Path | None = None,
    subset: int | None = None,
    sequences_per_signer: int | None = None,
) -> Dataset:
    """Read the dataset named by ``KIND:PATH``; ``videos`` is the video folder for WLASL and How2Sign,
    ``subset`` the WLASL subset (100, 300, 1000 or 2000) and ``sequences_per_signer`` the MP_Data
    signer blocks."""
    kind, path = parse_spec(spec)
    if subset is not None and kind != "wlasl":
        raise ValueError(f"--subset applies to wlasl only, not {kind}")
    if videos is not None and kind not in ("wlasl", "how2sign"):
        raise ValueError(f"--videos applies to wlasl and how2sign only, not {kind}")
    if sequences_per_signer is not None and kind != "mp_data":
        raise ValueError(f"--sequences-per-signer applies to mp_data only, not {kind}")
    if kind == "wlasl":
        return read_wlasl(path, videos=videos, subset=subset)
    if kind == "how2sign":
        return read_how2sign(path, videos=videos)
    if kind == "mp_data":
        return read_mp_data(path, sequences_per_signer=sequences_per_signer)
    if kind == "poses":
        return read_pose_folder(path)
    return read_csv(path)


def sample_pose(sample: Sample, extractor: HolisticExtractor) -> PoseSequence:
    """The landmarks of a sample, whatever it points at: extracted from video, or read from a
    ``.pose`` file or an MP_Data sequence in the extractor's layout."""
    include_face = extractor.settings.include_face
    if sample.media == "pose":
        return load_pose(sample.path, include_face=include_face)
    if sample.media == "mp_data":
        return load_mp_sequence(sample.path, include_face=include_face)
    return extractor.extract(sample.path, **sample.selection())


def load_sequences(
    samples: list[Sample],
    extractor: HolisticExtractor,
    hands_relative: bool,
    on_progress: Callable[[], None] | None = None,
) -> tuple[list[PoseSequence], list[Sample], list[tuple[Sample, str]]]:
    """Normalised landmarks of each sample; samples that fail are returned with the reason."""
    sequences, kept, failed = [], [], []
    for sample in samples:
        try:
            sequence = sample_pose(sample, extractor)
            if sequence.num_frames == 0:
                raise SignscribeError(f"{sample.path}: no frames")
            sequences.append(normalize(sequence.without_face(), hands_relative=hands_relative))
            kept.append(sample)
        except SignscribeError as error:
            failed.append((sample, str(error)))
        if on_progress is not None:
            on_progress()
    return sequences, kept, failed


__all__ = [
    "KINDS",
    "Dataset",
    "Sample",
    "load_mp_sequence",
    "load_sequences",
    "open_dataset",
    "parse_spec",
    "read_csv",
    "read_how2sign",
    "read_mp_data",
    "read_pose_folder",
    "read_wlasl",
    "sample_pose",
]
