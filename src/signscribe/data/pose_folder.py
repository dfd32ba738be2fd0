"""A folder of ``.pose`` files, as ``signscribe extract`` writes it: ``<label>/<name>.pose``."""

from __future__ import annotations

from pathlib import Path

from signscribe.data.dataset import POSE_SUFFIX, Dataset, Sample, partition
from signscribe.errors import DatasetError


def read_pose_folder(folder: str | Path) -> Dataset:
    """Each ``.pose`` file under ``folder``, labelled by its first sub-folder (``<label>/.../<name>.pose``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(folder, "not a folder")
    samples = []
    for path in sorted(folder.rglob(f"*{POSE_SUFFIX}")):
        relative = path.relative_to(folder)
        if len(relative.parts) < 2:
            raise DatasetError(path, "a .pose file must sit in a sub-folder named after its label")
        samples.append(Sample(id=relative.with_suffix("").as_posix(), path=path, label=relative.parts[0]))
    if not samples:
        raise DatasetError(folder, "no .pose files found")
    return partition("poses", folder, samples)
