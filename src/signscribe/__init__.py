"""signscribe: sign-language video to text.

The main API is importable from the package itself; each name loads its module on first use, so
``import signscribe`` stays fast (no torch, no MediaPipe)::

    import signscribe
    recognizer = signscribe.Recognizer.from_pretrained("default")
    recognizer.predict("clip.mp4", top_k=5)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from signscribe.lazy import lazy_exports
from signscribe.version import __version__

# public name -> the module that defines it
_EXPORTS = {
    "Recognizer": "signscribe.inference",
    "Transcriber": "signscribe.inference",
    "TranscriptionSettings": "signscribe.inference",
    "Translator": "signscribe.inference",
    "load_pretrained": "signscribe.models",
    "create_model": "signscribe.models",
    "list_models": "signscribe.models",
    "register_model": "signscribe.models",
    "open_dataset": "signscribe.data",
    "register_dataset_kind": "signscribe.data",
    "PoseSequence": "signscribe.pose",
    "ExtractionSettings": "signscribe.pose",
    "load_landmarks": "signscribe.pose",
    "extract_poses": "signscribe.pose",
    "TrainConfig": "signscribe.training",
    "TranslationConfig": "signscribe.training",
    "train": "signscribe.training",
    "train_translation": "signscribe.training",
    "evaluate": "signscribe.evaluation",
    "SignscribeError": "signscribe.errors",
}
__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:
    from signscribe.data import open_dataset, register_dataset_kind  # noqa: F401  (the lazy names, for type checkers)
    from signscribe.errors import SignscribeError  # noqa: F401  (the lazy names, for type checkers)
    from signscribe.evaluation import evaluate  # noqa: F401  (the lazy names, for type checkers)
    from signscribe.inference import Recognizer, Transcriber, TranscriptionSettings, Translator  # noqa: F401  (the lazy names, for type checkers)
    from signscribe.models import create_model, list_models, load_pretrained, register_model  # noqa: F401  (the lazy names, for type checkers)
    from signscribe.pose import ExtractionSettings, PoseSequence, extract_poses, load_landmarks  # noqa: F401  (the lazy names, for type checkers)
    from signscribe.training import TrainConfig, TranslationConfig, train, train_translation  # noqa: F401  (the lazy names, for type checkers)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
