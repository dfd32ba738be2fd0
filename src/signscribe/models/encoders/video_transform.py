"""A video checkpoint's own preprocessing, in torch: what Hugging Face's video processors do, read
from the checkpoint's ``video_preprocessor_config.json`` (or ``preprocessor_config.json``).

transformers' video processors run on torchvision, which has no working CPU build here, so the same
steps are written in torch with torchvision's conventions: the short side resized to
``shortest_edge`` (bilinear, antialiased; the long side ``int(shortest_edge * long / short)``) and
rounded back to uint8 as torchvision does for uint8 video, a centre crop whose offsets are
``round((size - crop) / 2)`` (or, where the file gives ``size`` as both ``height`` and ``width``
without a crop, as InternVL's does, a resize to exactly that size), then ``x * rescale_factor``
and ``(x - mean) / std``. Frames are
resized and cropped one at a time as they are decoded (``frame``), normalised per clip
(``normalise``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from signscribe.errors import InputFileError

PREPROCESSOR_FILES = ("video_preprocessor_config.json", "preprocessor_config.json")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _side(value: Any, name: str, path: Path) -> int:
    """An ``int``, or the ``height`` (or ``shortest_edge``) of a size dict, as preprocessor files have it."""
    if isinstance(value, int):
        return value
    if isinstance(value, dict):
        for key in ("shortest_edge", "height"):
            if isinstance(value.get(key), int):
                return value[key]
    raise InputFileError(path, f"{name} must be a number of pixels or a size dict, got {value!r}")


@dataclass(frozen=True)
class VideoTransform:
    """Resize, centre crop, rescale and normalise, as the checkpoint's processor does."""

    shortest_edge: int = 292
    crop: int = 256
    rescale_factor: float = 1 / 255
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    do_resize: bool = True
    do_center_crop: bool = True
    do_normalize: bool = True
    exact_size: tuple[int, int] | None = None  # (height, width): resized to this, neither kept in ratio nor cropped

    @property
    def output_size(self) -> tuple[int, int]:
        """``(height, width)`` of the frames the model reads."""
        return self.exact_size or (self.crop, self.crop)

    @classmethod
    def for_crop(cls, crop: int) -> VideoTransform:
        """V-JEPA 2's defaults for a crop size: the short side resized to ``crop * 256 / 224``."""
        return cls(shortest_edge=int(crop * 256 / 224), crop=crop)

    @classmethod
    def from_folder(cls, folder: Path, crop: int) -> VideoTransform:
        """The checkpoint folder's preprocessor file, else V-JEPA 2's defaults for ``crop``."""
        for name in PREPROCESSOR_FILES:
            path = folder / name
            if path.is_file():
                try:
                    values = json.loads(path.read_text(encoding="utf-8"))
                except (json.JSONDecodeError, UnicodeDecodeError) as error:
                    raise InputFileError(path, f"not valid JSON ({error})") from error
                size = values.get("size")
                exact = isinstance(size, dict) and {"height", "width"} <= set(size) and not values.get("do_center_crop")
                if exact:
                    crop = min(int(size["height"]), int(size["width"]))
                crop = _side(values.get("crop_size") or crop, "crop_size", path)
                default = cls.for_crop(crop)
                return cls(
                    shortest_edge=crop if exact else _side(size or default.shortest_edge, "size", path),
                    crop=crop,
                    rescale_factor=float(values.get("rescale_factor", default.rescale_factor))
                    if values.get("do_rescale", True)
                    else 1.0,
                    mean=tuple(values.get("image_mean", default.mean)),  # type: ignore[arg-type]
                    std=tuple(values.get("image_std", default.std)),  # type: ignore[arg-type]
                    do_resize=bool(values.get("do_resize", True)),
                    do_center_crop=bool(values.get("do_center_crop", True)),
                    do_normalize=bool(values.get("do_normalize", True)),
                    exact_size=(int(size["height"]), int(size["width"])) if exact else None,
                )
        return cls.for_crop(crop)

    def frame(self, image: np.ndarray) -> np.ndarray:
        """One RGB frame ``(height, width, 3)`` uint8, resized and centre-cropped, still uint8."""
        height, width = image.shape[:2]
        tensor = torch.from_numpy(np.require(image, requirements="W")).permute(2, 0, 1)[None].float()
        if self.exact_size is not None:
            tensor = F.interpolate(tensor, size=self.exact_size, mode="bicubic", align_corners=False, antialias=True)
            return tensor.round().clamp(0, 255)[0].permute(1, 2, 0).to(torch.uint8).numpy()
        if self.do_resize:
            short, long = sorted((height, width))
            resized_long = int(self.shortest_edge * long / short)
            height, width = (
                (self.shortest_edge, resized_long) if height <= width else (resized_long, self.shortest_edge)
            )
            tensor = F.interpolate(tensor, size=(height, width), mode="bilinear", align_corners=False, antialias=True)
            tensor = tensor.round().clamp(0, 255)
        if self.do_center_crop:
            if height < self.crop or width < self.crop:  # torchvision pads a small frame with zeros
                left, top = max(0, self.crop - width) // 2, max(0, self.crop - height) // 2
                right, bottom = max(0, self.crop - width) - left, max(0, self.crop - height) - top
                tensor = F.pad(tensor, (left, right, top, bottom))
                height, width = tensor.shape[2:]
            top, left = round((height - self.crop) / 2), round((width - self.crop) / 2)
            tensor = tensor[:, :, top : top + self.crop, left : left + self.crop]
        return tensor[0].permute(1, 2, 0).to(torch.uint8).numpy()

    def normalise(self, frames: np.ndarray) -> torch.Tensor:
        """Frames ``(time, size, size, 3)`` uint8 as the model reads them: ``(time, 3, size, size)`` float32."""
        tensor = torch.from_numpy(np.require(frames, requirements="W")).permute(0, 3, 1, 2).float()
        tensor = tensor * self.rescale_factor
        if self.do_normalize:
            mean = torch.tensor(self.mean).view(1, 3, 1, 1)
            std = torch.tensor(self.std).view(1, 3, 1, 1)
            tensor = (tensor - mean) / std
        return tensor
