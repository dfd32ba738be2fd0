"""Input pipelines, one per input kind: how clips become model tensors (see ``base``).

Each name loads its module on first use (``base.input_pipeline`` imports a built-in kind's module
when it is asked for), so the landmark pipeline works without importing torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from signscribe.lazy import lazy_exports

# public name -> the module that defines it
_EXPORTS = {
    "InputPipeline": ".base",
    "ModelBatch": ".base",
    "PreparedSamples": ".base",
    "input_kinds": ".base",
    "input_pipeline": ".base",
    "prepare_samples": ".base",
    "register_input_kind": ".base",
    "EmbeddingsConfig": ".embeddings",
    "ExampleSet": ".examples",
    "predict_logits": ".examples",
    "FramesConfig": ".frames",
    "Batch": ".landmarks",
    "FeatureConfig": ".landmarks",
    "collate": ".landmarks",
    "sequence_features": ".landmarks",
    "VideoPromptConfig": ".video_prompt",
}
__all__ = list(_EXPORTS)

if TYPE_CHECKING:
    from signscribe.models.inputs.base import (  # noqa: F401
        InputPipeline,
        ModelBatch,
        PreparedSamples,
        input_kinds,
        input_pipeline,
        prepare_samples,
        register_input_kind,
    )
    from signscribe.models.inputs.embeddings import EmbeddingsConfig  # noqa: F401
    from signscribe.models.inputs.examples import ExampleSet, predict_logits  # noqa: F401
    from signscribe.models.inputs.frames import FramesConfig  # noqa: F401
    from signscribe.models.inputs.landmarks import Batch, FeatureConfig, collate, sequence_features  # noqa: F401
    from signscribe.models.inputs.video_prompt import VideoPromptConfig  # noqa: F401


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
