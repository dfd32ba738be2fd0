"""Read and write the standard ``.pose`` format (pose-format) with the MediaPipe Holistic header."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from pose_format import Pose
from pose_format.numpy.pose_body import NumPyPoseBody
from pose_format.pose_header import PoseHeader, PoseHeaderComponent, PoseHeaderDimensions

from signscribe.errors import PoseFileError
from signscribe.files import atomic_write
from signscribe.pose.layout import BODY_POINTS, COMPONENT_SIZES, HAND_POINTS, POSE_FORMAT_NAMES
from signscribe.pose.sequence import PoseSequence

POSE_SUFFIX = ".pose"
_HOLISTIC_ORDER = ("pose", "face", "left_hand", "right_hand")  # pose-format's component order


def _header_component(name: str) -> PoseHeaderComponent:
    """The same component pose-format's own MediaPipe Holistic extractor writes."""
    from pose_format.utils import holistic

    if name == "pose":
        points, limbs, colors = list(BODY_POINTS), holistic.BODY_LIMBS, [(255, 0, 0)]
    elif name == "face":
        points, limbs, colors = holistic.FACE_POINTS(), holistic.FACE_LIMBS, [(128, 0, 0)]
    else:
        points, limbs, colors = list(HAND_POINTS), holistic.HAND_LIMBS, holistic.hand_colors
    return PoseHeaderComponent(
        name=POSE_FORMAT_NAMES[name], points=points, limbs=limbs, colors=colors, point_format="XYZC"
    )


def to_pose(sequence: PoseSequence) -> Pose:
    """Convert to a pose-format ``Pose`` (one person, components in pose-format's Holistic order)."""
    layout = sequence.layout
    names = [name for name in _HOLISTIC_ORDER if name in layout.components]
    rows = np.concatenate([np.arange(layout.num_points)[layout.slice(name)] for name in names])
    header = PoseHeader(
        version=0.2,
        dimensions=PoseHeaderDimensions(width=sequence.width, height=sequence.height, depth=0),
        components=[_header_component(name) for name in names],
    )
    data = sequence.data[:, rows][:, None].astype(np.float32)
    confidence = sequence.confidence[:, rows][:, None].astype(np.float32)
    body = NumPyPoseBody(fps=sequence.fps, data=data, confidence=confidence)
    return Pose(header, body)


def from_pose(pose: Pose, source: str, include_face: bool | None = None) -> PoseSequence:
    """Convert a pose-format ``Pose`` with MediaPipe Holistic components into a ``PoseSequence``.

    ``include_face`` defaults to whether the file has a face component.
    """
    present = {component.name for component in pose.header.components}
    wanted = ["pose", "left_hand", "right_hand"]
    missing = [POSE_FORMAT_NAMES[name] for name in wanted if POSE_FORMAT_NAMES[name] not in present]
    if missing:
        raise PoseFileError(
            source,
            f"not a MediaPipe Holistic pose: components {sorted(present)} lack {missing}",
        )
    if include_face is None:
        include_face = POSE_FORMAT_NAMES["face"] in present
    if include_face:
        if POSE_FORMAT_NAMES["face"] not in present:
            raise PoseFileError(source, "has no FACE_LANDMARKS component but the face was asked for")
        wanted.append("face")

    body = pose.body
    if body.data.ndim != 4 or body.data.shape[1] < 1:
        raise PoseFileError(source, f"unexpected pose body shape {body.data.shape}")
    values = np.asarray(np.ma.getdata(body.data), dtype=np.float32)[:, 0]
    confidence = np.asarray(body.confidence, dtype=np.float32)[:, 0]
    if values.shape[-1] == 2:
        values = np.concatenate([values, np.zeros_like(values[..., :1])], axis=-1)

    rows = []
    for name in wanted:
        component = next(c for c in pose.header.components if c.name == POSE_FORMAT_NAMES[name])
        if len(component.points) < COMPONENT_SIZES[name]:
            raise PoseFileError(
                source, f"{component.name} has {len(component.points)} points, expected {COMPONENT_SIZES[name]}"
            )
        start = pose.header.get_point_index(component.name, component.points[0])
        rows.append(np.arange(start, start + COMPONENT_SIZES[name]))
    order = np.concatenate(rows)
    data, conf = values[:, order, :3], confidence[:, order]
    data = np.where(conf[..., None] > 0, data, 0.0).astype(np.float32)
    dims = pose.header.dimensions
    return PoseSequence(
        data=data,
        confidence=conf,
        fps=float(body.fps),
        width=int(dims.width),
        height=int(dims.height),
        include_face=include_face,
        source=source,
    )


def pose_bytes(sequence: PoseSequence) -> bytes:
    """The bytes of ``sequence``'s ``.pose`` file."""
    buffer = io.BytesIO()
    to_pose(sequence).write(buffer)
    return buffer.getvalue()


def save_pose(sequence: PoseSequence, path: str | Path) -> Path:
    """Write a ``.pose`` file atomically (a temporary file renamed into place)."""
    path = Path(path)
    with atomic_write(path) as file:
        file.write(pose_bytes(sequence))
    return path


def load_pose(path: str | Path, include_face: bool | None = None) -> PoseSequence:
    """Read a ``.pose`` file written by signscribe or by another tool with the Holistic header."""
    path = Path(path)
    if not path.is_file():
        raise PoseFileError(path, "file not found")
    buffer = path.read_bytes()
    if not buffer:
        raise PoseFileError(path, "file is empty")
    try:
        pose = Pose.read(buffer)
    except Exception as error:  # pose-format raises many types on corrupt input
        raise PoseFileError(path, f"not a readable .pose file ({type(error).__name__}: {error})") from error
    return from_pose(pose, source=str(path), include_face=include_face)
