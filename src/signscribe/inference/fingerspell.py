"""Fingerspelling in a video to letters with times, and the words they spell.

Every frame in which a hand is found gets the letter of a hand-shape model (the ``hand`` input kind:
the bundled ``fingerspelling``) over the frames just before it (``window`` seconds, long enough for
J and Z to move), among ``labels`` (letters by default: a spelled word is not a number). Then:

1. **hold**: a letter counts when it is the best one, at ``min_confidence`` or more, for ``min_hold``
   seconds in a row; the frames between two letters (the hand changing shape) are passed over;
2. **repeat**: two holds of one letter are one letter, unless the wrist slides ``double_move`` palm
   lengths between them or within one hold: that is how a double letter (the two Ls of HELLO) is
   signed, a small slide or bounce of the held shape;
3. **words**: ``word_gap`` seconds without a letter (the hand lowered, out of view, or at rest)
   end a word.

The result is a ``Transcript`` whose segments are the letters (gloss: the letter, confidence: its
mean probability over the hold) and whose ``text`` is the spelled words, so the subtitle formats,
the service and the page read it as they read a sign transcript.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from signscribe.errors import InputFileError
from signscribe.inference.recognizer import Recognizer
from signscribe.inference.transcribe import Segment, Transcript
from signscribe.models.inputs.hand import median_palm, signing_hand
from signscribe.pose.sequence import PoseSequence
from signscribe.pose.source import ClipSource, load_landmarks
from signscribe.progress import ProgressCallback

FINGERSPELLING_MODEL = "fingerspelling"


@dataclass(frozen=True)
class SpellingSettings:
    """How frames' letters become spelled words (see the module)."""

    min_confidence: float = 0.5
    min_hold: float = 0.2  # seconds
    word_gap: float = 0.6  # seconds
    double_move: float = 0.5  # palm lengths
    window: float = 0.4  # seconds
    labels: str | None = "letters"  # a set the model names, or None for all its labels
    batch: int = 64  # frames read by the model together

    def __post_init__(self) -> None:
        if not 0 <= self.min_confidence <= 1:
            raise ValueError(f"min_confidence must lie between 0 and 1, got {self.min_confidence}")
        if min(self.min_hold, self.word_gap, self.window) <= 0 or self.double_move <= 0:
            raise ValueError("min_hold, word_gap, window and double_move must be positive")


@dataclass(frozen=True)
class _Hold:
    first: int  # frame numbers, inclusive
    last: int
    letter: str
    confidence: float


class Fingerspeller:
    """Letters with times and the spelled words of a video, a ``.pose`` file or landmarks.

    >>> speller = Fingerspeller.from_pretrained()            # the bundled fingerspelling model
    >>> speller.transcribe("spelling.mp4").text
    'HELLO'
    """

    def __init__(self, recognizer: Recognizer, settings: SpellingSettings | None = None) -> None:
        if recognizer.loaded.input_kind != "hand":
            raise InputFileError(
                recognizer.loaded.path, "spelling needs a model of hand shapes (input kind hand), e.g. fingerspelling"
            )
        self.recognizer = recognizer
        self.settings = settings or SpellingSettings()
        self.allowed = recognizer.label_mask(
            self.settings.labels if self.settings.labels in recognizer.label_sets else None
        )

    @classmethod
    def from_pretrained(
        cls, path_or_name: str | Path | None = None, settings: SpellingSettings | None = None
    ) -> Fingerspeller:
        return cls(Recognizer.from_pretrained(path_or_name or FINGERSPELLING_MODEL), settings)

    def transcribe(self, clip: ClipSource, on_progress: ProgressCallback | None = None) -> Transcript:
        """The letters of a clip and the words they spell; ``on_progress`` follows its frames."""
        self.recognizer.check_in_time(clip)
        sequence = load_landmarks(clip, self.recognizer.extractor, on_progress)
        window = max(1, round(self.settings.window * sequence.fps))
        transcript = Transcript(sequence.source or str(clip), sequence.duration, sequence.num_frames, sequence.fps,
                                window, 1, spelling=True)  # fmt: skip
        hand = signing_hand(sequence) if sequence.num_frames else "right_hand"
        found = sequence.detected(hand)
        transcript.frames_with_signer = transcript.windows = int(found.sum())
        letters, confidence = self._frame_letters(sequence, found, window)
        transcript.signing_windows = int((confidence >= self.settings.min_confidence).sum())
        holds = self._holds(letters, confidence, sequence.fps, transcript)
        wrist = self._wrist_path(sequence, hand)
        words = self._words(self._split_doubles(holds, wrist, sequence.fps), wrist, sequence.fps)
        transcript.segments = [self._segment(hold, sequence.fps) for word in words for hold in word]
        transcript.text = " ".join("".join(hold.letter for hold in word) for word in words)
        transcript.candidates.sort(key=lambda candidate: candidate.start - candidate.end)  # the longest first
        return transcript

    def _frame_letters(self, sequence: PoseSequence, found: np.ndarray, window: int) -> tuple[list[str], np.ndarray]:
        """Each frame's best letter and its probability over the ``window`` frames up to it (none and
        0 where the hand is not found)."""
        pipeline, recognizer = self.recognizer.loaded.features, self.recognizer
        letters, confidence = [""] * sequence.num_frames, np.zeros(sequence.num_frames)
        frames = np.flatnonzero(found)
        for start in range(0, len(frames), self.settings.batch):
            chosen = frames[start : start + self.settings.batch]
            prepared = [pipeline.prepare(sequence.select_frames(np.arange(max(0, t - window + 1), t + 1)))
                        for t in chosen]  # fmt: skip
            probabilities = recognizer.probabilities(recognizer.logits(prepared), prepared, self.allowed)
            for frame, row in zip(chosen, probabilities, strict=True):
                best = int(np.argmax(row))
                letters[frame], confidence[frame] = recognizer.labels[best], float(row[best])
        return letters, confidence

    def _holds(self, letters: list[str], confidence: np.ndarray, fps: float, transcript: Transcript) -> list[_Hold]:
        """The runs of one letter at ``min_confidence`` held ``min_hold`` or longer; shorter runs are
        kept as the transcript's candidates."""
        holds: list[_Hold] = []
        shortest = self._shortest_hold(fps)
        strong = confidence >= self.settings.min_confidence
        frame = 0
        while frame < len(letters):
            if not strong[frame]:
                frame += 1
                continue
            last = frame
            while last + 1 < len(letters) and strong[last + 1] and letters[last + 1] == letters[frame]:
                last += 1
            hold = _Hold(frame, last, letters[frame], float(confidence[frame : last + 1].mean()))
            if last - frame + 1 >= shortest:
                holds.append(hold)
            else:
                transcript.candidates.append(self._segment(hold, fps))
            frame = last + 1
        return holds

    def _wrist_path(self, sequence: PoseSequence, hand: str) -> np.ndarray:
        """The wrist's place in each frame in the clip's median palm lengths (NaN where it is missing)."""
        points, confidence = sequence.component(hand)
        return np.where(confidence[:, :1] > 0, points[:, 0, :2] / median_palm(sequence, hand), np.nan)

    def _split_doubles(self, holds: list[_Hold], wrist: np.ndarray, fps: float) -> list[_Hold]:
        """Each hold in which the wrist slides between its two halves, as two holds of its letter (the
        split where the halves lie furthest apart; J and Z move as they are signed and are not split)."""
        shortest = self._shortest_hold(fps)
        result = []
        for hold in holds:
            splits = range(hold.first + shortest, hold.last - shortest + 2)
            if hold.letter in ("J", "Z") or not splits:
                result.append(hold)
                continue
            apart = [self._distance(wrist, slice(hold.first, s), slice(s, hold.last + 1)) for s in splits]
            best = int(np.nanargmax(apart)) if np.isfinite(apart).any() else 0
            if np.isfinite(apart[best]) and apart[best] >= self.settings.double_move:
                split = splits[best]
                result += [_Hold(hold.first, split - 1, hold.letter, hold.confidence),
                           _Hold(split, hold.last, hold.letter, hold.confidence)]  # fmt: skip
            else:
                result.append(hold)
        return result

    def _shortest_hold(self, fps: float) -> int:
        """``min_hold`` in frames at ``fps``."""
        return max(1, round(self.settings.min_hold * fps))

    @staticmethod
    def _distance(wrist: np.ndarray, before: slice, after: slice) -> float:
        """How far (palm lengths) the wrist's mean place moves between two stretches of frames; NaN
        when it is missing from either."""
        first, second = wrist[before], wrist[after]
        if not np.isfinite(first).any() or not np.isfinite(second).any():
            return float("nan")
        return float(np.linalg.norm(np.nanmean(second, axis=0) - np.nanmean(first, axis=0)))

    def _words(self, holds: list[_Hold], wrist: np.ndarray, fps: float) -> list[list[_Hold]]:
        """The holds grouped into words at gaps of ``word_gap``; two holds of one letter in a word are
        one, unless the wrist slid between them (a double letter)."""
        words: list[list[_Hold]] = []
        gap = self.settings.word_gap * fps
        for hold in holds:
            if not words or hold.first - words[-1][-1].last > gap:
                words.append([hold])
                continue
            previous = words[-1][-1]
            moved = self._distance(wrist, slice(previous.first, previous.last + 1), slice(hold.first, hold.last + 1))
            if hold.letter == previous.letter and not moved >= self.settings.double_move:  # NaN: not moved
                span = previous.last - previous.first + hold.last - hold.first + 2
                mean = (previous.confidence * (previous.last - previous.first + 1)
                        + hold.confidence * (hold.last - hold.first + 1)) / span  # fmt: skip
                words[-1][-1] = _Hold(previous.first, hold.last, hold.letter, mean)
            else:
                words[-1].append(hold)
        return words

    @staticmethod
    def _segment(hold: _Hold, fps: float) -> Segment:
        return Segment(
            round(hold.first / fps, 3), round((hold.last + 1) / fps, 3), hold.letter, round(hold.confidence, 4)
        )
