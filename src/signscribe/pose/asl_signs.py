"""One landmark file of the Kaggle "asl-signs" layout (Google's Isolated Sign Language Recognition data,
and the INCLUDE dump that uses the same layout): a ``.parquet`` table with a row per landmark per
frame, columns ``frame, row_id, type, landmark_index, x, y, z``.

``type`` is ``face`` (468 points), ``left_hand`` (21), ``pose`` (33) or ``right_hand`` (21), the
MediaPipe Holistic components under the same names as ours; x and y are MediaPipe's normalised
image coordinates, z its relative depth, and every value is NaN where the part was not found. The
frame size is not recorded, so x and y are mapped onto an assumed square frame (``FRAME_SIZE``);
the shoulder-based normalisation of the models makes the scale irrelevant.

``asl_signs_bytes`` writes a sequence in the same layout, rows in the published order within a
frame (face, left hand, pose, right hand: 543 a frame, the face NaN when it was not extracted), so
that what signscribe extracts reads as Kaggle's files do: here, in pandas or Hugging Face ``datasets``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from signscribe.errors import PoseFileError
from signscribe.pose.layout import Layout, from_normalized
from signscribe.pose.sequence import PoseSequence

PARQUET_SUFFIX = ".parquet"
INDEX_FILE = "train.csv"  # beside the landmark files: a row a sequence
INDEX_COLUMNS = ("path", "participant_id", "sequence_id", "sign")
LABEL_MAP = "sign_to_prediction_index_map.json"  # beside train.csv: each sign's index
COLUMNS = ("frame", "type", "landmark_index", "x", "y", "z")
FRAME_SIZE = (1000, 1000)
FPS = 30.0  # the recordings' rate is not published; 30 is the phones' usual one
PUBLISHED_ORDER = {"face": 468, "left_hand": 21, "pose": 33, "right_hand": 21}  # the rows of a frame


def _read_table(path: Path) -> dict[str, np.ndarray]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not path.is_file():
        raise PoseFileError(path, "file not found")
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as error:
        raise PoseFileError(path, f"not a readable parquet file ({error})") from error
    missing = [name for name in COLUMNS if name not in table.column_names]
    if missing:
        raise PoseFileError(path, f"columns {table.column_names} lack {missing}; expected {', '.join(COLUMNS)}")
    return {name: table.column(name).to_numpy(zero_copy_only=False) for name in COLUMNS}


def load_asl_signs_landmarks(
    path: str | Path, include_face: bool = False, frame_size: tuple[int, int] = FRAME_SIZE, fps: float = FPS
) -> PoseSequence:
    """One asl-signs landmark file as a ``PoseSequence`` in signscribe's layout."""
    path = Path(path)
    columns = _read_table(path)
    layout = Layout(include_face=include_face)
    frame_numbers, frame_rows = np.unique(columns["frame"], return_inverse=True)
    if not len(frame_numbers):
        raise PoseFileError(path, "no landmark rows")
    values = np.full((len(frame_numbers), layout.num_points, 3), np.nan, np.float32)
    types = columns["type"].astype(str)
    indices = columns["landmark_index"].astype(int)
    xyz = np.stack([columns["x"], columns["y"], columns["z"]], axis=1).astype(np.float32)
    for name in layout.components:
        rows = layout.slice(name)
        chosen = types == name
        size = rows.stop - rows.start
        if (indices[chosen] >= size).any() or (indices[chosen] < 0).any():
            raise PoseFileError(path, f"{name} landmark_index outside 0-{size - 1}")
        values[frame_rows[chosen], rows.start + indices[chosen]] = xyz[chosen]
    found = ~np.isnan(values).any(axis=-1)
    width, height = frame_size
    data, confidence = from_normalized(np.nan_to_num(values), width, height)
    confidence = (confidence * found).astype(np.float32)
    return PoseSequence(
        data=np.where(found[..., None], data, 0.0).astype(np.float32),
        confidence=confidence,
        fps=fps,
        width=width,
        height=height,
        include_face=include_face,
        source=str(path),
    )


def asl_signs_bytes(sequence: PoseSequence) -> bytes:
    """``sequence`` as an asl-signs landmark file (Parquet): columns ``frame`` (int16), ``row_id``
    (``"<frame>-<type>-<index>"``), ``type``, ``landmark_index`` (int16), ``x``, ``y`` (normalised by
    the frame's size) and ``z`` (float64), NaN for a point not found."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    layout = Layout(include_face=sequence.include_face)
    scale = np.array([max(sequence.width, 1), max(sequence.height, 1), 1.0])
    normalised = np.where(sequence.confidence[..., None] > 0, sequence.data / scale, np.nan)
    count = sequence.num_frames
    xyz = np.concatenate(
        [
            normalised[:, layout.slice(name)] if name in layout.components else np.full((count, size, 3), np.nan)
            for name, size in PUBLISHED_ORDER.items()
        ],
        axis=1,
    ).reshape(-1, 3)
    types = np.tile(np.concatenate([np.full(size, name, object) for name, size in PUBLISHED_ORDER.items()]), count)
    indices = np.tile(np.concatenate([np.arange(size) for size in PUBLISHED_ORDER.values()]), count)
    frame_of_row = np.repeat(np.arange(count), sum(PUBLISHED_ORDER.values()))
    table = pa.table({
        "frame": pa.array(frame_of_row, pa.int16()),
        "row_id": pa.array([f"{f}-{t}-{i}" for f, t, i in zip(frame_of_row, types, indices, strict=True)]),
        "type": pa.array(types, pa.string()),
        "landmark_index": pa.array(indices, pa.int16()),
        "x": pa.array(xyz[:, 0], pa.float64()), "y": pa.array(xyz[:, 1], pa.float64()),
        "z": pa.array(xyz[:, 2], pa.float64()),
    })  # fmt: skip
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()
