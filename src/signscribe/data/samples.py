"""The samples that ship with signscribe, so a fresh install has something to recognise and train on:
12 landmark clips (``.pose``) of 4 signs (hello, thank-you, coffee, tea) by 3 signers, each a
sequence of the traduttore MP_Data set (MIT licence, ``samples/LICENSE``), with ``samples.csv``
(``path,label,signer``) so that ``train --data csv:samples/samples.csv`` reads them."""

from __future__ import annotations

from pathlib import Path

from signscribe.files import atomic_write

SAMPLES_DIR = Path(__file__).parent / "samples"


def sample_files() -> list[Path]:
    """The bundled sample files: the clips, their CSV and the licence."""
    return sorted(path for path in SAMPLES_DIR.iterdir() if path.is_file())


def copy_samples(out: str | Path) -> list[Path]:
    """Copy the samples into ``out`` (created if needed), each file written whole or not at all."""
    out = Path(out)
    copied = []
    for source in sample_files():
        with atomic_write(out / source.name) as target:
            target.write(source.read_bytes())
        copied.append(out / source.name)
    return copied
