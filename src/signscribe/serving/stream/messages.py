"""The messages a client sends on the live stream, validated (pydantic, strict, finite numbers only)
into a frame to process or a configuration. Anything else becomes a ``StreamMessageError`` whose
``code`` the client gets in an ``error`` message; the stream goes on. The schema itself is described
in ``signscribe.serving.stream``."""

from __future__ import annotations

import base64
import binascii
import json
import math
import struct
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from signscribe.io.photos import ImageReadError, read_image
from signscribe.pose.layout import Layout, from_normalized
from signscribe.pose.sequence import PoseSequence

LAYOUT = Layout()
HEADER = struct.Struct("<d")
# Normalised landmarks lie in 0-1 across the frame, a little outside it for a point out of view; a
# value this far out is not a landmark (and 1e36 times the frame's width overflows).
MAX_LANDMARK_VALUE = 10.0


class StreamMessageError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class _Message(BaseModel):
    model_config = ConfigDict(strict=True, allow_inf_nan=False)


Point = Annotated[list[float], Field(min_length=3, max_length=4)]
Points = list[Point] | None


class ConfigMessage(_Message):
    type: Literal["config"]
    top_k: int | None = Field(None, ge=1, le=50)
    rate: float | None = Field(None, gt=0, le=60)
    labels: str | None = Field(None, min_length=1, max_length=64)  # a hand-shape model's label set, or "all"


class FrameMessage(_Message):
    type: Literal["frame"]
    t: float
    jpeg: str


class LandmarksMessage(_Message):
    type: Literal["landmarks"]
    t: float
    width: int = Field(640, ge=1, le=16384)
    height: int = Field(480, ge=1, le=16384)
    pose: Points = None
    left_hand: Points = None
    right_hand: Points = None


MESSAGE = TypeAdapter(Annotated[ConfigMessage | FrameMessage | LandmarksMessage, Field(discriminator="type")])
ERROR_CODES = {"frame": "bad_frame", "landmarks": "bad_landmarks"}


@dataclass
class Incoming:
    """A frame waiting to be processed: an RGB image or landmarks already in our layout."""

    t: float
    image: np.ndarray | None = None
    landmarks: tuple[np.ndarray, np.ndarray, int, int] | None = None


def decode_image(data: bytes, max_pixels: int) -> np.ndarray:
    """An RGB array of a JPEG, PNG or WebP frame; its size is read from the header and checked
    against ``max_pixels`` before a pixel is decoded."""
    try:
        return read_image(data, max_pixels, name="frame")
    except ImageReadError as error:
        raise StreamMessageError("frame_too_large" if error.too_large else "bad_frame", error.reason) from None


def _landmark_rows(message: LandmarksMessage) -> tuple[np.ndarray, np.ndarray, int, int]:
    values = np.zeros((LAYOUT.num_points, 3), np.float32)
    confidence = np.zeros(LAYOUT.num_points, np.float32)
    for name in LAYOUT.components:
        points = getattr(message, name)
        if points is None:
            continue
        rows = LAYOUT.slice(name)
        expected = rows.stop - rows.start
        if len(points) != expected or len({len(point) for point in points}) != 1:
            raise StreamMessageError("bad_landmarks", f"{name} must be {expected} points of [x, y, z, ...]")
        array = np.asarray(points, dtype=np.float64)
        if np.abs(array).max() > MAX_LANDMARK_VALUE:
            raise StreamMessageError(
                "bad_landmarks", f"{name} holds a value beyond ±{MAX_LANDMARK_VALUE:g}: landmarks are normalised (0-1)"
            )
        values[rows], confidence[rows] = from_normalized(
            array[:, :4] if name == "pose" else array[:, :3], message.width, message.height
        )
    return values, confidence, message.width, message.height


def landmarks_message(sequence: PoseSequence, index: int) -> dict[str, Any]:
    """Frame ``index`` of ``sequence`` (in pixels) as the ``landmarks`` message a client that runs
    MediaPipe itself sends (MediaPipe's normalised points, the pose with its visibility): what the
    stream reads back into the same landmarks."""
    scale = np.array([max(sequence.width, 1), max(sequence.height, 1), 1.0])
    message: dict[str, Any] = {
        "type": "landmarks", "t": index / sequence.fps, "width": sequence.width, "height": sequence.height,
    }  # fmt: skip
    for name in LAYOUT.components:
        rows = LAYOUT.slice(name)
        points = sequence.data[index, rows] / scale
        if not (sequence.confidence[index, rows] > 0).any():
            message[name] = None
        elif name == "pose":
            message[name] = np.column_stack([points, sequence.confidence[index, rows]]).tolist()
        else:
            message[name] = points.tolist()
    return message


def _validated(message: object) -> ConfigMessage | FrameMessage | LandmarksMessage:
    try:
        return MESSAGE.validate_python(message)
    except ValidationError as error:
        kind = message.get("type") if isinstance(message, dict) else None
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"][1:]) or "type"
        if first["type"] in ("union_tag_invalid", "union_tag_not_found"):
            message_text = f"unknown message type {kind!r}; expected config, frame or landmarks"
            raise StreamMessageError("bad_message", message_text) from None
        detail = f"invalid {kind} message: {where}: {first['msg']} ({error.error_count()} problem(s))"
        raise StreamMessageError(ERROR_CODES.get(str(kind), "bad_message"), detail) from None


def parse_message(text: str | None, data: bytes | None, max_bytes: int, max_pixels: int) -> Incoming | ConfigMessage:
    """A frame to process, or a configuration. CPU-heavy for images: call it off the event loop."""
    if data is not None:
        if len(data) > max_bytes:
            raise StreamMessageError("too_large", f"messages are limited to {max_bytes} bytes")
        if len(data) <= HEADER.size:
            raise StreamMessageError("bad_frame", "a binary frame is an 8-byte timestamp followed by JPEG bytes")
        (t,) = HEADER.unpack_from(data)
        if not math.isfinite(t):
            raise StreamMessageError("bad_frame", "the frame's timestamp is not a finite number")
        return Incoming(t=float(t), image=decode_image(data[HEADER.size :], max_pixels))
    if text is None or len(text) > max_bytes:
        raise StreamMessageError("too_large", f"messages are limited to {max_bytes} bytes")
    try:
        raw = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        reason = error.msg if isinstance(error, json.JSONDecodeError) else "nested too deeply"
        raise StreamMessageError("bad_json", f"not JSON: {reason}") from None
    if not isinstance(raw, dict):
        raise StreamMessageError("bad_message", "a message must be a JSON object")
    message = _validated(raw)
    if isinstance(message, ConfigMessage):
        return message
    if isinstance(message, FrameMessage):
        try:
            jpeg = base64.b64decode(message.jpeg, validate=True)
        except (binascii.Error, ValueError):
            raise StreamMessageError("bad_frame", "'jpeg' must be base64") from None
        return Incoming(t=message.t, image=decode_image(jpeg, max_pixels))
    return Incoming(t=message.t, landmarks=_landmark_rows(message))
