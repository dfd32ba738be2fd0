"""Models: a registry of families (each with a task and an input kind), the input pipelines that feed
them, and the model folder with its one loader, ``load_pretrained``."""

from signscribe.models import (  # noqa: F401  (registers the families)
    ensemble,
    gloss_classifier,
    i3d,
    movinet,
    pose_transformer,
    stgcn,
    translation,
    x3d,
)
from signscribe.models.inputs import FeatureConfig, InputPipeline, input_pipeline, sequence_features
from signscribe.models.pretrained import LoadedModel, ModelFolderError, load_pretrained
from signscribe.models.registry import create_model, list_models, model_family, model_task, register_model

__all__ = [
    "FeatureConfig",
    "InputPipeline",
    "LoadedModel",
    "ModelFolderError",
    "create_model",
    "input_pipeline",
    "list_models",
    "load_pretrained",
    "model_family",
    "model_task",
    "register_model",
    "sequence_features",
]
