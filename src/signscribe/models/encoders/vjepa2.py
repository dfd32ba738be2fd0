"""V-JEPA 2 (Hugging Face ``VJEPA2Model``) as a clip encoder: a clip's frames at 16 a second,
preprocessed as the checkpoint says (``video_transform``), through the encoder (the predictor is
skipped), and the last layer's patch features.

``tokens="time"`` (the default) averages each time step's patches: ``(frames / tubelet, hidden)``,
one row per two frames for the published models, which is what an attention over time weighs.
``tokens="patch"`` keeps every patch, ``(frames / tubelet x patches, hidden)`` as ASLVideoTranslate
stored them (8,192 rows a 64-frame clip for the 256-pixel models). A clip longer than the
checkpoint's ``frames_per_clip`` is encoded in consecutive chunks of that many frames whose rows are
concatenated; a clip whose frame count is not a multiple of the tubelet repeats its last frame.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from signscribe.devices import resolve_device
from signscribe.errors import InputFileError
from signscribe.io import probe, read_frames
from signscribe.models.array_cache import ArrayCache
from signscribe.models.encoders.variants import VARIANTS
from signscribe.models.encoders.video_transform import VideoTransform
from signscribe.models.hub import checkpoint_folder
from signscribe.pose.cache import default_cache_dir
from signscribe.pose.source import Clip

FRAME_RATE = 16.0  # frames a second V-JEPA 2 was trained on
TOKENS = ("time", "patch")


def _load_model(source: str) -> tuple[Any, Path]:
    """The model from a local folder or a hub id (``models/hub.py``)."""
    from transformers import VJEPA2Model
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # signscribe shows its own progress
    folder = checkpoint_folder(source, "V-JEPA 2", "--backbone vjepa2:DIR", "vjepa2:")
    try:
        return VJEPA2Model.from_pretrained(folder).eval(), folder
    except (OSError, ValueError) as error:
        raise InputFileError(folder, f"not a V-JEPA 2 checkpoint folder ({error})") from error


@dataclass
class VJEPA2Encoder:
    """A loaded V-JEPA 2 and how it reads clips; ``embed`` turns preprocessed frames into rows."""

    model: Any
    transform: VideoTransform
    source: str
    folder: Path
    tokens: str = "time"
    frame_rate: float = FRAME_RATE

    kind = "vjepa2"

    @classmethod
    def load(cls, source: str, tokens: str = "time", device: str | None = None) -> VJEPA2Encoder:
        if tokens not in TOKENS:
            raise ValueError(f"tokens must be one of {TOKENS}, got {tokens!r}")
        model, folder = _load_model(source)
        if device is not None:
            model.to(resolve_device(device))
        transform = VideoTransform.from_folder(folder, model.config.crop_size)
        return cls(model, transform, source, folder, tokens)

    @property
    def spec(self) -> str:
        return f"{self.kind}:{self.source}"

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    @property
    def seconds_per_row(self) -> float | None:
        """The time a row covers: one tubelet of frames (``tokens="time"``); patches have none."""
        return self.model.config.tubelet_size / self.frame_rate if self.tokens == "time" else None

    def identity(self) -> dict[str, Any]:
        """What decides the embeddings besides the clip: the cache key of ``signscribe embed``."""
        weights = sorted(self.folder.glob("*.safetensors")) or sorted(self.folder.glob("*.bin"))
        digest = hashlib.blake2b(digest_size=12)
        for path in [self.folder / "config.json", *weights]:
            if path.is_file():
                stat = path.stat()
                digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        return {
            "backbone": self.kind,
            "weights": digest.hexdigest(),
            "transform": vars(self.transform),
            "tokens": self.tokens,
            "frame_rate": self.frame_rate,
        }

    @torch.no_grad()
    def embed(self, clips: list[np.ndarray]) -> list[np.ndarray]:
        """Rows ``(tokens, hidden)`` float32 of clips of the same length, each ``(frames, size, size, 3)``
        uint8 from ``transform.frame``: one forward pass per chunk of ``frames_per_clip`` frames."""
        config = self.model.config
        device = next(self.model.parameters()).device
        video = torch.stack([self.transform.normalise(clip) for clip in clips])  # (clips, time, 3, size, size)
        short = (-video.shape[1]) % config.tubelet_size
        if short:
            video = torch.cat([video, video[:, -1:].expand(-1, short, -1, -1, -1)], dim=1)
        rows = []
        for start in range(0, video.shape[1], config.frames_per_clip):
            chunk = video[:, start : start + config.frames_per_clip].to(device)
            hidden = self.model(pixel_values_videos=chunk, skip_predictor=True).last_hidden_state.float()
            if self.tokens == "time":
                steps = chunk.shape[1] // config.tubelet_size
                hidden = hidden.reshape(hidden.shape[0], steps, -1, hidden.shape[-1]).mean(dim=2)
            rows.append(hidden.cpu())
        return list(torch.cat(rows, dim=1).numpy())

    def clip_frames(self, clip: Clip) -> np.ndarray:
        """The clip's frames at the encoder's frame rate, each resized and cropped as it is decoded."""
        rate = min(self.frame_rate, probe(clip.path).fps)
        frames = read_frames(clip.path, rate=rate, **clip.selection())
        images = [self.transform.frame(frame.image) for frame in frames]
        if not images:
            raise InputFileError(clip.path, "the selected range holds no frames")
        return np.stack(images)

    def embed_clip(
        self, clip: Clip, variants: Sequence[str] = ("original",), batch: int = 4, cache: ArrayCache | None = None
    ) -> dict[str, np.ndarray]:
        """A clip's rows in each variant: from ``cache``, else encoded (``batch`` variants a pass) and
        stored there."""
        keys, arrays = {}, {}
        if cache is not None:
            keys = {variant: cache.key(clip, {**self.identity(), "variant": variant}) for variant in variants}
            for variant, key in keys.items():
                if (entry := cache.get(key)) is not None:
                    arrays[variant] = np.asarray(entry[0])
        missing = [variant for variant in variants if variant not in arrays]
        if missing:
            frames = self.clip_frames(clip)
            for start in range(0, len(missing), batch):
                chosen = missing[start : start + batch]
                for variant, rows in zip(chosen, self.embed([VARIANTS[v](frames) for v in chosen]), strict=True):
                    arrays[variant] = rows if cache is None else np.asarray(cache.put(keys[variant], rows, {})[0])
        return {variant: arrays[variant] for variant in variants}


BACKBONES = {"vjepa2": VJEPA2Encoder}


def embedding_cache() -> ArrayCache:
    """The user's embedding cache, beside the pose cache (``$SIGNSCRIBE_CACHE_DIR/embeddings``)."""
    return ArrayCache(default_cache_dir() / "embeddings")


def load_encoder(spec: str, tokens: str = "time", device: str | None = None) -> VJEPA2Encoder:
    """An encoder named ``KIND:SOURCE`` (``vjepa2:facebook/vjepa2-vitl-fpc64-256`` or ``vjepa2:DIR``)."""
    kind, _, source = spec.partition(":")
    if kind not in BACKBONES or not source:
        raise ValueError(f"--backbone must be KIND:SOURCE with KIND one of {', '.join(BACKBONES)}, got {spec!r}")
    return BACKBONES[kind].load(source, tokens, device)
