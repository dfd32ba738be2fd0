"""Models: a registry of pose classifiers and the model-folder format they are saved in."""

from signscribe.models import pose_transformer, stgcn  # noqa: F401  (registers the families)
from signscribe.models.features import FeatureConfig, sequence_features
from signscribe.models.registry import create_model, list_models, register_model

__all__ = ["FeatureConfig", "create_model", "list_models", "register_model", "sequence_features"]
