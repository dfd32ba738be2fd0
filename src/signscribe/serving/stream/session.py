"""The state of one stream connection (``StreamSession``: the pending frame, the counters, the
prediction rate and the prediction it held back) and the landmark models' session (``LandmarkSession``).
The message schema is in ``signscribe.serving.stream``."""

from __future__ import annotations

import asyncio
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeAlias

import numpy as np

from signscribe.inference.recognizer import Prediction, Recognizer
from signscribe.pose.extract import PoseFinder
from signscribe.pose.holistic_graph import HolisticStream
from signscribe.pose.sequence import PoseSequence
from signscribe.pose.signer_search import SignerFraming
from signscribe.serving.stream.batching import WindowBatcher
from signscribe.serving.stream.messages import LAYOUT, ConfigMessage, Incoming, StreamMessageError
from signscribe.serving.stream.slots import StreamSlots

SCHEMA_VERSION = 1
STREAM_FPS = 15.0  # the frame rate of a window whose frames all share one time
# A message to send, or one still being computed (a prediction waiting for its batch)
Outgoing: TypeAlias = "dict[str, Any] | Future[dict[str, Any]]"


def _then(future: Future[np.ndarray], make: Callable[[np.ndarray], dict[str, Any]]) -> Future[dict[str, Any]]:
    """The message ``make`` builds from ``future``'s result, once it has one."""
    message: Future[dict[str, Any]] = Future()

    def build(done: Future[np.ndarray]) -> None:
        try:
            message.set_result(make(done.result()))
        except Exception as error:
            message.set_exception(error)

    future.add_done_callback(build)
    return message


def overlay_message(t: float, values: np.ndarray, confidence: np.ndarray, width: int, height: int) -> dict[str, Any]:
    """A frame's landmarks (pixels) as the ``landmarks`` message a client draws: normalised 0-1
    image coordinates, a part not found as null."""
    message: dict[str, Any] = {"type": "landmarks", "t": t}
    for name in LAYOUT.components:
        rows = LAYOUT.slice(name)
        if (confidence[rows] > 0).any():
            points = values[rows, :2] / np.array([max(width, 1), max(height, 1)])
            message[name] = np.round(points, 4).tolist()
        else:
            message[name] = None
    return message


class StreamSession(ABC):
    """The state of one connection that every model shares: the pending frame, the counters and the
    prediction rate. A subclass turns frames into messages (``_process``, in a worker thread)."""

    window_seconds: float | None = None  # a window of a time rather than of frames (live spelling)

    def __init__(self, recognizer: Recognizer, window_frames: int, min_frames: int, top_k: int, rate: float) -> None:
        self.recognizer = recognizer
        self.window_frames = window_frames
        self.min_frames = min(min_frames, window_frames)
        self.top_k, self.rate = top_k, rate
        self.received = self.processed = self.dropped = 0
        self.last_prediction = -np.inf
        self.held: float | None = None  # the time of a frame whose prediction the rate held back
        self.latest = -np.inf  # the timestamp of the last frame processed
        self.window: deque = deque()
        self.pending: Incoming | None = None
        self.wake = asyncio.Event()
        self._lock = threading.Lock()  # process() runs in a worker thread; close() must wait for it

    def configure(self, message: ConfigMessage) -> None:
        """Apply a client's ``config``; a ``StreamMessageError`` for what this model cannot do."""
        if message.labels is not None:
            raise StreamMessageError("bad_message", "labels apply to the stream of a hand-shape model (fingerspelling)")
        if message.top_k is not None:
            self.top_k = min(message.top_k, len(self.recognizer.labels))
        if message.rate is not None:
            self.rate = message.rate

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

    def process(self, frame: Incoming) -> list[Outgoing]:
        """One frame into the window; returns the messages to send. Runs in a worker thread. A frame
        stamped before the one processed last (a client whose clock started again) starts afresh."""
        with self._lock:
            if frame.t < self.latest:
                self.restart()
            self.latest = frame.t
            return self._process(frame)

    def flush(self) -> list[Outgoing]:
        """The prediction the rate held back, once no newer frame came to carry it. Runs in a worker thread."""
        with self._lock:
            if self.held is None:
                return []
            t, self.held = self.held, None
            self.last_prediction = t
            return [self._predict(t, time.perf_counter())]

    def restart(self) -> None:
        """Forget the frames seen so far and when the last prediction was made."""
        self.last_prediction = -np.inf
        self.held = None
        self.window.clear()

    @abstractmethod
    def _process(self, frame: Incoming) -> list[Outgoing]: ...

    def landmarks_of(self, frame: Incoming) -> tuple[np.ndarray, np.ndarray, int, int]:
        """A frame's landmarks in pixels, their confidence and the frame's size: the client's, or those
        ``_find`` finds in its image."""
        if frame.landmarks is not None:
            return frame.landmarks
        assert frame.image is not None
        height, width = frame.image.shape[:2]
        return (*self._find(frame.image), width, height)

    def _find(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The landmarks and confidence of an RGB image (sessions of landmark models)."""
        raise NotImplementedError(f"{type(self).__name__} reads no landmarks")

    @abstractmethod
    def _predict(self, t: float, started: float) -> Outgoing:
        """The prediction of the window as it stands, its newest frame at ``t``."""

    def _due(self, t: float, frames: int) -> bool:
        """Whether a window of ``frames`` ending at ``t`` is long enough and the rate allows a prediction
        (when only the rate forbids it, the frame is held for ``flush``)."""
        if frames < self.min_frames:
            return False
        if t - self.last_prediction < 1 / self.rate - 1e-9:
            self.held = t
            return False
        self.last_prediction, self.held = t, None
        return True

    def _prediction(
        self, t: float, window: tuple[float, float, int], signing: bool, ranked: list[Prediction], started: float
    ) -> dict[str, Any]:
        first, last, frames = window
        unknown = self.recognizer.unknown_sign(ranked[0]) if signing and ranked else None
        return {
            "type": "prediction",
            "t": t,
            "window": {"start": first, "end": last, "frames": frames},
            "signing": signing,
            "top_k": [{"gloss": p.gloss, "confidence": round(p.confidence, 5)} for p in ranked],
            **({"no_gloss": {"code": unknown.code, "message": unknown.message}} if unknown else {}),
            "frames": {"received": self.received, "processed": self.processed, "dropped": self.dropped},
            "processing_ms": round((time.perf_counter() - started) * 1000, 2),
        }

    def close(self) -> None:  # noqa: B027  (optional: nothing to give back unless overridden)
        """Give back what the session borrowed; called once, when the connection ends."""


class LandmarkSession(StreamSession):
    """A landmark model's stream: each frame's landmarks (from the image through a borrowed MediaPipe
    graph, or sent by the client) into a window of the model's training length, whose prediction
    the model's ``WindowBatcher`` computes with the windows of the other streams."""

    def __init__(
        self,
        recognizer: Recognizer,
        window_frames: int,
        min_frames: int,
        top_k: int,
        rate: float,
        graphs: StreamSlots,
        batcher: WindowBatcher,
    ) -> None:
        """``graphs`` lends the MediaPipe graph on the first image frame; ``close`` gives it back. A
        stream whose client sends landmarks never borrows one."""
        super().__init__(recognizer, window_frames, min_frames, top_k, rate)
        self.batcher = batcher
        self.window: deque[tuple[float, np.ndarray, np.ndarray]] = deque(maxlen=window_frames)
        self.size = (0, 0)
        self.graphs = graphs
        self.holistic: HolisticStream | None = None
        self.framing: SignerFraming | None = None  # the borrowed graph, zoomed in on a signer small in the frame

    def _find(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.framing is None:
            self.holistic = self.graphs.borrow()
            self.framing = SignerFraming(self.holistic, open_finder=lambda: PoseFinder().__enter__())
        return self.framing.process(image)

    def _process(self, frame: Incoming) -> list[Outgoing]:
        started = time.perf_counter()
        values, confidence, width, height = self.landmarks_of(frame)
        self.size = (width, height)
        self.window.append((frame.t, values, confidence))
        self.processed += 1
        messages: list[Outgoing] = [overlay_message(frame.t, values, confidence, width, height)]
        if self._due(frame.t, len(self.window)):
            messages.append(self._predict(frame.t, started))
        return messages

    def _predict(self, t: float, started: float) -> Outgoing:
        times = np.array([entry[0] for entry in self.window])
        span = times[-1] - times[0]
        fps = (len(times) - 1) / span if span > 0 else STREAM_FPS
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
        window = (float(times[0]), float(times[-1]), len(times))
        if signing and self.recognizer.explains:
            ranked, attention = self.recognizer.explain(sequence, top_k=self.top_k)
            return {**self._prediction(t, window, signing, ranked, started), "attention": attention.weights}
        if not signing:
            return self._prediction(t, window, signing, [], started)
        return _then(
            self.batcher.submit(sequence),
            lambda row: self._prediction(t, window, signing, self.recognizer.ranked(row, self.top_k), started),
        )

    def close(self) -> None:
        with self._lock:
            if self.framing is not None:
                self.framing.close()
                self.framing = None
            if self.holistic is not None:
                self.graphs.give_back(self.holistic)
                self.holistic = None
