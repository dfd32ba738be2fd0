"""Fingerspelling in a video to letters with times, and the words they spell.

Every frame in which a hand is found gets the letter of a hand-shape model (the ``hand`` input kind:
the bundled ``fingerspelling``) over the frames just before it (``window`` seconds, long enough for
J and Z to move), among ``labels`` (letters by default: a spelled word is not a number). The rules of
``signscribe.inference.spelling`` (hold, repeat, words) turn those letters into words.

The result is a ``Transcript`` whose segments are the letters (gloss: the letter, confidence: its
mean probability over the hold) and whose ``text`` is the spelled words, so the subtitle formats,
the service and the page read it as they read a sign transcript.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from signscribe.errors import InputFileError
from signscribe.inference.recognizer import Recognizer
from signscribe.inference.spelling import FrameLetters, Hold, SpellingSettings, spell
from signscribe.inference.transcribe import Segment, Transcript
from signscribe.models.inputs.hand import median_palm, signing_hand
from signscribe.pose.sequence import PoseSequence
from signscribe.pose.source import ClipSource, load_landmarks
from signscribe.progress import ProgressCallback

FINGERSPELLING_MODEL = "fingerspelling"


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
        times = np.arange(sequence.num_frames) / sequence.fps
        wrist = self._wrist_path(sequence, hand)
        spelling = spell(FrameLetters(times, letters, confidence, wrist, 1 / sequence.fps), self.settings)
        transcript.segments = [self._segment(hold, sequence.fps) for word in spelling.words for hold in word]
        transcript.candidates = [self._segment(hold, sequence.fps) for hold in spelling.short]
        transcript.text = spelling.text
        transcript.candidates.sort(key=lambda candidate: candidate.start - candidate.end)  # the longest first
        return transcript

    def read(self, windows: list[PoseSequence]) -> np.ndarray:
        """Each window's probabilities over the model's labels (0 for those outside ``labels``); every
        window has a hand."""
        prepared = [self.recognizer.loaded.features.prepare(window) for window in windows]
        return self.recognizer.probabilities(self.recognizer.logits(prepared), prepared, self.allowed)

    def _frame_letters(self, sequence: PoseSequence, found: np.ndarray, window: int) -> tuple[list[str], np.ndarray]:
        """Each frame's best letter and its probability over the ``window`` frames up to it (none and
        0 where the hand is not found)."""
        letters, confidence = [""] * sequence.num_frames, np.zeros(sequence.num_frames)
        frames = np.flatnonzero(found)
        for start in range(0, len(frames), self.settings.batch):
            chosen = frames[start : start + self.settings.batch]
            windows = [sequence.select_frames(np.arange(max(0, t - window + 1), t + 1)) for t in chosen]
            for frame, row in zip(chosen, self.read(windows), strict=True):
                best = int(np.argmax(row))
                letters[frame], confidence[frame] = self.recognizer.labels[best], float(row[best])
        return letters, confidence

    def _wrist_path(self, sequence: PoseSequence, hand: str) -> np.ndarray:
        """The wrist's place in each frame in the clip's median palm lengths (NaN where it is missing)."""
        points, confidence = sequence.component(hand)
        return np.where(confidence[:, :1] > 0, points[:, 0, :2] / median_palm(sequence, hand), np.nan)

    @staticmethod
    def _segment(hold: Hold, fps: float) -> Segment:
        return Segment(
            round(hold.first / fps, 3), round((hold.last + 1) / fps, 3), hold.letter, round(hold.confidence, 4)
        )
