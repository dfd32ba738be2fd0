"""The options of a dataset besides its ``KIND:PATH``, declared once here. ``open_dataset`` takes them,
each kind takes some of them (``DatasetKind.options``), the training configs inherit them, and every
command that reads a dataset offers them all (``signscribe.cli.options.offers``): a new option is one
field here and a parameter of its readers."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


def described(help: str, flag: str | None = None, metavar: str | None = None) -> dict[str, str | None]:
    """A field's metadata that makes it a command-line option: its help, and its flag when not
    ``--name`` (``--trimmed/--untrimmed``)."""
    return {"help": help, "flag": flag, "metavar": metavar}


@dataclass
class DatasetOptions:
    """What a dataset reader may need besides the path; ``None`` is "not given"."""

    videos: str | None = field(default=None, metadata=described("The folder of the dataset's videos.", None, "DIR"))
    subset: int | None = field(default=None, metadata=described("WLASL subset: 100, 300, 1000 or 2000."))
    trimmed: bool | None = field(
        default=None, metadata=described("Clips already cut to the sign (default: detected).", "--trimmed/--untrimmed")
    )
    sequences_per_signer: int | None = field(
        default=None, metadata=described("Sequence numbers each signer recorded (signer = sequence // N).")
    )
    glosses: str | None = field(
        default=None,
        metadata=described("Only these glosses: a file (one a line), or wlasl100 / wlasl300.", None, "FILE"),
    )

    def dataset_options(self) -> dict[str, Any]:
        """The dataset options given (not ``None``), as ``open_dataset``'s keywords: only those of
        ``DatasetOptions``, also in a subclass that adds others."""
        return {item.name: value for item in fields(DatasetOptions) if (value := getattr(self, item.name)) is not None}


def dataset_option_names() -> tuple[str, ...]:
    return tuple(item.name for item in fields(DatasetOptions))
