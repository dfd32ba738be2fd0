"""The stream of a hand-shape model (input kind ``hand``, the bundled ``fingerspelling``): live
fingerspelling. Each frame's hand (from the image through the session's own MediaPipe Hands graph,
which follows the hand from frame to frame, or sent by the client) is read with the frames of the
``window`` seconds before it, as ``transcribe --fingerspell`` reads a video, and its letter goes into
``LiveSpelling``: the current letter, the word being spelled and the words spelled before it ride on
each prediction as ``spelling``.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import replace
from typing import Any

import numpy as np

from signscribe.inference.fingerspell import Fingerspeller
from signscribe.inference.recognizer import Prediction, Recognizer
from signscribe.inference.spelling import LiveSpelling, SpellingSettings
from signscribe.models.inputs.hand import palm_lengths, signing_hand
from signscribe.pose.photo import PhotoHands
from signscribe.pose.sequence import PoseSequence
from signscribe.serving.stream.messages import ConfigMessage, Incoming, StreamMessageError
from signscribe.serving.stream.session import STREAM_FPS, StreamSession, overlay_message

ALL_LABELS = "all"  # the config's labels that ranks every label of the model


class SpellingSession(StreamSession):
    """Letters and words from a hand in a live stream (see the module)."""

    def __init__(
        self, recognizer: Recognizer, top_k: int, rate: float, settings: SpellingSettings | None = None
    ) -> None:
        self.speller = Fingerspeller(recognizer, settings)
        self.settings = self.speller.settings
        most = recognizer.loaded.features.max_frames  # a longer window is resampled to this many
        super().__init__(recognizer, window_frames=most, min_frames=1, top_k=top_k, rate=rate)
        self.window_seconds = self.settings.window
        self.window: deque[tuple[float, np.ndarray, np.ndarray]] = deque()
        self.spelling = LiveSpelling(self.settings)
        self.ranked: list[Prediction] = []  # the newest frame's letters, best first
        self.size = (0, 0)
        self.hands: PhotoHands | None = None

    def configure(self, message: ConfigMessage) -> None:
        """``labels``: spell among one of the model's label sets (``letters``, ``digits``), or ``all``."""
        if message.labels is not None:
            sets = self.recognizer.label_sets
            if message.labels != ALL_LABELS and message.labels not in sets:
                known = ", ".join([*sets, ALL_LABELS])
                raise StreamMessageError("bad_message", f"unknown labels {message.labels!r}; this model's: {known}")
            labels = None if message.labels == ALL_LABELS else message.labels
            self.settings = replace(self.settings, labels=labels)
            self.speller = Fingerspeller(self.recognizer, self.settings)
        super().configure(message.model_copy(update={"labels": None}))

    def restart(self) -> None:
        super().restart()
        self.spelling = LiveSpelling(self.settings)
        self.ranked = []

    def _find(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.hands is None:
            self.hands = PhotoHands(video=True)
        found = self.hands.landmarks(image)
        return found.data[0], found.confidence[0]

    def _process(self, frame: Incoming) -> list[dict[str, Any]]:
        started = time.perf_counter()
        values, confidence, width, height = self.landmarks_of(frame)
        self.size = (width, height)
        self.window.append((frame.t, values, confidence))
        while self.window[0][0] <= frame.t - self.settings.window:
            self.window.popleft()
        self.processed += 1
        self._read_letter(frame.t)
        messages = [overlay_message(frame.t, values, confidence, width, height)]
        if self._due(frame.t, len(self.window)):
            messages.append(self._predict(frame.t, started))
        return messages

    def _read_letter(self, t: float) -> None:
        """The newest frame's letters, into the spelling (no letter when its hand is missing)."""
        width, height = self.size
        sequence = PoseSequence(
            data=np.stack([entry[1] for entry in self.window]),
            confidence=np.stack([entry[2] for entry in self.window]),
            fps=STREAM_FPS,  # the hand's features do not depend on it
            width=width,
            height=height,
            source="stream",
        )
        hand = signing_hand(sequence)
        points, found = sequence.component(hand)
        if not found[-1, 0] > 0:
            self.ranked = []
            self.spelling.add(t, "", 0.0, (np.nan, np.nan), np.nan)
            return
        row = self.speller.read([sequence])[0]
        order = np.argsort(-row, kind="stable")[: self.top_k]
        self.ranked = [Prediction(self.recognizer.labels[i], float(row[i])) for i in order if row[i] > 0]
        wrist, palm = points[-1, 0], float(palm_lengths(sequence, hand)[-1])
        best = self.ranked[0]
        self.spelling.add(t, best.gloss, best.confidence, (float(wrist[0]), float(wrist[1])), palm)

    def _predict(self, t: float, started: float) -> dict[str, Any]:
        times = [entry[0] for entry in self.window]
        window = (float(times[0]), float(times[-1]), len(times))
        prediction = self._prediction(t, window, bool(self.ranked), self.ranked, started)
        return {**prediction, "spelling": self.spelling.state()}

    def close(self) -> None:
        with self._lock:
            if self.hands is not None:
                self.hands.close()
                self.hands = None
