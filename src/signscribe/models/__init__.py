"""Models: a registry of pose classifiers and translators, and the model-folder format they are saved in."""

from signscribe.models import pose_transformer, stgcn, translation  # noqa: F401  (registers the families)
from signscribe.models.features import FeatureConfig, sequence_features
from signscribe.models.registry import create_model, list_models, model_task, register_model

__all__ = ["FeatureConfig", "create_model", "list_models", "model_task", "register_model", "sequence_features"]
