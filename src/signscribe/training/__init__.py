"""Training: one outline (``train_model``) for every task, with ``train`` for recognition and
``train_translation`` for translation, and their options (``TrainConfig``, ``TranslationConfig``)."""

from signscribe.training.config import TrainConfig, TrainingOptions, TranslationConfig
from signscribe.training.loop import TrainResult
from signscribe.training.outline import TrainingTask, train_model
from signscribe.training.recognition import train
from signscribe.training.translation import train_translation

__all__ = [
    "TrainConfig",
    "TrainResult",
    "TrainingOptions",
    "TrainingTask",
    "TranslationConfig",
    "train",
    "train_model",
    "train_translation",
]
