"""Still images: real photos read upright, and what is no photo, or a bomb, refused with why."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from signscribe.io.photos import ImageReadError, read_image

LETTERS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fingerspelling" / "roboflow_asl_letters"


@pytest.fixture(scope="module")
def letter_photo() -> Path:
    photos = sorted((LETTERS / "test" / "images").glob("*.jpg"))
    if not photos:
        pytest.skip(f"the shared letter photos are not in {LETTERS}")
    return photos[0]


def test_a_real_photo_is_read_upright_as_its_exif_says(letter_photo: Path, tmp_path: Path) -> None:
    image = read_image(letter_photo)
    assert image.shape == (416, 416, 3) and image.dtype == np.uint8
    wide = Image.fromarray(image[:200])  # 416 wide, 200 high, as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to show it
    wide.save(tmp_path / "turned.jpg", exif=exif)
    assert read_image(tmp_path / "turned.jpg").shape == (416, 200, 3)
    assert read_image((tmp_path / "turned.jpg").read_bytes()).shape == (416, 200, 3)  # bytes as well


def test_an_image_bomb_is_refused_from_its_header(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    Image.new("1", (8_000, 8_000)).save(bomb, optimize=True)  # 64 million pixels in a few kilobytes
    assert bomb.stat().st_size < 100_000
    with pytest.raises(ImageReadError, match=r"bomb\.png: the image is 8000x8000; at most 50000000") as refused:
        read_image(bomb)
    assert refused.value.too_large
    huge = tmp_path / "huge.png"
    Image.new("1", (10_000, 10_000)).save(huge, optimize=True)  # past Pillow's own guard too
    with pytest.raises(ImageReadError, match="too large to decode") as refused:
        read_image(huge, max_pixels=10**9)
    assert refused.value.too_large


def test_what_is_no_photo_is_refused_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "notes.jpg").write_text("not a photo")
    with pytest.raises(ImageReadError, match=r"notes\.jpg: not a readable image"):
        read_image(tmp_path / "notes.jpg")
    Image.new("RGB", (8, 8)).save(tmp_path / "still.gif")
    with pytest.raises(ImageReadError, match="must be JPEG, PNG or WebP, got GIF"):
        read_image(tmp_path / "still.gif")
    with pytest.raises(ImageReadError, match=r"gone\.png: file not found"):
        read_image(tmp_path / "gone.png")
    with pytest.raises(ImageReadError, match=r"^frame: not a readable image") as refused:
        read_image(b"\x89PNG broken", name="frame")
    assert not refused.value.too_large
