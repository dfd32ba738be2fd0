"""MediaPipe "MP_Data" datasets: ``<label>/<sequence>/<frame>.npy``, one folder a labelled sequence,
as a folder or an archive. One sequence is read by ``signscribe.pose.mp_data``, which describes
the frame layouts."""

from __future__ import annotations

import shutil
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path

from signscribe.data.dataset import Dataset, Sample, partition
from signscribe.errors import DatasetError
from signscribe.pose.cache import content_hash, default_cache_dir
from signscribe.pose.mp_data import numeric_key

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".zip")


def _is_archive(path: Path) -> bool:
    return path.is_file() and path.name.endswith(ARCHIVE_SUFFIXES)


def unpack_archive(archive: Path) -> Path:
    """Unpack an archive once into the cache (keyed by its content) and return that folder; processes
    that unpack the same archive at once each unpack it aside, and the first to finish wins."""
    target = default_cache_dir() / "archives" / content_hash(archive)
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".unpack-"))
    try:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as bundle:
                bundle.extractall(staging)
        else:
            with tarfile.open(archive) as bundle:
                bundle.extractall(staging, filter="data")
        try:
            staging.rename(target)
        except OSError:
            if not target.is_dir():
                raise
            shutil.rmtree(staging, ignore_errors=True)  # another process unpacked it meanwhile: same content
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError, zlib.error) as error:
        shutil.rmtree(staging, ignore_errors=True)  # a truncated archive ends in EOFError
        reason = "the archive is truncated" if isinstance(error, EOFError) else str(error)
        raise DatasetError(archive, f"cannot unpack archive: {reason}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def find_root(folder: Path) -> Path:
    """The folder whose subfolders are labels holding sequence folders of ``.npy`` frames."""
    for candidate in [folder, *sorted(p for p in folder.rglob("*") if p.is_dir())]:
        for label in (p for p in candidate.iterdir() if p.is_dir()):
            if any(sequence.is_dir() and any(sequence.glob("*.npy")) for sequence in label.iterdir()):
                return candidate
    raise DatasetError(folder, "no MP_Data layout found (<label>/<sequence>/<frame>.npy)")


def read_mp_data(path: str | Path, sequences_per_signer: int | None = None) -> Dataset:
    """Read an MP_Data folder, or a ``.tar``/``.tar.gz``/``.zip`` archive holding one.

    The layout names no signer; when each signer recorded a block of consecutive sequence numbers
    (traduttore: 0-29, 30-59, 60-89), ``sequences_per_signer`` makes signer ``sequence // n``.
    """
    path = Path(path)
    if not path.exists():
        raise DatasetError(path, "not found")
    root = find_root(unpack_archive(path) if _is_archive(path) else path)
    samples = []
    for label in sorted(p for p in root.iterdir() if p.is_dir()):
        for sequence in sorted((p for p in label.iterdir() if p.is_dir()), key=numeric_key):
            signer = None
            if sequences_per_signer and sequence.name.isdigit():
                signer = str(int(sequence.name) // sequences_per_signer)
            samples.append(Sample(id=f"{label.name}/{sequence.name}", path=sequence, label=label.name, signer=signer))
    if not samples:
        raise DatasetError(root, "no sequences found")
    return partition("mp_data", path, samples)
