"""The ``frames`` input kind: RGB clips as ``(3, frames, size, size)`` tensors, for video networks (I3D).

``load`` decodes the clip with PyAV (its time or frame range), crops to the signer (the dataset's
bbox when it has one, else the box around the body and hands from the pose landmarks, else the
centre) and shrinks the short side to ``resize``; ``prepare`` keeps at most ``4 x frames`` frames,
uniformly spaced, as uint8 in memory, or memory-mapped from ``frame_cache`` (``models/array_cache.py``:
decoded once, in parallel by ``prefetch``, never held in memory). ``example`` picks ``frames``
frames (``uniform`` over the clip, or ``consecutive`` with a ``stride``, centred), centre-crops
``size`` and scales the pixels (``i3d``: ``(x / 255) * 2 - 1``, the WLASL I3D convention; ``unit``:
``x / 255``; ``kinetics``: the mean and deviation X3D was trained with). A clip with fewer frames
than the model reads is looped, and a warning (and the clip's ``note``) says so.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from signscribe.errors import InputFileError, SignscribeError
from signscribe.io import probe, read_frames
from signscribe.models.array_cache import ArrayCache
from signscribe.models.inputs.base import InputPipeline, register_input_kind
from signscribe.pose.batch import map_in_processes, warm_cache
from signscribe.pose.cache import PoseCache
from signscribe.pose.extract import ExtractionSettings, HolisticExtractor
from signscribe.pose.source import Clip, ClipSource, as_clip, load_landmarks
from signscribe.progress import ProgressCallback

SAMPLINGS = ("uniform", "consecutive")
# (shift, scale): pixels become (x - shift) / scale; "kinetics": (x / 255 - 0.45) / 0.225, as X3D
VALUE_RANGES = {"i3d": (127.5, 127.5), "unit": (0.0, 255.0), "kinetics": (114.75, 57.375)}
KEPT_PER_FRAME = 4  # prepared clips keep at most this many frames per model frame
SIGNER_MARGIN = 0.2  # the body box grows by this share of its size on each side
log = logging.getLogger("signscribe")


@dataclass
class VideoClip:
    """Decoded RGB frames ``(frames, height, width, 3)`` uint8 of one clip, short side ``resize``, and
    the clip's ``duration`` in seconds; ``offset`` (crop corner) and ``start`` (first frame) are set
    by training augmentation. Frames memory-mapped from ``cache_file`` travel to worker processes
    as that path, not as pixels."""

    frames: np.ndarray
    fps: float
    source: str
    duration: float = 0.0
    note: str = ""
    offset: tuple[int, int] | None = None
    start: int | None = None
    cache_file: str | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if self.cache_file is not None and isinstance(self.frames, np.memmap):
            state["frames"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if state["frames"] is None:
            state["frames"] = np.load(state["cache_file"], mmap_mode="r")
        self.__dict__.update(state)


@dataclass
class FramesBatch:
    video: torch.Tensor  # (batch, 3, frames, size, size) float32
    labels: torch.Tensor

    @property
    def inputs(self) -> tuple[torch.Tensor]:
        return (self.video,)


def signer_box(sequence: Any, width: int, height: int) -> tuple[int, int, int, int] | None:
    """``(x0, y0, x1, y1)`` around every detected body and hand point of the clip, with a margin; the
    landmarks are in pixels of the frames they came from. ``None`` when nobody was found."""
    seen = sequence.confidence > 0
    if not seen.any():
        return None
    points = sequence.data[..., :2][seen]
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    margin_x, margin_y = (x1 - x0) * SIGNER_MARGIN, (y1 - y0) * SIGNER_MARGIN
    box = (max(0, x0 - margin_x), max(0, y0 - margin_y), min(width, x1 + margin_x), min(height, y1 + margin_y))
    return tuple(int(np.rint(v)) for v in box)  # type: ignore[return-value]


def _resize_short_side(frames: np.ndarray, short: int) -> np.ndarray:
    height, width = frames.shape[1:3]
    scale = short / min(height, width)
    size = (max(short, round(height * scale)), max(short, round(width * scale)))
    tensor = torch.from_numpy(np.require(frames, requirements="W")).permute(0, 3, 1, 2).float()  # a copy if read-only
    resized = F.interpolate(tensor, size=size, mode="bilinear", align_corners=False, antialias=scale < 1)
    return resized.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


@register_input_kind("frames")
@dataclass(frozen=True)
class FramesConfig(InputPipeline):
    """How a video clip becomes model input; saved in a model's ``config.json``."""

    tensor_names: ClassVar[tuple[str, ...]] = ("video",)
    time_axes: ClassVar[tuple[int | None, ...]] = (None,)  # the frame count is fixed by `frames`

    frames: int = 16
    size: int = 224
    resize: int = 226
    sampling: str = "uniform"
    stride: int = 1
    value_range: str = "i3d"
    signer_crop: bool = True  # without a bbox, crop to the signer found by the pose landmarks
    frame_cache: str | None = None  # a folder of decoded clips; where this run keeps them, not saved

    def __post_init__(self) -> None:
        if self.sampling not in SAMPLINGS:
            raise ValueError(f"sampling must be one of {SAMPLINGS}, got {self.sampling!r}")
        if self.value_range not in VALUE_RANGES:
            raise ValueError(f"value_range must be one of {tuple(VALUE_RANGES)}, got {self.value_range!r}")
        if self.frames < 1 or self.stride < 1 or not 0 < self.size <= self.resize:
            raise ValueError(f"need frames >= 1, stride >= 1 and 0 < size <= resize, got {self}")

    def to_dict(self) -> dict[str, Any]:
        return {name: value for name, value in asdict(self).items() if name != "frame_cache"}

    def describe(self) -> dict[str, Any]:
        shift, scale = VALUE_RANGES[self.value_range]
        return {
            "tensor": f"(3, {self.frames}, {self.size}, {self.size}) RGB",
            "sampling": self.sampling if self.sampling == "uniform" else f"consecutive, stride {self.stride}",
            "spatial": f"signer crop, short side {self.resize}, centre crop {self.size}",
            "pixels": f"(x - {shift}) / {scale}",
        }

    def model_config(self) -> dict[str, Any]:
        return {"in_channels": 3}

    def summary(self) -> str:
        return f"RGB video, {self.frames} frames of {self.size}² cropped to the signer (see `config.json`)"

    def clip_statistics(self, prepared: list[VideoClip]) -> dict[str, Any]:
        fps = float(np.median([clip.fps for clip in prepared]))
        seconds = float(np.median([clip.duration for clip in prepared]))
        return {"fps": fps, "frames": self.frames, "seconds": round(seconds, 3)}

    def load(
        self, clip: ClipSource, extractor: HolisticExtractor, on_progress: ProgressCallback | None = None
    ) -> VideoClip:
        """The clip's frames, from ``frame_cache`` when it holds them, else decoded (and then stored
        there, at most ``4 x frames`` of them); ``on_progress`` follows the decoded frames."""
        chosen = as_clip(clip)
        if chosen.media != "video":
            raise InputFileError(chosen.path, "a frames model reads video; give a video, not landmarks")
        if self.frame_cache is None:
            return self._decode(chosen, extractor, on_progress)
        cache = ArrayCache(self.frame_cache)
        key = cache.key(chosen, self._decoding(extractor.settings))
        stored = cache.get(key)
        if stored is None:
            decoded = self._decode(chosen, extractor, on_progress)
            timing = {"fps": decoded.fps, "duration": decoded.duration}
            stored = cache.put(key, self._kept(decoded.frames), timing)
        frames, timing = stored
        return VideoClip(frames, timing["fps"], str(chosen.path), timing["duration"], cache_file=frames.filename)

    def _decoding(self, settings: ExtractionSettings) -> dict[str, Any]:
        """What shapes a clip's decoded frames besides the clip itself: the frame cache's key."""
        options = {"version": 1, "resize": self.resize, "kept": self.frames * KEPT_PER_FRAME}
        return {**options, "signer": asdict(settings) if self.signer_crop else None}

    def _decode(self, chosen: Clip, extractor: HolisticExtractor, on_progress: ProgressCallback | None) -> VideoClip:
        """Decode the clip, each frame cropped and shrunk as it comes (so a long or large video is
        never held at full size)."""
        info = probe(chosen.path)
        box = None
        if chosen.bbox is None and self.signer_crop:
            try:
                box = signer_box(load_landmarks(chosen, extractor), info.width, info.height)
            except SignscribeError:
                box = None
        if box is not None and (box[2] - box[0] < 2 or box[3] - box[1] < 2):
            box = None
        frames, times = [], []
        for done, frame in enumerate(read_frames(chosen.path, **chosen.selection()), start=1):
            image = frame.image if box is None else frame.image[box[1] : box[3], box[0] : box[2]]
            frames.append(_resize_short_side(image[None], self.resize)[0])
            times.append(frame.time)
            if on_progress is not None:
                on_progress(done, info.frame_count)
        if not frames:
            raise InputFileError(chosen.path, "the selected range holds no frames")
        span = times[-1] - times[0]
        fps = (len(times) - 1) / span if span > 0 else info.fps
        return VideoClip(np.stack(frames), fps, str(chosen.path), duration=len(frames) / fps)

    def _kept(self, frames: np.ndarray) -> np.ndarray:
        keep = self.frames * KEPT_PER_FRAME
        return frames if len(frames) <= keep else frames[np.linspace(0, len(frames) - 1, keep).round().astype(int)]

    def prepare(self, raw: VideoClip) -> VideoClip:
        if len(raw.frames) > self.frames * KEPT_PER_FRAME:
            raw = replace(raw, frames=self._kept(raw.frames), cache_file=None)
        if len(raw.frames) < self.span:
            note = f"{raw.source}: {len(raw.frames)} frames, fewer than the model's {self.span}: looped"
            log.warning(note)
            raw = replace(raw, note=note)
        return raw

    @property
    def span(self) -> int:
        """Frames of the source one example covers."""
        return self.frames if self.sampling == "uniform" else (self.frames - 1) * self.stride + 1

    def frame_indices(self, available: int, start: int | None = None) -> np.ndarray:
        """The frames an example reads: looped when the clip is shorter than ``span``."""
        if self.sampling == "uniform" and available >= self.frames:
            return np.linspace(0, available - 1, self.frames).round().astype(int)
        first = (max(available - self.span, 0) // 2) if start is None else start
        return (first + np.arange(self.frames) * (self.stride if self.sampling == "consecutive" else 1)) % available

    def example(self, prepared: VideoClip) -> np.ndarray:
        frames = prepared.frames[self.frame_indices(len(prepared.frames), prepared.start)]
        height, width = frames.shape[1:3]
        top, left = prepared.offset or ((height - self.size) // 2, (width - self.size) // 2)
        return self.pixels(frames[:, top : top + self.size, left : left + self.size])

    def made_up_example(self, rng: np.random.Generator) -> np.ndarray:
        return self.pixels(rng.integers(0, 256, (self.frames, self.size, self.size, 3), dtype=np.uint8))

    def pixels(self, frames: np.ndarray) -> np.ndarray:
        """Frames ``(n, size, size, 3)`` uint8 as the model reads them: ``(3, n, size, size)`` float32
        in the family's value range."""
        shift, scale = VALUE_RANGES[self.value_range]
        return ((frames.astype(np.float32) - shift) / scale).transpose(3, 0, 1, 2)

    def centre_frame(self, image: np.ndarray) -> np.ndarray:
        """One whole RGB frame ``(height, width, 3)`` shrunk to short side ``resize`` and centre-cropped
        to ``size``: how a live stream, which finds no signer box, frames each image."""
        frame = _resize_short_side(image[None], self.resize)[0]
        height, width = frame.shape[:2]
        top, left = (height - self.size) // 2, (width - self.size) // 2
        return frame[top : top + self.size, left : left + self.size]

    def collate(self, examples: list[np.ndarray], targets: list[int]) -> FramesBatch:
        (video,) = self.arrays(examples)
        return FramesBatch(torch.from_numpy(video), torch.tensor(targets, dtype=torch.long))

    def arrays(self, examples: list[np.ndarray]) -> tuple[np.ndarray]:
        return (np.stack(examples),)

    def augmenter(self, mirror_probability: float = 0.0, **options: Any) -> FrameAugmenter:
        return FrameAugmenter(self, mirror_probability=mirror_probability, **options)

    def prefetch(
        self,
        clips: Sequence[Clip],
        extractor: HolisticExtractor,
        workers: int,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        """With a frame cache, decode the clips into it with ``workers`` processes; without one, only
        the landmarks that find the signer go into the pose cache in parallel."""
        if self.frame_cache is None:
            if self.signer_crop:
                warm_cache([clip for clip in clips if clip.bbox is None], extractor, workers, on_progress)
            return
        videos = list(dict.fromkeys(clip for clip in clips if clip.media == "video"))
        if workers > 1 and len(videos) > 1:
            pose_cache = extractor.cache.root if extractor.cache is not None else None
            arguments = [(self, clip, extractor.settings, pose_cache) for clip in videos]
            map_in_processes(_load_into_cache, arguments, workers, on_progress)


def _load_into_cache(arguments: tuple[FramesConfig, Clip, ExtractionSettings, Path | None]) -> None:
    pipeline, clip, settings, pose_cache = arguments
    with contextlib.suppress(SignscribeError):  # reported when the clip is loaded again
        pipeline.load(clip, HolisticExtractor(settings, PoseCache(pose_cache) if pose_cache else None))


@dataclass(frozen=True)
class FrameAugmenter:
    """Training augmentation of prepared clips: a random crop position, a random temporal start
    (for ``consecutive`` sampling), colour jitter (brightness and contrast), and a horizontal flip
    that stands for a left-handed signer."""

    config: FramesConfig
    mirror_probability: float = 0.0
    brightness: float = 0.2
    contrast: float = 0.2

    def __call__(self, clip: VideoClip, rng: np.random.Generator) -> VideoClip:
        frames = clip.frames
        height, width = frames.shape[1:3]
        size = self.config.size
        offset = (int(rng.integers(0, height - size + 1)), int(rng.integers(0, width - size + 1)))
        start = int(rng.integers(0, max(len(frames) - self.config.span, 0) + 1))
        gain = 1 + rng.uniform(-self.contrast, self.contrast)
        bias = 255 * rng.uniform(-self.brightness, self.brightness)
        mean = frames.mean()
        frames = np.clip((frames - mean) * gain + mean + bias, 0, 255).astype(np.uint8)
        if rng.random() < self.mirror_probability:
            frames = frames[:, :, ::-1]
        return replace(clip, frames=np.ascontiguousarray(frames), offset=offset, start=start)
