"""One MediaPipe "MP_Data" sequence: a folder of ``<frame>.npy`` files, one vector a frame.

Three frame sizes are in wide use and detected automatically:

* 258 = pose 33 x (x, y, z, visibility) + left hand 21 x 3 + right hand 21 x 3
* 1662 = pose 33 x 4 + face 468 x 3 + left hand 21 x 3 + right hand 21 x 3
* 126 = left hand 21 x 3 + right hand 21 x 3

x and y are MediaPipe's normalised image coordinates and a component that was not detected
is all zeros. They are mapped into signscribe's layout (pixels of an assumed frame size,
640x480 by default: OpenCV's webcam default that these projects record with). The folders of
labelled sequences are read by ``signscribe.data.mp_data``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from signscribe.errors import PoseFileError
from signscribe.pose.layout import COMPONENT_SIZES, Layout, from_normalized
from signscribe.pose.sequence import PoseSequence

POSE_VALUES = COMPONENT_SIZES["pose"] * 4
HAND_VALUES = COMPONENT_SIZES["left_hand"] * 3
FACE_VALUES = COMPONENT_SIZES["face"] * 3
# values a frame -> the components it holds, in order
FRAME_LAYOUTS = {
    POSE_VALUES + 2 * HAND_VALUES: ("pose", "left_hand", "right_hand"),
    POSE_VALUES + FACE_VALUES + 2 * HAND_VALUES: ("pose", "face", "left_hand", "right_hand"),
    2 * HAND_VALUES: ("left_hand", "right_hand"),
}
DEFAULT_FRAME_SIZE = (640, 480)
DEFAULT_FPS = 30.0


def numeric_key(path: Path) -> tuple[int, str]:
    """Sort key of MP_Data names: numbers in numeric order, before any other name."""
    return (int(path.stem), "") if path.stem.isdigit() else (1 << 62, path.stem)


def _frame_files(sequence: Path) -> list[Path]:
    frames = sorted(sequence.glob("*.npy"), key=numeric_key)
    if not frames:
        raise PoseFileError(sequence, "no .npy frames in this sequence folder")
    return frames


def _load_vector(path: Path) -> np.ndarray:
    try:
        vector = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise PoseFileError(path, f"not a readable .npy array ({error})") from error
    vector = np.asarray(vector, dtype=np.float64).reshape(-1)
    if vector.size not in FRAME_LAYOUTS:
        raise PoseFileError(path, f"{vector.size} values a frame; expected one of {sorted(FRAME_LAYOUTS)}")
    return vector


def load_mp_sequence(
    sequence: str | Path,
    include_face: bool = False,
    frame_size: tuple[int, int] = DEFAULT_FRAME_SIZE,
    fps: float = DEFAULT_FPS,
) -> PoseSequence:
    """One MP_Data sequence folder as a ``PoseSequence`` in signscribe's layout."""
    sequence = Path(sequence)
    files = _frame_files(sequence)
    vectors = [_load_vector(path) for path in files]
    sizes = {vector.size for vector in vectors}
    if len(sizes) > 1:
        odd, vector = next((p, v) for p, v in zip(files, vectors, strict=True) if v.size != vectors[0].size)
        raise PoseFileError(odd, f"{vector.size} values a frame, but {files[0].name} has {vectors[0].size}")
    components = FRAME_LAYOUTS[vectors[0].size]
    if include_face and "face" not in components:
        raise PoseFileError(sequence, f"{vectors[0].size} values a frame hold no face landmarks")
    layout = Layout(include_face=include_face)
    width, height = frame_size
    frames = np.stack(vectors)
    data = np.zeros((len(files), layout.num_points, 3), np.float32)
    confidence = np.zeros((len(files), layout.num_points), np.float32)
    offset = 0
    for name in components:
        size = COMPONENT_SIZES[name]
        columns = 4 if name == "pose" else 3
        block = frames[:, offset : offset + size * columns].reshape(len(files), size, columns)
        offset += size * columns
        if name not in layout.components:
            continue
        detected = np.abs(block).sum(axis=(1, 2)) > 0
        rows = layout.slice(name)
        data[:, rows], found = from_normalized(block, width, height)
        confidence[:, rows] = found * detected[:, None]
    data = np.where(confidence[..., None] > 0, data, 0.0).astype(np.float32)
    return PoseSequence(
        data=data,
        confidence=confidence,
        fps=fps,
        width=width,
        height=height,
        include_face=include_face,
        source=str(sequence),
    )
