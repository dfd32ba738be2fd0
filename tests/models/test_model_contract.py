"""The contract every registered family keeps, walked over ``list_models()`` as timm's tests walk its
registry: built with its ``input_defaults`` and fed its pipeline's made-up example, a recognition
family gives one logit a class and a pooled ``clip_embedding`` (what a sign bank compares), a
translation family gives token logits, and every distinct graph learns and exports to ONNX, agreeing
with PyTorch. A family added without passing here, or without a reason to be left out, fails the
walk. The commands' whole path (train, evaluate, recognise real clips) is ``test_video_models.py``'s
for RGB families and ``test_training.py``'s for the others."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from signscribe.export import export_onnx, verify
from signscribe.export.onnx import made_up_inputs
from signscribe.models import create_model, list_models, load_pretrained, model_family
from signscribe.models.inputs import FramesConfig, InputPipeline, input_pipeline
from signscribe.models.onnx_model import OnnxModel
from signscribe.models.pretrained import model_config_json, save_model_folder

CLASSES = 5
# Larger variants of a family whose smaller ones pass here: the same code at larger widths, 10-30 s a
# forward pass at their clip size on 2 CPU cores.
HEAVY = {
    **{
        f"movinet_{variant}{stream}": "movinet_a0-a2 run the same blocks"
        for variant in ("a3", "a4", "a5")
        for stream in ("", "_stream")
    },
    "x3d_l": "x3d_xs, x3d_s and x3d_m run the same blocks",
}
# What a family needs beyond its input settings: an ensemble its members, a small translation model.
OPTIONS: dict[str, dict[str, Any]] = {
    "ensemble": {
        "members": [
            {"architecture": "pose_transformer", "model_config": {"dim": 32, "depth": 1, "heads": 2}},
            {"architecture": "stgcn", "model_config": {}},
        ]
    },
    "pose_to_text": {"dim": 32, "depth": 1, "heads": 2},
}
# Input settings the pipeline learns from training data (the embeddings' width), and the small clip an
# RGB family learns and exports on (a traced graph depends on the shapes, which the forward test covers).
FITTED = {"gloss_classifier": {"width": 16}}
SMALL_FRAMES = {"frames": 8, "size": 64, "resize": 72}
# Variants whose graph is a sibling's at other widths and depths: the sibling's learning and export
# cover them (an RGB export takes 15-60 s here).
SAME_GRAPH = {
    **{f"movinet_{variant}{stream}": f"movinet_a0{stream}" for variant in ("a1", "a2") for stream in ("", "_stream")},
    "x3d_s": "x3d_xs",
    "x3d_m": "x3d_xs",
}


def _light(task: str) -> list[str]:
    return [name for name in list_models(task) if name not in HEAVY]


def _distinct() -> list[str]:
    """One recognition family of each graph."""
    return [name for name in _light("recognition") if name not in SAME_GRAPH]


def _pipeline(name: str, **settings: Any) -> InputPipeline:
    family = model_family(name)
    return input_pipeline(family.input_kind, {**family.input_defaults, **FITTED.get(name, {}), **settings})


def _batch(pipeline: InputPipeline) -> tuple[torch.Tensor, ...]:
    rng = np.random.default_rng(0)
    return pipeline.collate([pipeline.made_up_example(rng) for _ in range(2)], [0, 1]).inputs


def test_every_family_is_walked_or_left_out_with_a_reason() -> None:
    assert set(HEAVY) <= set(list_models()) and set(SAME_GRAPH.values()) <= set(_distinct())
    assert set(_light("recognition")) | set(_light("translation")) | set(HEAVY) == set(list_models())
    assert {"pose_transformer", "stgcn", "ensemble", "i3d", "s3d", "x3d_xs", "movinet_a0_stream"} <= set(
        _light("recognition")
    )


@pytest.mark.parametrize("name", _light("recognition"))
def test_a_recognition_family_gives_class_logits_and_a_clip_embedding(name: str) -> None:
    pipeline = _pipeline(name)
    torch.manual_seed(0)
    model = create_model(name, CLASSES, **pipeline.model_config(), **OPTIONS.get(name, {})).eval()
    inputs = _batch(pipeline)
    with torch.no_grad():
        logits, embedding = model(*inputs), model.clip_embedding(*inputs)
    assert logits.shape == (2, CLASSES) and torch.isfinite(logits).all()
    assert embedding.ndim == 2 and embedding.shape[0] == 2 and embedding.shape[1] >= 16
    assert torch.isfinite(embedding).all() and not torch.allclose(embedding[0], embedding[1])


@pytest.mark.parametrize("name", _light("translation"))
def test_a_translation_family_gives_token_logits(name: str) -> None:
    pipeline, vocabulary = _pipeline(name), 40
    model = create_model(name, vocabulary, **pipeline.model_config(), **OPTIONS.get(name, {})).eval()
    tokens = torch.randint(0, vocabulary, (2, 7))
    with torch.no_grad():
        logits = model(*_batch(pipeline), tokens)
    assert logits.shape == (2, 7, vocabulary) and torch.isfinite(logits).all()


def _small_pipeline(name: str) -> InputPipeline:
    """The family's pipeline, with small clips for an RGB family (fast to train and to trace)."""
    frames = isinstance(input_pipeline(model_family(name).input_kind), FramesConfig)
    return _pipeline(name, **(SMALL_FRAMES if frames else {}))


@pytest.mark.parametrize("name", _distinct())
def test_a_recognition_family_learns(name: str) -> None:
    """A few optimiser steps on one made-up batch lower its loss: gradients reach the weights."""
    pipeline = _small_pipeline(name)
    torch.manual_seed(0)
    model = create_model(name, CLASSES, **pipeline.model_config(), **OPTIONS.get(name, {})).train()
    inputs, targets = _batch(pipeline), torch.tensor([0, 1])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(4):
        loss = torch.nn.functional.cross_entropy(model(*inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0], losses


@pytest.mark.parametrize("name", _distinct())
def test_a_recognition_family_exports_and_agrees_with_torch(name: str, tmp_path: Path) -> None:
    pipeline = _small_pipeline(name)
    torch.manual_seed(0)
    options = {**pipeline.model_config(), **OPTIONS.get(name, {})}
    model = create_model(name, CLASSES, **options)
    config = model_config_json(name, options, pipeline, CLASSES, {})
    labels = {"labels.json": json.dumps([f"sign{index}" for index in range(CLASSES)])}
    loaded = load_pretrained(save_model_folder(model, tmp_path / name, config, labels, "card"))
    inputs = made_up_inputs(loaded)
    exported = OnnxModel(export_onnx(loaded, inputs, tmp_path / f"{name}.onnx"))
    checked = verify(exported, loaded.model, [tuple(tensor[:1] for tensor in inputs), inputs])
    assert checked.max_abs_difference < 1e-4 and checked.top1_agreement == 1.0
