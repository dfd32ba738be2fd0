"""Live recognition over a WebSocket: a sliding window of landmarks per connection.

Message schema (version 1), all JSON text unless said otherwise.

Client to server:

* ``{"type": "config", "top_k": 5, "rate": 15}``: optional; predictions a second at most.
* A frame, either binary (8-byte little-endian float64 timestamp in seconds, then JPEG bytes) or
  ``{"type": "frame", "t": 1.25, "jpeg": "<base64>"}``.
* Landmarks from a client that runs MediaPipe itself: ``{"type": "landmarks", "t": 1.25,
  "width": 640, "height": 480, "pose": [[x, y, z, visibility] x 33] | null, "left_hand":
  [[x, y, z] x 21] | null, "right_hand": ... | null}`` with MediaPipe's normalised x, y.

Server to client:

* ``{"type": "ready", "schema": 1, "model": ..., "labels": [...], "window_frames": N, "top_k": K}``
* ``{"type": "landmarks", "t": ..., "pose": [[x, y] x 33] | null, "left_hand": ..., "right_hand": ...}``
  (normalised 0-1 image coordinates, for drawing an overlay) for every processed frame.
* ``{"type": "prediction", "t": ..., "window": {"start": t0, "end": t1, "frames": n}, "signing": bool,
  "top_k": [{"gloss": ..., "confidence": ...}], "frames": {"received": r, "processed": p, "dropped": d},
  "processing_ms": ms}``: ``t`` is the newest frame the prediction includes; while the signer rests
  (no hand raised, see ``signscribe.pose.activity``) ``signing`` is false and ``top_k`` empty.
* ``{"type": "error", "code": ..., "message": ...}``: a bad message; the stream goes on.

Frames are processed one at a time. When a new frame arrives before the previous one is
processed, the older one is dropped and counted, so a slow server falls behind by dropping
frames, never by queueing them: memory per connection is one pending frame plus the window.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from signscribe.inference.recognizer import Recognizer
from signscribe.pose.extract import HolisticStream
from signscribe.pose.layout import Layout, from_normalized
from signscribe.pose.sequence import PoseSequence

SCHEMA_VERSION = 1
LAYOUT = Layout()
HEADER = struct.Struct("<d")


class StreamMessageError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Incoming:
    """A frame waiting to be processed: an RGB image or landmarks already in our layout."""

    t: float
    image: np.ndarray | None = None
    landmarks: tuple[np.ndarray, np.ndarray, int, int] | None = None


def _decode_jpeg(data: bytes) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ("JPEG", "PNG", "WEBP"):
                raise StreamMessageError("bad_frame", f"frames must be JPEG, got {image.format}")
            return np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError) as error:
        raise StreamMessageError("bad_frame", f"the frame is not a readable JPEG ({error})") from error


def _landmark_rows(message: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, int, int]:
    width, height = int(message.get("width") or 640), int(message.get("height") or 480)
    values = np.zeros((LAYOUT.num_points, 3), np.float32)
    confidence = np.zeros(LAYOUT.num_points, np.float32)
    for name in LAYOUT.components:
        points = message.get(name)
        if points is None:
            continue
        rows = LAYOUT.slice(name)
        array = np.asarray(points, dtype=np.float32)
        expected = rows.stop - rows.start
        if array.ndim != 2 or array.shape[0] != expected or array.shape[1] < 3:
            raise StreamMessageError("bad_landmarks", f"{name} must be {expected} points of [x, y, z, ...]")
        values[rows], confidence[rows] = from_normalized(
            array[:, :4] if name == "pose" else array[:, :3], width, height
        )
    return values, confidence, width, height


def parse_message(text: str | None, data: bytes | None, max_bytes: int) -> Incoming | dict[str, Any]:
    """A frame to process, or a config message (a dict)."""
    if data is not None:
        if len(data) > max_bytes:
            raise StreamMessageError("too_large", f"messages are limited to {max_bytes} bytes")
        if len(data) <= HEADER.size:
            raise StreamMessageError("bad_frame", "a binary frame is an 8-byte timestamp followed by JPEG bytes")
        (t,) = HEADER.unpack_from(data)
        return Incoming(t=float(t), image=_decode_jpeg(data[HEADER.size :]))
    if text is None or len(text) > max_bytes:
        raise StreamMessageError("too_large", f"messages are limited to {max_bytes} bytes")
    try:
        message = json.loads(text)
    except json.JSONDecodeError as error:
        raise StreamMessageError("bad_json", f"not JSON: {error.msg}") from error
    if not isinstance(message, dict):
        raise StreamMessageError("bad_message", "a message must be a JSON object")
    kind = message.get("type")
    if kind == "config":
        return message
    if not isinstance(message.get("t"), int | float):
        raise StreamMessageError("bad_message", f"a {kind!r} message needs a numeric timestamp 't'")
    if kind == "frame":
        try:
            jpeg = base64.b64decode(message.get("jpeg") or "", validate=True)
        except ValueError as error:
            raise StreamMessageError("bad_frame", "'jpeg' must be base64") from error
        return Incoming(t=float(message["t"]), image=_decode_jpeg(jpeg))
    if kind == "landmarks":
        return Incoming(t=float(message["t"]), landmarks=_landmark_rows(message))
    raise StreamMessageError("bad_message", f"unknown message type {kind!r}; expected config, frame or landmarks")


class StreamSession:
    """The state of one connection: the pending frame, the landmark window and the counters."""

    def __init__(self, recognizer: Recognizer, window_frames: int, min_frames: int, top_k: int, rate: float) -> None:
        self.recognizer = recognizer
        self.window: deque[tuple[float, np.ndarray, np.ndarray]] = deque(maxlen=window_frames)
        self.min_frames = min(min_frames, window_frames)
        self.top_k, self.rate = top_k, rate
        self.size = (0, 0)
        self.received = self.processed = self.dropped = 0
        self.last_prediction = -np.inf
        self.pending: Incoming | None = None
        self.wake = asyncio.Event()
        self.holistic: HolisticStream | None = None
        self._graph_lock = threading.Lock()  # process() runs in a worker thread; close() must wait for it

    def configure(self, message: dict[str, Any]) -> None:
        if "top_k" in message:
            self.top_k = max(1, min(int(message["top_k"]), len(self.recognizer.labels)))
        if "rate" in message:
            self.rate = max(0.1, float(message["rate"]))

    def offer(self, frame: Incoming) -> None:
        """Keep only the newest unprocessed frame."""
        self.received += 1
        if self.pending is not None:
            self.dropped += 1
        self.pending = frame
        self.wake.set()

    def take(self) -> Incoming | None:
        frame, self.pending = self.pending, None
        self.wake.clear()
        return frame

    def process(self, frame: Incoming) -> list[dict[str, Any]]:
        """Landmarks of one frame into the window; returns the messages to send. Runs in a worker thread."""
        with self._graph_lock:
            return self._process(frame)

    def _process(self, frame: Incoming) -> list[dict[str, Any]]:
        started = time.perf_counter()
        if frame.landmarks is not None:
            values, confidence, width, height = frame.landmarks
        else:
            assert frame.image is not None
            if self.holistic is None:
                self.holistic = HolisticStream().__enter__()
            values, confidence = self.holistic.process(frame.image)
            height, width = frame.image.shape[:2]
        self.size = (width, height)
        self.window.append((frame.t, values, confidence))
        self.processed += 1
        messages = [self._overlay(frame.t, values, confidence, width, height)]
        if len(self.window) >= self.min_frames and frame.t - self.last_prediction >= 1 / self.rate - 1e-9:
            self.last_prediction = frame.t
            messages.append(self._prediction(frame.t, started))
        return messages

    def _overlay(self, t: float, values: np.ndarray, confidence: np.ndarray, width: int, height: int) -> dict:
        message: dict[str, Any] = {"type": "landmarks", "t": t}
        for name in LAYOUT.components:
            rows = LAYOUT.slice(name)
            if (confidence[rows] > 0).any():
                points = values[rows, :2] / np.array([max(width, 1), max(height, 1)])
                message[name] = np.round(points, 4).tolist()
            else:
                message[name] = None
        return message

    def _prediction(self, t: float, started: float) -> dict[str, Any]:
        times = np.array([entry[0] for entry in self.window])
        span = times[-1] - times[0]
        fps = (len(times) - 1) / span if span > 0 else 15.0
        width, height = self.size
        sequence = PoseSequence(
            data=np.stack([entry[1] for entry in self.window]),
            confidence=np.stack([entry[2] for entry in self.window]),
            fps=fps,
            width=width,
            height=height,
            source="stream",
        )
        detector = self.recognizer.detector
        signing = detector is None or detector.is_signing(sequence)
        predictions = self.recognizer.predict(sequence, top_k=self.top_k) if signing else []
        return {
            "type": "prediction",
            "t": t,
            "window": {"start": float(times[0]), "end": float(times[-1]), "frames": len(times)},
            "signing": signing,
            "top_k": [{"gloss": p.gloss, "confidence": round(p.confidence, 5)} for p in predictions],
            "frames": {"received": self.received, "processed": self.processed, "dropped": self.dropped},
            "processing_ms": round((time.perf_counter() - started) * 1000, 2),
        }

    def close(self) -> None:
        with self._graph_lock:
            if self.holistic is not None:
                self.holistic.__exit__(None, None, None)
                self.holistic = None
