"""Models: a registry of families (each with a task and an input kind), the input pipelines that feed
them, and the model folder with its one loader, ``load_pretrained``.

Each name loads its module on first use, and the registry imports the built-in families when it is
first asked: an exported model (``models/onnx_model.py``) loads and runs without importing torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from signscribe.lazy import lazy_exports

# public name -> the module that defines it
_EXPORTS = {
    "FeatureConfig": "signscribe.models.inputs",
    "InputPipeline": "signscribe.models.inputs",
    "input_pipeline": "signscribe.models.inputs",
    "sequence_features": "signscribe.models.inputs",
    "LoadedModel": "signscribe.models.pretrained",
    "ModelFolderError": "signscribe.models.pretrained",
    "load_pretrained": "signscribe.models.pretrained",
    "create_model": "signscribe.models.registry",
    "list_models": "signscribe.models.registry",
    "model_family": "signscribe.models.registry",
    "model_task": "signscribe.models.registry",
    "register_model": "signscribe.models.registry",
}
__all__ = list(_EXPORTS)

if TYPE_CHECKING:
    from signscribe.models.inputs import FeatureConfig, InputPipeline, input_pipeline, sequence_features  # noqa: F401
    from signscribe.models.pretrained import LoadedModel, ModelFolderError, load_pretrained  # noqa: F401
    from signscribe.models.registry import (  # noqa: F401
        create_model,
        list_models,
        model_family,
        model_task,
        register_model,
    )


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
