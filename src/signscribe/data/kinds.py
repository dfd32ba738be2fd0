"""The dataset kinds of ``KIND:PATH``, each a reader and the ``DatasetOptions`` it takes. The readers
are named, not imported, so that listing the kinds costs nothing (the command line's help lists them at
every start); ``open_dataset`` imports a kind's reader when the kind is read."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from signscribe.data.options import dataset_option_names

if TYPE_CHECKING:
    from signscribe.data.dataset import Dataset


@dataclass(frozen=True)
class DatasetKind:
    """A kind's reader, ``reader(path, **options) -> Dataset``, as the function or as
    ``"module:function"``, and the options it takes besides the path."""

    reader: str | Callable[..., Dataset]
    options: tuple[str, ...] = ()

    def load(self) -> Callable[..., Dataset]:
        if callable(self.reader):
            return self.reader
        module, _, name = self.reader.partition(":")
        return getattr(importlib.import_module(module), name)


_KINDS: dict[str, DatasetKind] = {
    "wlasl": DatasetKind("signscribe.data.wlasl:read_wlasl", ("videos", "subset", "trimmed")),
    "how2sign": DatasetKind("signscribe.data.how2sign:read_how2sign", ("videos",)),
    "mp_data": DatasetKind("signscribe.data.mp_data:read_mp_data", ("sequences_per_signer",)),
    "asl_signs": DatasetKind("signscribe.data.asl_signs:read_asl_signs"),
    "csv": DatasetKind("signscribe.data.table:read_csv"),
    "poses": DatasetKind("signscribe.data.pose_folder:read_pose_folder"),
    "embeddings": DatasetKind("signscribe.data.embeddings:read_embeddings"),
}


def register_dataset_kind(kind: str, reader: str | Callable[..., Dataset], options: tuple[str, ...] = ()) -> None:
    """Make ``KIND:PATH`` read by ``reader(path, **options)``: the function, or ``"module:function"``
    to import it only when the kind is read. ``options`` are the ``open_dataset`` keywords it takes:
    ``DatasetOptions`` fields (``videos``, ``subset``, ...) or names of its own."""
    if kind in _KINDS:
        raise ValueError(f"dataset kind {kind!r} is registered twice")
    _KINDS[kind] = DatasetKind(reader, tuple(options))


def dataset_kinds() -> tuple[str, ...]:
    return tuple(_KINDS)


def dataset_kind(kind: str) -> DatasetKind:
    return _KINDS[kind]


def kinds_taking(option: str) -> tuple[str, ...]:
    """The kinds whose reader takes ``option``."""
    return tuple(kind for kind, entry in _KINDS.items() if option in entry.options)


def parse_spec(spec: str) -> tuple[str, Path]:
    """Split ``KIND:PATH`` into its kind and path, checking the kind."""
    kind, separator, path = spec.partition(":")
    if not separator or not path:
        raise ValueError(
            f"dataset must be given as KIND:PATH with KIND one of {', '.join(dataset_kinds())}; got {spec!r}"
        )
    if kind not in _KINDS:
        raise ValueError(f"unknown dataset kind {kind!r} in {spec!r}; expected one of {', '.join(dataset_kinds())}")
    return kind, Path(path)


def open_dataset(spec: str, *, glosses: str | Path | None = None, **options: Any) -> Dataset:
    """Read the dataset named by ``KIND:PATH``. ``options`` are those of ``DatasetOptions`` (``videos``:
    the video folder of WLASL and How2Sign; ``subset``: the WLASL subset, 100, 300, 1000 or 2000;
    ``trimmed``: whether WLASL clips are already cut to the sign, ``None`` detects it;
    ``sequences_per_signer``: MP_Data's signer blocks) or of a registered kind; ``None`` is "not
    given". For any kind, ``glosses`` keeps the samples of a gloss list (``gloss_subset``). An option
    the kind does not take is a ``ValueError`` naming the kinds that do."""
    kind, path = parse_spec(spec)
    entry = _KINDS[kind]
    given = {name: value for name, value in options.items() if value is not None}
    known = set(dataset_option_names()).union(*(other.options for other in _KINDS.values()))
    for name in given:
        if name not in known:
            raise TypeError(f"open_dataset() got an unknown option {name!r}; known: {', '.join(sorted(known))}")
        if name not in entry.options:
            takers = " and ".join(kinds_taking(name)) or "no dataset kind"
            raise ValueError(f"--{name.replace('_', '-')} applies to {takers} only, not {kind}")
    dataset = entry.load()(path, **given)
    if glosses is None:
        return dataset
    from signscribe.data.gloss_subset import select_glosses

    return select_glosses(dataset, glosses)
