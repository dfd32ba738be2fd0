"""Training pose classifiers: ``TrainConfig`` and ``train``."""

from signscribe.training.config import TrainConfig
from signscribe.training.trainer import TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "train"]
