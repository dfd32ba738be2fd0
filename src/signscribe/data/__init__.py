"""Dataset readers selected as ``KIND:PATH``: ``wlasl:``, ``how2sign:``, ``mp_data:``, ``asl_signs:``, ``csv:``,
``poses:`` and ``embeddings:``.

Each reader returns a ``Dataset`` of ``Sample``s; a sample's ``clip`` is what
``signscribe.pose.load_landmarks`` (or another input pipeline) reads.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from signscribe.data.asl_signs import read_asl_signs
from signscribe.data.dataset import Dataset, Sample
from signscribe.data.embeddings import read_embeddings
from signscribe.data.gloss_subset import read_glosses, select_glosses
from signscribe.data.how2sign import read_how2sign
from signscribe.data.mp_data import read_mp_data
from signscribe.data.pose_folder import read_pose_folder
from signscribe.data.table import read_csv
from signscribe.data.wlasl import read_wlasl

# kind -> (reader, the options of open_dataset it takes besides the path)
_READERS: dict[str, tuple[Callable[..., Dataset], tuple[str, ...]]] = {
    "wlasl": (read_wlasl, ("videos", "subset", "trimmed")),
    "how2sign": (read_how2sign, ("videos",)),
    "mp_data": (read_mp_data, ("sequences_per_signer",)),
    "asl_signs": (read_asl_signs, ()),
    "csv": (read_csv, ()),
    "poses": (read_pose_folder, ()),
    "embeddings": (read_embeddings, ()),
}


def register_dataset_kind(kind: str, reader: Callable[..., Dataset], options: tuple[str, ...] = ()) -> None:
    """Make ``KIND:PATH`` read by ``reader(path, **options)``; ``options`` are the ``open_dataset``
    options it takes (``videos``, ``subset``, ``sequences_per_signer``)."""
    if kind in _READERS:
        raise ValueError(f"dataset kind {kind!r} is registered twice")
    _READERS[kind] = (reader, options)


def dataset_kinds() -> tuple[str, ...]:
    return tuple(_READERS)


def parse_spec(spec: str) -> tuple[str, Path]:
    """Split ``KIND:PATH`` into its kind and path, checking the kind."""
    kind, separator, path = spec.partition(":")
    if not separator or not path:
        raise ValueError(
            f"dataset must be given as KIND:PATH with KIND one of {', '.join(dataset_kinds())}; got {spec!r}"
        )
    if kind not in dataset_kinds():
        raise ValueError(f"unknown dataset kind {kind!r} in {spec!r}; expected one of {', '.join(dataset_kinds())}")
    return kind, Path(path)


def dataset_options(kind: str) -> tuple[str, ...]:
    """The options of ``open_dataset`` that a dataset kind takes (``videos``, ``subset``, ...)."""
    return _READERS[kind][1]


def open_dataset(
    spec: str,
    videos: str | Path | None = None,
    subset: int | None = None,
    sequences_per_signer: int | None = None,
    trimmed: bool | None = None,
    glosses: str | Path | None = None,
) -> Dataset:
    """Read the dataset named by ``KIND:PATH``; ``videos`` is the video folder for WLASL and How2Sign,
    ``subset`` the WLASL subset (100, 300, 1000 or 2000), ``trimmed`` whether WLASL clips are already
    cut to the sign (``None``: detect it) and ``sequences_per_signer`` the MP_Data signer blocks; for
    any kind, ``glosses`` keeps the samples of a gloss list (``gloss_subset``). An option the kind
    does not take is a ``ValueError``."""
    kind, path = parse_spec(spec)
    reader, accepted = _READERS[kind]
    given = {"videos": videos, "subset": subset, "sequences_per_signer": sequences_per_signer, "trimmed": trimmed}
    for name, value in given.items():
        if value is not None and name not in accepted:
            takers = " and ".join(k for k, (_, options) in _READERS.items() if name in options)
            raise ValueError(f"--{name.replace('_', '-')} applies to {takers} only, not {kind}")
    dataset = reader(path, **{name: given[name] for name in accepted})
    return select_glosses(dataset, glosses) if glosses is not None else dataset


__all__ = [
    "Dataset",
    "Sample",
    "dataset_kinds",
    "dataset_options",
    "open_dataset",
    "parse_spec",
    "read_asl_signs",
    "read_csv",
    "read_glosses",
    "read_how2sign",
    "read_mp_data",
    "read_pose_folder",
    "read_wlasl",
    "register_dataset_kind",
]
