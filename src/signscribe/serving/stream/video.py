"""Live recognition with an RGB video model (input kind ``frames``; the schema is in ``stream``).

Each image is shrunk and centre-cropped as it arrives (``FramesConfig.centre_frame``: a live stream
has no dataset box, and finding the signer with MediaPipe would cost more than the model). The model
was trained on clips of ``seconds`` (``config.json``'s ``input``) read as ``frames`` images, one
every ``seconds / frames``; the stream keeps that timing:

* A whole-clip model (I3D, S3D, X3D, MoViNet) keeps the last ``seconds`` of images and predicts on
  ``frames`` of them picked evenly by time, so images dropped by a busy server bias nothing. Each
  prediction runs the network over the window, so by default it predicts ``VIDEO_PREDICTION_RATE``
  times a second (a client's ``config`` may ask for more).
* A streaming MoViNet (``movinet_aN_stream``) feeds one image each model step to ``stream_step``
  with this connection's own state, milliseconds a step. Its running means would otherwise average
  everything since the stream opened, so it keeps two states, started half a window apart and each
  reset after a whole window: a prediction, from the older of the two, always covers between half
  a window and a whole window of the newest images.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from signscribe.devices import device_of
from signscribe.inference.recognizer import Recognizer
from signscribe.models.inputs.frames import KEPT_PER_FRAME, FramesConfig
from signscribe.serving.stream.messages import Incoming
from signscribe.serving.stream.session import StreamSession

VIDEO_PREDICTION_RATE = 2.0  # predictions a second of a whole-clip RGB model, unless a client asks
FALLBACK_FPS = 25.0  # for model folders saved before their clip length was recorded


@dataclass
class _StreamingPass:
    """One running state of a streaming MoViNet: since when, how many images, its latest logits."""

    start: float
    state: dict[str, Any] = field(default_factory=dict)
    fed: int = 0
    logits: torch.Tensor | None = None


class VideoSession(StreamSession):
    """An RGB model's stream (see the module's docstring)."""

    def __init__(self, recognizer: Recognizer, min_frames: int, top_k: int, rate: float) -> None:
        loaded = recognizer.loaded
        assert isinstance(loaded.features, FramesConfig)
        self.pipeline = loaded.features
        self.model = loaded.model
        self.streaming = bool(getattr(self.model, "causal", False)) and hasattr(self.model, "stream_step")
        super().__init__(
            recognizer,
            self.pipeline.frames,
            min_frames,
            top_k,
            rate if self.streaming else min(rate, VIDEO_PREDICTION_RATE),
        )
        statistics = loaded.config.get("input", {})
        fps = float(statistics.get("fps") or FALLBACK_FPS)
        self.seconds = float(statistics.get("seconds") or self.pipeline.frames / fps)
        self.step = self.seconds / self.pipeline.frames  # the model's time between two images
        self.window: deque[tuple[float, np.ndarray]] = deque()
        self.passes: list[_StreamingPass] = []
        self.last_fed = -np.inf

    def restart(self) -> None:
        super().restart()
        self.passes, self.last_fed = [], -np.inf

    def _process(self, frame: Incoming) -> list[dict[str, Any]]:
        started = time.perf_counter()
        if frame.image is None:
            message = "this model reads video frames: send images, not landmarks"
            return [{"type": "error", "code": "bad_message", "message": message}]
        self.processed += 1
        if self.streaming:
            return self._step(frame.t, frame.image, started)
        if not self.window or frame.t - self.window[-1][0] >= self.step / KEPT_PER_FRAME:
            self.window.append((frame.t, self.pipeline.centre_frame(frame.image)))
        while self.window[0][0] < frame.t - self.seconds:
            self.window.popleft()
        if not self._due(frame.t, len(self.window)):
            return []
        return [self._predict(frame.t, started)]

    def _predict(self, t: float, started: float) -> dict[str, Any]:
        if self.streaming:
            oldest = max(self.passes, key=lambda running: running.fed)
            assert oldest.logits is not None
            return self._prediction(t, (oldest.start, t, oldest.fed), True, self._ranked(oldest.logits), started)
        times = np.array([t for t, _ in self.window])
        wanted = np.linspace(max(times[0], t - self.seconds), t, self.pipeline.frames)
        nearest = np.abs(times[None] - wanted[:, None]).argmin(axis=1)  # the earlier one on a tie
        video = np.stack([self.window[i][1] for i in nearest])
        with torch.no_grad():
            logits = self.model(self._tensor(video))
        return self._prediction(t, (float(times[0]), t, len(times)), True, self._ranked(logits), started)

    def _step(self, t: float, image: np.ndarray, started: float) -> list[dict[str, Any]]:
        """A streaming model: one image each model step into both running states."""
        if t - self.last_fed < self.step - 1e-9:
            return []
        self.last_fed = t
        if not self.passes or (len(self.passes) == 1 and self.passes[0].fed == self.pipeline.frames // 2):
            self.passes.append(_StreamingPass(t))
        video = self._tensor(self.pipeline.centre_frame(image)[None])
        with torch.no_grad():
            for running in self.passes:
                if running.fed == self.pipeline.frames:  # a whole window: start again from this image
                    running.start, running.state, running.fed = t, {}, 0
                running.logits = self.model.stream_step(video, running.state)
                running.fed += 1
        if not self._due(t, max(running.fed for running in self.passes)):
            return []
        return [self._predict(t, started)]

    def _tensor(self, frames: np.ndarray) -> torch.Tensor:
        """Frames ``(n, size, size, 3)`` uint8 as a batch of one clip, where the model is."""
        return torch.from_numpy(self.pipeline.pixels(frames))[None].to(device_of(self.model))

    def _ranked(self, logits: torch.Tensor) -> list:
        return self.recognizer.ranked(logits[0].float().cpu().softmax(dim=-1).numpy(), self.top_k)
