"""Continuous signing to a timed gloss transcript: sliding-window recognition over a whole video.

The video is read frame by frame and only one window of landmarks is held at a time, so a long
video costs no more memory than a short one. Each window is

1. **segmented**: it counts as signing when a hand is visible in enough of its frames and the hands
   move enough (motion energy: mean hand-point speed in shoulder widths per frame); otherwise it
   is "no sign";
2. **recognised** by the isolated-sign model when it is signing; a window whose best label is the
   model's idle label (``-`` in the default model) is "no sign" too.

Each window owns the stretch of time closest to its centre (the boundaries are the midpoints
between consecutive window centres), so the stretches tile the video without overlapping.
Consecutive stretches with the same gloss merge into one segment whose confidence is the mean of
its windows' probabilities; segments below ``min_confidence`` are dropped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from signscribe.inference.recognizer import IDLE_LABEL, Recognizer
from signscribe.pose.activity import SigningDetector
from signscribe.pose.layout import LEFT_SHOULDER, RIGHT_SHOULDER, Layout
from signscribe.pose.sequence import PoseSequence
from signscribe.pose.source import ClipSource, LandmarkFrame, stream_landmarks
from signscribe.progress import ProgressCallback

_HANDS = np.r_[Layout().slice("left_hand"), Layout().slice("right_hand")]


@dataclass(frozen=True)
class Segment:
    start: float  # seconds
    end: float
    gloss: str
    confidence: float  # mean top-1 probability of the windows merged into the segment


@dataclass
class Transcript:
    source: str
    duration: float  # seconds of video read
    frames: int
    fps: float
    window: int  # frames per window
    stride: int  # frames between window starts
    segments: list[Segment] = field(default_factory=list)
    # What happened on the way, to say why a transcript is empty:
    frames_with_signer: int = 0  # frames with any landmark found
    windows: int = 0
    signing_windows: int = 0  # hands raised and moving: read by the model
    candidates: list[Segment] = field(default_factory=list)  # segments dropped below min_confidence, best first
    spelling: bool = False  # a fingerspelling transcript: its segments are letters, ``text`` the words
    text: str = ""

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Transcript:
        """The transcript of ``to_dict`` (a transcribe job's stored result, say)."""
        segments = [Segment(**segment) for segment in values.get("segments", [])]
        candidates = [Segment(**segment) for segment in values.get("candidates", [])]
        return cls(**{**values, "segments": segments, "candidates": candidates})

    def why_empty(self) -> str:
        """Why no segment came out (empty when some did): no frames, no signer, the signer at rest,
        only the model's idle label, or nothing above the minimum confidence (with the best
        candidates)."""
        if self.segments:
            return ""
        if not self.frames:
            return "no frames were read"
        if self.spelling:
            return self._why_no_letter()
        if not self.frames_with_signer:
            return "no signer was found in any frame"
        if not self.signing_windows:
            return (f"the signer's hands are not raised and moving in any of the {self.windows} windows "
                    "(lower --min-hand-presence or --min-motion to read them anyway)")  # fmt: skip
        if not self.candidates:
            return f"the model saw no sign in the {self.signing_windows} windows with moving hands"
        best = ", ".join(f"{c.gloss} {c.start:.1f}-{c.end:.1f} s ({c.confidence:.0%})" for c in self.candidates[:3])
        return f"no segment reached the minimum confidence (--min-confidence); the best were {best}"

    def _why_no_letter(self) -> str:
        if not self.frames_with_signer:
            return "no hand was found in any frame"
        if not self.candidates:
            return f"no letter reached --min-confidence in the {self.windows} frames with a hand"
        best = ", ".join(f"{c.gloss} {c.start:.1f}-{c.end:.1f} s" for c in self.candidates[:3])
        return f"no letter was held long enough (--min-hold); the longest tries were {best}"


@dataclass(frozen=True)
class TranscriptionSettings:
    """``window``/``stride`` in video frames; ``None`` derives them from the model's training clips
    (the same duration as a training clip, and a quarter of it)."""

    window: int | None = None
    stride: int | None = None
    min_confidence: float = 0.5
    min_hand_presence: float = 0.5  # share of a window's central half with a hand raised (and moving: the detector)
    min_motion: float = 0.01  # mean hand-point speed, shoulder widths per frame
    batch: int = 32  # windows recognised together

    def __post_init__(self) -> None:
        if self.window is not None and self.window < 2:
            raise ValueError(f"window must be at least 2 frames, got {self.window}")
        if self.stride is not None and self.stride < 1:
            raise ValueError(f"stride must be at least 1 frame, got {self.stride}")
        if not 0 <= self.min_confidence <= 1 or not 0 <= self.min_hand_presence <= 1:
            raise ValueError("min_confidence and min_hand_presence must lie between 0 and 1")


def hand_motion(previous: LandmarkFrame | None, current: LandmarkFrame) -> float:
    """Mean displacement of the hand points seen in both frames, in shoulder widths (0 when none)."""
    if previous is None:
        return 0.0
    both = (previous.confidence[_HANDS] > 0) & (current.confidence[_HANDS] > 0)
    shoulders = current.values[[LEFT_SHOULDER, RIGHT_SHOULDER], :2]
    width = float(np.linalg.norm(shoulders[0] - shoulders[1]))
    if not both.any() or width <= 1e-6 or (current.confidence[[LEFT_SHOULDER, RIGHT_SHOULDER]] <= 0).any():
        return 0.0
    moved = current.values[_HANDS][both, :2] - previous.values[_HANDS][both, :2]
    return float(np.linalg.norm(moved, axis=1).mean() / width)


@dataclass
class _Window:
    start: float
    end: float
    sequence: PoseSequence
    signing: bool
    gloss: str | None = None
    confidence: float = 0.0

    @property
    def centre(self) -> float:
        return (self.start + self.end) / 2


class _Merger:
    """Turns windows, in order, into segments; a segment is yielded as soon as it is closed."""

    def __init__(self, min_confidence: float, dropped: list[Segment] | None = None) -> None:
        self.min_confidence = min_confidence
        self.dropped = dropped  # where the segments below min_confidence go, if anywhere
        self.previous: _Window | None = None
        self.boundary = 0.0  # where the previous window's stretch begins
        self.open: tuple[float, str, list[float]] | None = None  # start, gloss, window confidences

    def add(self, window: _Window | None, end_of_video: float | None = None) -> Iterator[Segment]:
        """Feed the next window, or ``None`` with ``end_of_video`` to close everything."""
        if self.previous is not None:
            start = self.boundary
            end = (self.previous.centre + window.centre) / 2 if window else end_of_video or self.previous.end
            yield from self._stretch(start, end, self.previous)
            self.boundary = end
        self.previous = window
        if window is None:
            yield from self._close(self.boundary)

    def _stretch(self, start: float, end: float, window: _Window) -> Iterator[Segment]:
        if self.open is not None and self.open[1] != window.gloss:
            yield from self._close(start)
        if window.gloss is not None:
            if self.open is None:
                self.open = (start, window.gloss, [])
            self.open[2].append(window.confidence)

    def _close(self, end: float) -> Iterator[Segment]:
        if self.open is not None:
            start, gloss, confidences = self.open
            self.open = None
            confidence = float(np.mean(confidences))
            if end <= start:
                return
            if confidence >= self.min_confidence:
                yield Segment(start, end, gloss, confidence)
            elif self.dropped is not None:
                self.dropped.append(Segment(start, end, gloss, confidence))


class Transcriber:
    """Timed gloss transcripts of long videos with an isolated-sign model.

    >>> transcriber = Transcriber.from_pretrained("default")
    >>> transcript = transcriber.transcribe("long_video.mp4")
    >>> for segment in transcriber.segments("long_video.mp4"):   # streamed as they close
    ...     print(segment.start, segment.end, segment.gloss)
    """

    def __init__(self, recognizer: Recognizer, settings: TranscriptionSettings | None = None) -> None:
        self.recognizer = recognizer
        self.settings = settings or TranscriptionSettings()
        self.detector = recognizer.detector or SigningDetector()
        self.idle_label = IDLE_LABEL if IDLE_LABEL in recognizer.labels else None

    @classmethod
    def from_pretrained(
        cls,
        path_or_name: str | Path | None = None,
        settings: TranscriptionSettings | None = None,
        frame_rate: float | None = None,
    ) -> Transcriber:
        """A recognition model (see ``Recognizer.from_pretrained``) with transcription ``settings``."""
        return cls(Recognizer.from_pretrained(path_or_name, frame_rate=frame_rate), settings)

    def window_and_stride(self, fps: float) -> tuple[int, int]:
        """Window and stride in frames of a video at ``fps``."""
        window = self.settings.window or max(2, round(self.recognizer.sign_seconds * fps))
        return window, self.settings.stride or max(1, window // 4)

    def transcribe(
        self,
        clip: ClipSource,
        on_landmarks: Callable[[LandmarkFrame], None] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> Transcript:
        """The whole transcript of a clip (a video, a ``.pose`` file, an MP_Data sequence or a
        ``PoseSequence``). ``on_landmarks`` sees each frame's landmarks as they are read, and
        ``on_progress(done, expected)`` counts the frames. A video longer than the recognizer's
        ``limits`` is refused before it is decoded, and so is a photo (one frame, nothing in time)."""
        self.recognizer.check_in_time(clip)
        stream = stream_landmarks(clip, self.recognizer.extractor.settings, self.recognizer.extractor.cache)
        fps = stream.fps
        window, stride = self.window_and_stride(fps)
        transcript = Transcript(stream.source, 0.0, 0, fps, window, stride)

        def counted(items: Iterable[LandmarkFrame]) -> Iterator[LandmarkFrame]:
            for item in items:
                transcript.frames += 1
                transcript.frames_with_signer += bool(item.confidence.any())
                transcript.duration = item.time + 1 / fps
                if on_landmarks is not None:
                    on_landmarks(item)
                if on_progress is not None:
                    on_progress(transcript.frames, stream.expected_frames)
                yield item

        transcript.segments = list(self._segments(counted(stream.frames), fps, window, stride, transcript))
        transcript.candidates.sort(key=lambda candidate: -candidate.confidence)
        return transcript

    def segments(self, clip: ClipSource) -> Iterator[Segment]:
        """Segments one by one as the clip is read."""
        self.recognizer.check_in_time(clip)
        stream = stream_landmarks(clip, self.recognizer.extractor.settings, self.recognizer.extractor.cache)
        yield from self._segments(stream.frames, stream.fps, *self.window_and_stride(stream.fps))

    def _segments(
        self, frames: Iterator[LandmarkFrame], fps: float, window: int, stride: int, tally: Transcript | None = None
    ) -> Iterator[Segment]:
        """The segments, with what happened on the way counted in ``tally``, if given."""
        merger = _Merger(self.settings.min_confidence, tally.candidates if tally is not None else None)
        pending: list[_Window] = []
        last_end = 0.0
        for item in self._windows(frames, fps, window, stride):
            if tally is not None:
                tally.windows += 1
                tally.signing_windows += item.signing
            pending.append(item)
            last_end = item.end
            if len(pending) >= self.settings.batch:
                yield from self._flush(pending, merger)
        yield from self._flush(pending, merger)
        yield from merger.add(None, end_of_video=last_end)

    def _flush(self, pending: list[_Window], merger: _Merger) -> Iterator[Segment]:
        signing = [item for item in pending if item.signing]
        if signing:
            probabilities = self.recognizer.scores([item.sequence for item in signing])
            indices = probabilities.argmax(axis=-1)
            best = probabilities[np.arange(len(indices)), indices]
            for item, confidence, index in zip(signing, best.tolist(), indices.tolist(), strict=True):
                gloss = self.recognizer.labels[index]
                if gloss != self.idle_label:
                    item.gloss, item.confidence = gloss, confidence
        for item in pending:
            yield from merger.add(item)
        pending.clear()

    def _windows(self, frames: Iterator[LandmarkFrame], fps: float, window: int, stride: int) -> Iterator[_Window]:
        buffer: deque[LandmarkFrame] = deque(maxlen=window)
        motion: deque[float] = deque(maxlen=window)
        previous: LandmarkFrame | None = None
        seen, emitted_at = 0, -1
        for item in frames:
            motion.append(hand_motion(previous, item))
            buffer.append(item)
            previous, seen = item, seen + 1
            # Until the first full window, shorter ones (from half a window on) stand for the video's start.
            first = window if seen >= window else window // 2
            if seen >= first and (seen - first) % stride == 0:
                emitted_at = seen
                yield self._window(buffer, motion, fps)
        if buffer and emitted_at != seen:  # the tail after the last full stride, or a short video
            yield self._window(buffer, motion, fps)

    def _window(self, buffer: deque[LandmarkFrame], motion: deque[float], fps: float) -> _Window:
        frames = list(buffer)
        data = np.stack([item.values for item in frames])
        confidence = np.stack([item.confidence for item in frames])
        sequence = PoseSequence(data, confidence, fps, width=0, height=0)
        # A window stands for the time around its centre, and a sign is often shorter than a window:
        # whether it is signing is read in its central half.
        quarter = len(frames) // 4
        raised = self.detector.measure(sequence.select_frames(slice(quarter, len(frames) - quarter))).moving
        signing = raised >= self.settings.min_hand_presence and float(np.mean(motion)) >= self.settings.min_motion
        return _Window(frames[0].time, frames[-1].time + 1 / fps, sequence, bool(signing))
