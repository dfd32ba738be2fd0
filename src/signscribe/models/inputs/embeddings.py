"""The ``embeddings`` input kind: foundation-model embeddings ``(tokens, width)`` per clip, as the
``.npy`` files of ``signscribe embed`` (or ASLVideoTranslate) hold them.

``load`` reads an ``.npy`` (its ``embeddings.json`` beside it says which backbone made it), or
embeds a video with the model's recorded ``backbone`` (through the embedding cache), in
``variant``. ``prepare`` keeps at most ``max_tokens`` rows, evenly spaced; ``collate`` pads the
rows of a batch with zeros and a mask. ``width`` and ``backbone`` are learnt from the training
data (``fitted``) and saved with the model, so a clip of another backbone is a clear error.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from signscribe.errors import InputFileError, SignscribeError
from signscribe.models.encoders import VJEPA2Encoder, embedding_cache, load_encoder
from signscribe.models.inputs.base import InputPipeline, register_input_kind
from signscribe.pose.extract import HolisticExtractor
from signscribe.pose.source import ClipSource, as_clip
from signscribe.progress import ProgressCallback

METADATA = "embeddings.json"  # written by `signscribe embed` beside its .npy files


@dataclass
class EmbeddedClip:
    """A clip's embedding rows ``(tokens, width)`` float32, the backbone that made them, and the
    seconds each row covers (``tokens="time"``; ``None`` when unknown)."""

    rows: np.ndarray
    source: str
    backbone: str | None = None
    seconds_per_row: float | None = None


@dataclass
class EmbeddingsBatch:
    embeddings: torch.Tensor  # (batch, tokens, width)
    mask: torch.Tensor  # (batch, tokens) bool, False on padding
    labels: torch.Tensor

    @property
    def inputs(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.embeddings, self.mask


@lru_cache(maxsize=16)
def _metadata_of(folder: Path) -> dict[str, Any]:
    """The ``embeddings.json`` of a folder of embeddings (empty when it has none: another tool's)."""
    try:
        metadata = json.loads((folder / METADATA).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return metadata if isinstance(metadata, dict) else {}


@lru_cache(maxsize=2)
def _encoder(spec: str, tokens: str) -> VJEPA2Encoder:
    return load_encoder(spec, tokens)


@register_input_kind("embeddings")
@dataclass(frozen=True)
class EmbeddingsConfig(InputPipeline):
    """How embeddings become model input; saved in a model's ``config.json``."""

    tensor_names: ClassVar[tuple[str, ...]] = ("embeddings", "mask")
    time_axes: ClassVar[tuple[int, ...]] = (1, 1)

    max_tokens: int = 256
    width: int = 0  # the rows' width, from the training data
    backbone: str | None = None  # KIND:SOURCE of the encoder that made the training data
    tokens: str = "time"
    variant: str = "original"  # the variant a video is embedded in at recognition
    seconds_per_row: float | None = None  # of the training data, when it says

    def __post_init__(self) -> None:
        if self.max_tokens < 1 or self.width < 0:
            raise ValueError(f"need max_tokens >= 1 and width >= 0, got {self}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> dict[str, Any]:
        return {"tensor": f"(tokens <= {self.max_tokens}, {self.width}) embeddings of {self.backbone or 'unknown'}"}

    def model_config(self) -> dict[str, Any]:
        return {"dim": self.width}

    def summary(self) -> str:
        return f"embeddings of width {self.width} made by {self.backbone or 'an unknown backbone'} (`signscribe embed`)"

    def clip_statistics(self, prepared: list[EmbeddedClip]) -> dict[str, Any]:
        return {"tokens": int(np.median([len(clip.rows) for clip in prepared]))}

    def fitted(self, prepared: list[EmbeddedClip]) -> EmbeddingsConfig:
        """The width and backbone of the training data; all clips must share them."""
        widths = {clip.rows.shape[1] for clip in prepared}
        backbones = {clip.backbone for clip in prepared} - {None}
        if len(widths) > 1:
            raise SignscribeError(f"the embeddings have different widths {sorted(widths)}: one backbone per dataset")
        if len(backbones) > 1:
            raise SignscribeError(f"the embeddings come from different backbones {sorted(backbones)}")
        seconds = {clip.seconds_per_row for clip in prepared}
        return replace(
            self,
            width=widths.pop(),
            backbone=backbones.pop() if backbones else self.backbone,
            seconds_per_row=seconds.pop() if len(seconds) == 1 else None,
        )

    def row_times(self, prepared: EmbeddedClip, rows: int) -> np.ndarray | None:
        """The middle of each row's time span, for rows of time steps."""
        step = prepared.seconds_per_row
        return None if step is None else step * np.linspace(0, len(prepared.rows) - 1, rows) + step / 2

    def load(
        self, clip: ClipSource, extractor: HolisticExtractor, on_progress: ProgressCallback | None = None
    ) -> EmbeddedClip:
        chosen = as_clip(clip)
        if chosen.media == "embeddings":
            try:
                rows = np.load(chosen.path)
            except (OSError, ValueError) as error:
                raise InputFileError(chosen.path, f"unreadable embeddings ({error})") from error
            metadata = _metadata_of(chosen.path.parent.resolve())
            clip_backbone, seconds = metadata.get("backbone"), metadata.get("seconds_per_row")
        elif chosen.media == "video":
            if self.backbone is None:
                raise InputFileError(
                    chosen.path, "this model reads embeddings (.npy) and records no backbone to embed a video"
                )
            encoder = _encoder(self.backbone, self.tokens)
            rows = encoder.embed_clip(chosen, [self.variant], cache=embedding_cache())[self.variant]
            clip_backbone, seconds = self.backbone, encoder.seconds_per_row
        else:
            raise InputFileError(chosen.path, "an embeddings model reads .npy embeddings or a video, not landmarks")
        if rows.ndim != 2 or len(rows) == 0 or not np.issubdtype(rows.dtype, np.floating):
            raise InputFileError(chosen.path, f"not (tokens, width) float embeddings: shape {rows.shape}, {rows.dtype}")
        if self.width and rows.shape[1] != self.width:
            raise InputFileError(
                chosen.path, f"embeddings of width {rows.shape[1]}; the model reads width {self.width}"
            )
        return EmbeddedClip(np.asarray(rows, dtype=np.float32), str(chosen.path), clip_backbone, seconds)

    def prepare(self, raw: EmbeddedClip) -> EmbeddedClip:
        if len(raw.rows) <= self.max_tokens:
            return raw
        keep = np.linspace(0, len(raw.rows) - 1, self.max_tokens).round().astype(int)
        return replace(raw, rows=raw.rows[keep])

    def longest_example(self) -> int:
        return self.max_tokens

    def example(self, prepared: EmbeddedClip) -> np.ndarray:
        return prepared.rows

    def made_up_example(self, rng: np.random.Generator) -> np.ndarray | None:
        return rng.standard_normal((self.max_tokens, self.width)).astype(np.float32) if self.width else None

    def collate(self, examples: list[np.ndarray], targets: list[int]) -> EmbeddingsBatch:
        embeddings, mask = self.arrays(examples)
        return EmbeddingsBatch(torch.from_numpy(embeddings), torch.from_numpy(mask), torch.tensor(targets))

    def arrays(self, examples: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        longest = max(len(rows) for rows in examples)
        embeddings = np.zeros((len(examples), longest, examples[0].shape[1]), dtype=np.float32)
        mask = np.zeros((len(examples), longest), dtype=bool)
        for index, rows in enumerate(examples):
            embeddings[index, : len(rows)], mask[index, : len(rows)] = rows, True
        return embeddings, mask
