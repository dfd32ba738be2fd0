"""A folder of ``.pose`` files, as ``signscribe extract`` writes it: each ``<name>.pose`` labelled by
the ``<name>.txt`` beside it (a gloss or a whole sentence), or else by its sub-folder
(``<label>/<name>.pose``)."""

from __future__ import annotations

from pathlib import Path

from signscribe.data.dataset import Dataset, Sample, partition
from signscribe.errors import DatasetError
from signscribe.pose.batch import LABEL_SUFFIX
from signscribe.pose.posefile import POSE_SUFFIX


def read_pose_folder(folder: str | Path) -> Dataset:
    """Each ``.pose`` file under ``folder``, labelled by its ``.txt`` sibling or its first sub-folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(folder, "not a folder")
    samples = []
    for path in sorted(folder.rglob(f"*{POSE_SUFFIX}")):
        relative = path.relative_to(folder)
        if (text := path.with_suffix(LABEL_SUFFIX)).is_file():
            label = text.read_text(encoding="utf-8").strip()
            if not label:
                raise DatasetError(text, "empty label")
        elif len(relative.parts) >= 2:
            label = relative.parts[0]
        else:
            raise DatasetError(path, f"no {LABEL_SUFFIX} label beside it and no label sub-folder around it")
        samples.append(Sample(id=relative.with_suffix("").as_posix(), path=path, label=label))
    if not samples:
        raise DatasetError(folder, "no .pose files found")
    return partition("poses", folder, samples)
