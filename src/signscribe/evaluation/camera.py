"""What a real camera does to a clip, made from the clip, to measure a model on people and cameras it
never saw: a mirrored (selfie) view, another frame rate, a 720p webcam's framing with the signer small
and off-centre, and low light. Each view renders a video file from a real one (H.264 in MP4, written
atomically), so the whole pipeline, decoding and MediaPipe included, runs as it would on the camera's file.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from signscribe.data.dataset import Sample
from signscribe.errors import SignscribeError
from signscribe.files import write_csv_atomic
from signscribe.io import probe, read_frames, resize
from signscribe.io.encode import video_writer

WEBCAM_SIZE = (1280, 720)
# the signer's clip in the 720p frame: its height as a share of the frame's, and its left edge
WEBCAM_SIGNER_HEIGHT, WEBCAM_SIGNER_LEFT = 0.5, 0.15
# low light: a darker, flatter exposure (gamma, then gain) and the sensor's noise, in 8-bit levels
LOW_LIGHT_GAMMA, LOW_LIGHT_GAIN, LOW_LIGHT_NOISE = 1.6, 0.35, 5.0


def _even(image: np.ndarray) -> np.ndarray:
    """Crop to even sides (H.264 in yuv420p needs them)."""
    height, width = image.shape[:2]
    return np.ascontiguousarray(image[: height - height % 2, : width - width % 2])


def mirrored(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The selfie view: left and right swapped. It is also how a left-handed signer looks."""
    return image[:, ::-1]


def webcam_720p(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The clip at half the height of a 1280x720 frame, at the bottom and left of centre, the rest of the
    frame the clip's own edges carried outwards (a wall, no second person)."""
    width, height = WEBCAM_SIZE
    side = round(height * WEBCAM_SIGNER_HEIGHT)
    signer = resize(image, side * max(image.shape[:2]) // image.shape[0])
    left = round(width * WEBCAM_SIGNER_LEFT)
    top = height - signer.shape[0]
    right = width - left - signer.shape[1]
    if right < 0 or top < 0:
        raise SignscribeError(f"a {image.shape[1]}x{image.shape[0]} clip is too wide for the 720p framing")
    return np.pad(signer, ((top, 0), (left, right), (0, 0)), mode="edge")


def low_light(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A dim room: darker and flatter (gamma ``LOW_LIGHT_GAMMA``, gain ``LOW_LIGHT_GAIN``), with sensor
    noise of ``LOW_LIGHT_NOISE`` levels."""
    dim = 255.0 * LOW_LIGHT_GAIN * (image / 255.0) ** LOW_LIGHT_GAMMA
    return np.clip(dim + rng.normal(0.0, LOW_LIGHT_NOISE, image.shape), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class CameraView:
    """A camera's view of a clip: each frame's image through ``image`` and, with ``fps``, the frames on
    a grid of that many a second (frames repeated or dropped by their timestamps, as a camera at that
    rate would show a scene that moves as the clip does)."""

    name: str
    description: str
    image: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None
    fps: float | None = None

    @property
    def changes(self) -> bool:
        """Whether this view differs from the clip (the original is read as it is, not re-encoded)."""
        return self.image is not None or self.fps is not None

    def render(self, source: Path, out: Path) -> Path:
        """Write ``source`` as this view sees it to ``out``; the noise is seeded by the file's name, so a
        rendering is the same every time."""
        rng = np.random.default_rng(zlib.crc32(source.name.encode()))
        frames = read_frames(source, rate=self.fps) if self.fps else read_frames(source)
        images = (_even(self.image(frame.image, rng) if self.image else frame.image) for frame in frames)
        first = next(images, None)
        if first is None:
            raise SignscribeError(f"{source}: no frame to render")
        with video_writer(out, self.fps or probe(source).fps, first.shape[1], first.shape[0]) as write:
            write(first)
            for image in images:
                write(image)
        return out


VIEWS: dict[str, CameraView] = {
    view.name: view
    for view in (
        CameraView("original", "the clips as they are (25 fps, 256x256)"),
        CameraView("mirrored", "mirrored: a selfie view, which is also how a left-handed signer looks", mirrored),
        CameraView("30fps", "30 fps", fps=30.0),
        CameraView("60fps", "60 fps", fps=60.0),
        CameraView("webcam_720p", "720p webcam framing: the clip at half the height, left of centre", webcam_720p),
        CameraView("low_light", "low light: darker, flatter and noisy", low_light),
    )
}


def render_dataset(samples: Sequence[Sample], view: CameraView, folder: Path) -> Path:
    """Render each sample's clip as ``view`` sees it into ``folder`` and write ``folder/dataset.csv``
    (``path,label,split,signer``, as ``csv:`` datasets read it; the original view names the clips
    themselves). A clip already rendered is kept, so an interrupted run goes on where it stopped."""
    rows = []
    names = [sample.path.name for sample in samples]
    if len(set(names)) < len(names):
        repeated = sorted({name for name in names if names.count(name) > 1})
        raise SignscribeError(f"clips of the same file name would share one rendering: {repeated[:3]}")
    for sample in samples:
        whole = (sample.start_time, sample.end_time, sample.start_frame, sample.end_frame, sample.bbox)
        if whole != (None, None, 1, -1, None):
            raise SignscribeError(f"{sample.path}: a view renders whole clips, not a range of one")
        out = folder / sample.path.name
        if view.changes and not out.exists():
            view.render(sample.path, out)
        path = out.name if view.changes else sample.path.resolve()
        rows.append({"path": path, "label": sample.label, "split": sample.split, "signer": sample.signer})
    table = folder / "dataset.csv"
    write_csv_atomic(table, ("path", "label", "split", "signer"), rows)
    return table


__all__ = ["VIEWS", "CameraView", "low_light", "mirrored", "render_dataset", "webcam_720p"]
