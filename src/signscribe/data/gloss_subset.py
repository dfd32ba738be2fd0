"""``--glosses FILE`` (or a shipped list, ``wlasl100`` or ``wlasl300``): keep a dataset's samples of those
glosses, with the list's order as the label order. A user's own glossary (InternVL3's 320 WLASL words,
say) is a file of the same kind: one gloss a line; blank lines and ``#`` comments are ignored."""

from __future__ import annotations

from dataclasses import replace
from importlib import resources
from pathlib import Path

from signscribe.data.dataset import Dataset
from signscribe.errors import DatasetError

SHIPPED = ("wlasl100", "wlasl300")


def read_glosses(source: str | Path) -> list[str]:
    """The glosses of a file, or of a shipped list named ``wlasl100`` or ``wlasl300``."""
    if str(source) in SHIPPED:
        text = resources.files("signscribe.data.glosses").joinpath(f"{source}.txt").read_text(encoding="utf-8")
        path = Path(f"{source}.txt")
    else:
        path = Path(source)
        if not path.is_file():
            raise DatasetError(path, f"gloss list not found (a file, or one of {', '.join(SHIPPED)})")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise DatasetError(path, f"not UTF-8 text ({error.reason})") from error
    glosses = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    repeated = sorted({gloss for gloss in glosses if glosses.count(gloss) > 1})
    if not glosses or repeated:
        raise DatasetError(path, f"repeated glosses {repeated[:5]}" if repeated else "no glosses in the list")
    return glosses


def select_glosses(dataset: Dataset, source: str | Path) -> Dataset:
    """The samples of the listed glosses (missing media likewise); the labels are the listed glosses
    that have samples, in the list's order. A note says how many listed glosses have none."""
    wanted = read_glosses(source)
    chosen = set(wanted)
    samples = [sample for sample in dataset.samples if sample.label in chosen]
    present = {sample.label for sample in samples}
    labels = [gloss for gloss in wanted if gloss in present]
    notes = list(dataset.notes)
    absent = [gloss for gloss in wanted if gloss not in present]
    if absent:
        notes.append(f"{len(absent)} of the {len(wanted)} listed glosses have no samples: {', '.join(absent[:10])}")
    missing = [sample for sample in dataset.missing if sample.label in chosen]
    return replace(dataset, samples=samples, missing=missing, labels=labels, notes=notes)
