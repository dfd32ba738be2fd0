"""Still images: a photo or a stream's frame (JPEG, PNG, WebP) as an RGB array, upright as its EXIF
orientation says. The size is read from the header and checked before a pixel is decoded, so an image
bomb (a few kilobytes that decode to gigapixels) is refused undecoded."""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from signscribe.errors import InputFileError

IMAGE_FORMATS = ("JPEG", "PNG", "WEBP")
MAX_PHOTO_PIXELS = 50_000_000  # a phone's 48 MP photo passes; a bomb does not


class ImageReadError(InputFileError):
    """An image that is not one, in another format, or too large (``too_large``) to decode."""

    def __init__(self, path: str | Path, reason: str, too_large: bool = False) -> None:
        super().__init__(path, reason)
        self.too_large = too_large


# Leading bytes of JPEG, PNG and WebP (RIFF, then the size, then WEBP): a photo without its suffix
_SIGNATURES = ((0, b"\xff\xd8\xff"), (0, b"\x89PNG\r\n\x1a\n"), (8, b"WEBP"))


def looks_like_image(head: bytes) -> bool:
    """Whether the first bytes of a file are those of a JPEG, PNG or WebP image."""
    return any(head[offset : offset + len(magic)] == magic for offset, magic in _SIGNATURES)


def is_image_file(path: str | Path) -> bool:
    """Whether the file starts like a JPEG, PNG or WebP image (an upload keeps no suffix)."""
    try:
        with open(path, "rb") as file:
            return looks_like_image(file.read(12))
    except OSError:
        return False


def read_image(source: str | Path | bytes, max_pixels: int = MAX_PHOTO_PIXELS, name: str = "image") -> np.ndarray:
    """The RGB array ``(height, width, 3)`` of an image file, or of its bytes (``name`` then stands for
    the file in errors), turned upright by its EXIF orientation."""
    return _opened(source, max_pixels, name, decode=True)


def check_image(path: str | Path, max_pixels: int = MAX_PHOTO_PIXELS) -> tuple[int, int]:
    """The ``(width, height)`` of an image file from its header, after the checks ``read_image`` makes
    before decoding (format, size): an upload is refused before any work is queued for it."""
    return _opened(path, max_pixels, str(path), decode=False)


def _opened(source: str | Path | bytes, max_pixels: int, name: str, decode: bool) -> Any:
    path = Path(name) if isinstance(source, bytes) else Path(source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(source) if isinstance(source, bytes) else path) as image:
                if image.format not in IMAGE_FORMATS:
                    raise ImageReadError(path, f"images must be JPEG, PNG or WebP, got {image.format}")
                width, height = image.size
                if width * height > max_pixels:
                    message = f"the image is {width}x{height}; at most {max_pixels} pixels are accepted"
                    raise ImageReadError(path, message, too_large=True)
                if not decode:
                    return width, height
                return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
    except ImageReadError:
        raise
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageReadError(path, f"the image is too large to decode ({error})", too_large=True) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ImageReadError(path, f"not a readable image ({error})") from None
