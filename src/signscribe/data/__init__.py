"""Dataset readers selected as ``KIND:PATH``: ``wlasl:``, ``how2sign:``, ``mp_data:``, ``asl_signs:``, ``csv:``,
``poses:`` and ``embeddings:`` (``kinds.py``), with the options of ``options.py``.

Each reader returns a ``Dataset`` of ``Sample``s; a sample's ``clip`` is what
``signscribe.pose.load_landmarks`` (or another input pipeline) reads. The names load their modules on
first use, so that the kinds and options can be listed without importing a reader (or PyAV).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from signscribe.lazy import lazy_exports

# public name -> the module that defines it
_EXPORTS = {
    "Dataset": ".dataset",
    "Sample": ".dataset",
    "DatasetOptions": ".options",
    "DatasetKind": ".kinds",
    "dataset_kind": ".kinds",
    "dataset_kinds": ".kinds",
    "kinds_taking": ".kinds",
    "open_dataset": ".kinds",
    "parse_spec": ".kinds",
    "register_dataset_kind": ".kinds",
    "read_glosses": ".gloss_subset",
    "read_asl_signs": ".asl_signs",
    "read_csv": ".table",
    "read_how2sign": ".how2sign",
    "read_mp_data": ".mp_data",
    "read_pose_folder": ".pose_folder",
    "read_wlasl": ".wlasl",
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from signscribe.data.asl_signs import read_asl_signs  # noqa: F401  (the lazy names, for type checkers)
    from signscribe.data.dataset import Dataset, Sample  # noqa: F401  (the lazy names, for type checkers)
    from signscribe.data.gloss_subset import read_glosses  # noqa: F401  (the lazy names, for type checkers)
    from signscribe.data.how2sign import read_how2sign  # noqa: F401  (the lazy names, for type checkers)
    from signscribe.data.kinds import (  # noqa: F401  (the lazy names, for type checkers)
        DatasetKind,
        dataset_kind,
        dataset_kinds,
        kinds_taking,
        open_dataset,
        parse_spec,
        register_dataset_kind,
    )
    from signscribe.data.mp_data import read_mp_data  # noqa: F401  (the lazy names, for type checkers)
    from signscribe.data.options import DatasetOptions  # noqa: F401  (the lazy names, for type checkers)
    from signscribe.data.pose_folder import read_pose_folder  # noqa: F401  (the lazy names, for type checkers)
    from signscribe.data.table import read_csv  # noqa: F401  (the lazy names, for type checkers)
    from signscribe.data.wlasl import read_wlasl  # noqa: F401  (the lazy names, for type checkers)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
