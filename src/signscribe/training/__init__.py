"""Training: one outline (``train_model``) for every task, with ``train`` for recognition and
``train_translation`` for translation, and their options (``TrainConfig``, ``TranslationConfig``).
The names load their modules on first use, so that the command line reads the options' fields
without importing torch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from signscribe.lazy import lazy_exports

# public name -> the module that defines it
_EXPORTS = {
    "TrainConfig": ".config",
    "TrainingOptions": ".config",
    "TranslationConfig": ".config",
    "TrainResult": ".loop",
    "TrainingTask": ".outline",
    "train_model": ".outline",
    "train": ".recognition",
    "train_translation": ".translation",
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from signscribe.training.config import TrainConfig, TrainingOptions, TranslationConfig  # noqa: F401  (the lazy names, for type checkers)
    from signscribe.training.loop import TrainResult  # noqa: F401  (the lazy names, for type checkers)
    from signscribe.training.outline import TrainingTask, train_model  # noqa: F401  (the lazy names, for type checkers)
    from signscribe.training.recognition import train  # noqa: F401  (the lazy names, for type checkers)
    from signscribe.training.translation import train_translation  # noqa: F401  (the lazy names, for type checkers)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
