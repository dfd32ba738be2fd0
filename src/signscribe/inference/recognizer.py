"""Isolated sign recognition: a clip (video, ``.pose`` file, MP_Data sequence or landmarks) in, ranked
glosses out. Probabilities are numpy arrays: with an exported model, recognition never imports torch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from signscribe.errors import InputFileError, SignscribeError
from signscribe.inference.runner import ModelRunner
from signscribe.models.pretrained import LoadedModel
from signscribe.pose.activity import SigningDetector
from signscribe.pose.extract import HolisticExtractor
from signscribe.pose.source import ClipSource
from signscribe.progress import ProgressCallback

IDLE_LABEL = "-"  # the label of "no sign", in models trained with one


@dataclass(frozen=True)
class Prediction:
    gloss: str
    confidence: float  # softmax probability


@dataclass(frozen=True)
class NoGloss:
    """Why a clip gets no gloss: ``code`` is ``resting`` (the no-sign detector: no hand raised) or
    ``unknown_sign`` (the best gloss below the model's calibrated ``rejection`` confidence)."""

    code: str
    message: str


@dataclass(frozen=True)
class Attention:
    """Where a model with attention pooling looked: a weight per row it pooled over (they sum to 1),
    and each row's time in seconds from the clip's start, when the input tells it."""

    weights: list[float]
    times: list[float] | None


class Recognizer(ModelRunner):
    """A recognition model plus the pose extractor that feeds it.

    A model with the idle label ``-`` answers it for a clip in which the signer rests: the no-sign
    detector (``signscribe.pose.activity``) overrides the model there, so resting with the hands in
    view is not taken for a sign the model never saw as idle. ``answer`` gives a model without one no
    gloss for such a clip, nor for one whose best gloss is below the confidence its ``config.json``
    ``rejection`` calibrated (a sign outside its vocabulary), unless ``reject`` is false; ``predict``
    always ranks the glosses (the forced choice benchmarks measure).

    >>> recognizer = Recognizer.from_pretrained("default")   # or a model folder, or a hub id
    >>> recognizer.predict("clip.mp4", top_k=5)
    """

    task = "recognition"

    def __init__(
        self, loaded: LoadedModel, extractor: HolisticExtractor | None = None, device: str | None = None
    ) -> None:
        super().__init__(loaded, extractor, device)
        landmarks = loaded.input_kind == "landmarks"
        self.detector = SigningDetector.from_config(loaded.config.get("detector")) if landmarks else None
        self.reject = True
        self.min_confidence: float | None = loaded.config.get("rejection", {}).get("min_confidence")
        self.allowed: np.ndarray | None = None  # the labels ranked, when ``only`` narrowed them

    @property
    def label_sets(self) -> dict[str, list[str]]:
        """The sets of its labels a model names (``config.json`` ``label_sets``), e.g. ``letters``."""
        return dict(self.loaded.config.get("label_sets", {}))

    def only(self, labels: str | Sequence[str] | None) -> None:
        """Rank only some of the model's labels from now on (``None``: all again); see ``label_mask``."""
        self.allowed = self.label_mask(labels)

    def label_mask(self, labels: str | Sequence[str] | None) -> np.ndarray | None:
        """Which labels are ranked when only ``labels`` are (``None``: all): a set the model names
        (``label_sets``), a file of labels one a line, or a list. A photo of V or of 2 is the same
        hand: the caller who knows a digit is coming says so, rather than the model guessing. The idle
        label stays, so rest is still told."""
        if labels is None:
            return None
        if isinstance(labels, str):
            if labels in self.label_sets:
                labels = self.label_sets[labels]
            elif Path(labels).is_file():
                lines = Path(labels).read_text(encoding="utf-8").splitlines()
                labels = [line.strip() for line in lines if line.strip()]
            else:
                sets = ", ".join(self.label_sets) or "none"
                raise InputFileError(labels, f"neither a file of labels nor a set this model names (its sets: {sets})")
        unknown = [label for label in labels if label not in self.labels]
        if unknown or not labels:
            known = len(self.labels)
            raise SignscribeError(f"{self.loaded.path}: the model has no label(s) {unknown[:5]}; it has {known}")
        return np.isin(self.labels, [*labels, IDLE_LABEL])

    @property
    def labels(self) -> list[str]:
        if self.loaded.labels is None:  # only a video language model has none: it answers freely
            raise SignscribeError(
                f"{self.loaded.path}: this video language model has no label list to rank; give --labels FILE"
            )
        return self.loaded.labels

    @property
    def sign_seconds(self) -> float:
        """How long the clips the model was trained on last (``config.json`` ``input``): one sign."""
        trained = self.loaded.config.get("input", {})
        return float(trained.get("frames", 32)) / float(trained.get("fps", 30))

    @property
    def answers_freely(self) -> bool:
        """A video language model without labels: it writes its answer, one per clip."""
        return self.loaded.labels is None

    @property
    def idle_index(self) -> int | None:
        if self.answers_freely:
            return None
        return self.labels.index(IDLE_LABEL) if IDLE_LABEL in self.labels else None

    def scores(self, clips: list[ClipSource], on_progress: ProgressCallback | None = None) -> np.ndarray:
        """Class probabilities ``(clips, labels)``."""
        prepared = self.prepare(clips, on_progress)
        return self.probabilities(self.logits(prepared), prepared)

    def probabilities(self, logits: np.ndarray, prepared: list[Any], allowed: np.ndarray | None = None) -> np.ndarray:
        """The class probabilities of the model's ``logits`` for ``prepared`` clips: resting clips
        given the idle label (``resting_as_idle``), and only the labels ``allowed`` (default: those
        ``only`` kept) ranked."""
        probabilities = self.resting_as_idle(softmax(logits), prepared)
        allowed = self.allowed if allowed is None else allowed
        if allowed is None:
            return probabilities
        kept = probabilities * allowed
        return kept / kept.sum(axis=-1, keepdims=True).clip(min=1e-12)

    def resting_as_idle(self, probabilities: np.ndarray, prepared: list[Any]) -> np.ndarray:
        """``probabilities`` with each row of a resting clip set to the idle label, for a landmark model
        that has one (others are left as they are)."""
        if self.idle_index is None or self.detector is None:
            return probabilities
        resting = np.array([not self.detector.is_signing(item) for item in prepared])
        if resting.any():
            probabilities = probabilities.copy()
            probabilities[resting] = np.eye(len(self.labels), dtype=probabilities.dtype)[self.idle_index]
        return probabilities

    def predict(
        self, clip: ClipSource, top_k: int = 5, on_progress: ProgressCallback | None = None
    ) -> list[Prediction]:
        """The ``top_k`` most likely glosses, best first; ``on_progress`` follows the clip's loading. A
        video language model without labels gives its one answer, with the answer's probability."""
        if self.answers_freely:
            (video,) = self.model_inputs(self.prepare([clip], on_progress))
            return [Prediction(*self.loaded.model.answer(video)[0])]
        return self.ranked(self.scores([clip], on_progress)[0], top_k)

    def answer(
        self,
        clip: ClipSource,
        top_k: int = 5,
        on_progress: ProgressCallback | None = None,
        labels: str | Sequence[str] | None = None,
    ) -> tuple[list[Prediction], NoGloss | None]:
        """The ``top_k`` glosses, or none and the reason (see the class): what a user is shown; with
        ``labels``, only those are ranked for this clip (``label_mask``)."""
        if self.answers_freely:
            return self.predict(clip, top_k, on_progress), None
        allowed = self.label_mask(labels) if labels is not None else self.allowed
        prepared = self.prepare([clip], on_progress)
        ranked = self.ranked(self.probabilities(self.logits(prepared), prepared, allowed)[0], top_k, allowed)
        no_gloss = self.no_gloss(ranked[0], prepared[0])
        return ([] if no_gloss else ranked), no_gloss

    def no_gloss(self, best: Prediction, prepared: Any) -> NoGloss | None:
        """Why the clip behind ``prepared``, whose best gloss is ``best``, gets none (``None``: it gets one)."""
        if not self.reject or self.idle_index is not None:
            return None  # the forced choice, or a model that answers rest with its idle label
        if self.detector is not None and not self.detector.is_signing(prepared):
            return NoGloss("resting", "no sign: the signer's hands rest (none is raised to sign)")
        return self.unknown_sign(best)

    def unknown_sign(self, best: Prediction) -> NoGloss | None:
        """The answer "not one of the signs I know" when ``best`` is below the calibrated confidence."""
        if not self.reject or self.min_confidence is None or best.confidence >= self.min_confidence:
            return None
        return NoGloss(
            "unknown_sign",
            f"not one of the {len(self.labels)} signs this model knows (its best guess, {best.gloss}, "
            f"has {best.confidence:.0%}, below the calibrated {self.min_confidence:.0%})",
        )

    @property
    def explains(self) -> bool:
        """Whether the model pools with attention that ``explain`` can show."""
        model = self.loaded.model
        return callable(getattr(model, "explain", None)) and getattr(model, "attention", None) is not None

    def explain(
        self, clip: ClipSource, top_k: int = 5, on_progress: ProgressCallback | None = None
    ) -> tuple[list[Prediction], Attention]:
        """The ``top_k`` glosses and the model's attention over the clip (``gloss_classifier``, and
        ``pose_transformer`` trained with ``pooling: attention``)."""
        model = self.loaded.model
        if not self.explains:
            raise SignscribeError(
                f"{self.loaded.path}: a {self.loaded.config.get('architecture')} model has no attention to show; "
                "gloss_classifier and pose_transformer with model_config pooling=attention have"
            )
        import torch

        prepared = self.prepare([clip], on_progress)
        with torch.no_grad():
            logits, weights = model.explain(*self.model_inputs(prepared))
        rows = weights[0].float().cpu().numpy()
        times = self.loaded.features.row_times(prepared[0], len(rows))
        attention = Attention(
            [round(float(w), 6) for w in rows], None if times is None else [round(float(t), 4) for t in times]
        )
        return self.ranked(softmax(logits[0].float().cpu().numpy()), top_k), attention

    def ranked(self, probabilities: np.ndarray, top_k: int, allowed: np.ndarray | None = None) -> list[Prediction]:
        """The ``top_k`` glosses of one row of class probabilities, best first, among ``allowed``
        (default: those ``only`` kept)."""
        allowed = self.allowed if allowed is None else allowed
        best = np.argsort(-probabilities, kind="stable")
        if allowed is not None:
            best = best[allowed[best]]
        best = best[:top_k]
        return [Prediction(self.labels[i], float(probabilities[i])) for i in best]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities along the last axis, computed in float64 and given back as float32."""
    shifted = np.exp(logits.astype(np.float64) - logits.max(axis=-1, keepdims=True))
    return (shifted / shifted.sum(axis=-1, keepdims=True)).astype(np.float32)
