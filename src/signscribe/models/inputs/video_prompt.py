"""The ``video+prompt`` input kind of video language models: ``frames`` frames sampled evenly over
a clip, preprocessed as the checkpoint's processor config says (``encoders/video_transform.py``),
as ``(frames, 3, H, W)``; the prompt is the model's own (``models/vlm``).

A clip is split into ``frames`` equal stretches of time and the frame on screen at the middle of
each is kept, resized and cropped as it is decoded, so a long How2Sign sentence is never held in
memory. A clip with fewer frames than that repeats its frames, and a photo is a still clip: its one
frame, ``frames`` times, ranked like any clip. With ``frame_cache`` (``train-vlm
--frame-cache DIR``) the sampled frames are kept on disk and read back memory-mapped, so a run over
tens of thousands of clips does not hold them all in memory.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch

from signscribe.errors import InputFileError
from signscribe.io import probe, read_frames
from signscribe.io.photos import read_image
from signscribe.models.array_cache import ArrayCache
from signscribe.models.encoders.video_transform import VideoTransform
from signscribe.models.inputs.base import InputPipeline, register_input_kind
from signscribe.pose.extract import HolisticExtractor
from signscribe.pose.source import Clip, ClipSource, as_clip
from signscribe.progress import ProgressCallback


@dataclass
class VideoPromptBatch:
    video: torch.Tensor  # (clips, frames, 3, H, W) float32, normalised
    labels: torch.Tensor

    @property
    def inputs(self) -> tuple[torch.Tensor]:
        return (self.video,)


def clip_span(clip: Clip) -> tuple[float, float]:
    """The clip's first and last second in its video (its time or frame range, else the whole video)."""
    info = probe(clip.path)
    if clip.start_time is not None or clip.end_time is not None:
        return clip.start_time or 0.0, clip.end_time if clip.end_time is not None else info.duration
    end = info.duration if clip.end_frame == -1 else clip.end_frame / info.fps
    return (clip.start_frame - 1) / info.fps, end


def sample_frames(clip: Clip, count: int, transform: VideoTransform) -> np.ndarray:
    """``count`` frames ``(count, H, W, 3)`` uint8: the frame on screen at the middle of each of
    ``count`` equal stretches of the clip, each transformed as it is decoded."""
    start, end = clip_span(clip)
    targets = start + (np.arange(count) + 0.5) * (end - start) / count
    kept: list[np.ndarray] = []
    previous = None
    for frame in read_frames(clip.path, **clip.selection()):
        while len(kept) < count and frame.time > targets[len(kept)] + 1e-6:  # the previous frame was on screen
            kept.append(transform.frame((frame if previous is None else previous).image))
        if len(kept) == count:
            break
        previous = frame
    else:
        if previous is None:
            raise InputFileError(clip.path, "the selected range holds no frames")
        while len(kept) < count:  # the last targets fall on the last frame
            kept.append(transform.frame(previous.image))
    return np.stack(kept)


@register_input_kind("video+prompt")
@dataclass(frozen=True)
class VideoPromptConfig(InputPipeline):
    """Frames for a video language model; the transform comes from the checkpoint."""

    reads_photos: ClassVar[bool] = True

    frames: int = 8
    transform: dict[str, Any] = field(default_factory=lambda: asdict(VideoTransform()))
    frame_cache: str | None = None  # a folder of sampled clips, read memory-mapped; this run's, not saved

    @property
    def video_transform(self) -> VideoTransform:
        values = dict(self.transform)
        for key in ("mean", "std", "exact_size"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        return VideoTransform(**values)

    def to_dict(self) -> dict[str, Any]:
        return {name: value for name, value in asdict(self).items() if name != "frame_cache"}

    def describe(self) -> dict[str, Any]:
        height, width = self.video_transform.output_size
        return {"tensor": f"({self.frames}, 3, {height}, {width}) RGB", "sampling": "middle of equal stretches"}

    def summary(self) -> str:
        height, width = self.video_transform.output_size
        return f"{self.frames} frames of {width}x{height} sampled evenly over the clip, and a prompt"

    def load(
        self, clip: ClipSource, extractor: HolisticExtractor, on_progress: ProgressCallback | None = None
    ) -> np.ndarray:
        chosen = as_clip(clip)
        if chosen.media == "photo":
            return np.repeat(self.video_transform.frame(read_image(chosen.path))[None], self.frames, axis=0)
        if chosen.media != "video":
            raise InputFileError(chosen.path, "a video language model reads video or photos, not landmarks")
        if self.frame_cache is None:
            return sample_frames(chosen, self.frames, self.video_transform)
        cache = ArrayCache(self.frame_cache)
        key = cache.key(chosen, {"sampled": self.frames, "transform": self.transform})
        stored = cache.get(key) or cache.put(key, sample_frames(chosen, self.frames, self.video_transform), {})
        return stored[0]

    def prepare(self, raw: np.ndarray) -> np.ndarray:
        return raw

    def example(self, prepared: np.ndarray) -> torch.Tensor:
        return self.video_transform.normalise(prepared)

    def collate(self, examples: list[torch.Tensor], targets: list[int]) -> VideoPromptBatch:
        return VideoPromptBatch(torch.stack(examples), torch.tensor(targets, dtype=torch.long))
