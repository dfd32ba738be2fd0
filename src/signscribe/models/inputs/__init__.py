"""Input pipelines, one per input kind: how clips become model tensors (see ``base``)."""

from signscribe.models.inputs.base import (
    InputPipeline,
    ModelBatch,
    PreparedSamples,
    input_kinds,
    input_pipeline,
    prepare_samples,
    register_input_kind,
)
from signscribe.models.inputs.embeddings import EmbeddingsConfig
from signscribe.models.inputs.examples import ExampleSet, predict_logits
from signscribe.models.inputs.frames import FramesConfig
from signscribe.models.inputs.landmarks import Batch, FeatureConfig, collate, sequence_features
from signscribe.models.inputs.video_prompt import VideoPromptConfig

__all__ = [
    "Batch",
    "EmbeddingsConfig",
    "ExampleSet",
    "FeatureConfig",
    "FramesConfig",
    "InputPipeline",
    "ModelBatch",
    "PreparedSamples",
    "VideoPromptConfig",
    "collate",
    "input_kinds",
    "input_pipeline",
    "predict_logits",
    "prepare_samples",
    "register_input_kind",
    "sequence_features",
]
