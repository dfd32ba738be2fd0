"""Evaluate a model folder on a dataset: metrics, a JSON report and the confusion matrix (PNG and HTML)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from signscribe.data import open_dataset
from signscribe.data.dataset import Sample
from signscribe.errors import SignscribeError
from signscribe.evaluation.confusion import confusion_html, plot_confusion
from signscribe.evaluation.metrics import ClassificationReport, classification_report
from signscribe.files import write_text_atomic
from signscribe.inference.recognizer import Recognizer
from signscribe.models.inputs import ExampleSet, predict_logits, prepare_samples
from signscribe.progress import ProgressCallback


def evaluate(
    recognizer: Recognizer,
    spec: str,
    split: str | None = None,
    signer: str | None = None,
    batch: int = 64,
    on_progress: ProgressCallback | None = None,
    workers: int = 1,
    **dataset_options: Any,
) -> tuple[ClassificationReport, list[tuple[Sample, str]]]:
    """Metrics of the model on the dataset (or one split or signer of it) and the samples left out with
    the reason: those whose media file is missing, then those that failed to load. ``dataset_options``
    are those of ``open_dataset`` (``videos``, ``subset``, ...). With ``workers > 1`` the videos'
    landmarks are first extracted into the pose cache in parallel."""
    dataset = open_dataset(spec, **dataset_options)
    if split is not None:
        dataset = dataset.select(split)
    samples = [s for s in dataset.samples if signer is None or s.signer == signer]
    missing = [(s, f"media not found: {s.path}") for s in dataset.missing if signer is None or s.signer == signer]
    if not samples:
        raise SignscribeError(
            f"{spec}: no samples with media{f' in split {split!r}' if split else ''}"
            f"{f' from signer {signer!r}' if signer else ''}"
        )
    report, failed = evaluate_samples(recognizer, samples, spec, batch, on_progress, workers)
    return report, missing + failed


def evaluate_samples(
    recognizer: Recognizer,
    samples: list[Sample],
    source: str,
    batch: int = 64,
    on_progress: ProgressCallback | None = None,
    workers: int = 1,
) -> tuple[ClassificationReport, list[tuple[Sample, str]]]:
    """Metrics of the model on ``samples`` (of the data ``source`` names, in errors) and those that
    failed to load, with why."""
    index = {label: i for i, label in enumerate(recognizer.labels)}
    unknown = sorted({s.label for s in samples if s.label not in index}, key=str)
    if unknown:
        raise SignscribeError(
            f"{source}: {len(unknown)} label(s) the model does not know, e.g. {unknown[:5]}; "
            f"the model has {len(index)} labels"
        )
    pipeline = recognizer.loaded.features
    pipeline.prefetch([sample.clip for sample in samples], recognizer.extractor, workers)
    prepared = prepare_samples(pipeline, samples, recognizer.extractor, on_progress)
    if not prepared.items:
        raise SignscribeError(f"{source}: no sample could be loaded; first failure: {prepared.failed[0][1]}")
    targets = [index[s.label] for s in prepared.samples]
    logits = predict_logits(recognizer.loaded.model, ExampleSet(pipeline, prepared.items, targets), batch)
    probabilities = torch.from_numpy(recognizer.probabilities(logits.numpy(), prepared.items))
    scores = probabilities.clamp_min(1e-12).log()
    return classification_report(scores, torch.tensor(targets), recognizer.labels), prepared.failed


def write_report(report: ClassificationReport, folder: Path | None, json_path: Path | None) -> list[Path]:
    """``report.json``, ``confusion_matrix.png`` and ``confusion_matrix.html`` in ``folder``, and/or the
    JSON at ``json_path``."""
    written = []
    text = json.dumps(report.to_dict(), indent=2)
    if folder is not None:
        write_text_atomic(folder / "report.json", text)
        written += [
            folder / "report.json",
            plot_confusion(report.confusion, report.labels, folder / "confusion_matrix.png"),
            confusion_html(report.confusion, report.labels, folder / "confusion_matrix.html"),
        ]
    if json_path is not None:
        write_text_atomic(json_path, text)
        written.append(json_path)
    return written
