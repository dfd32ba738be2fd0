"""The rules that turn letters read frame by frame into spelled words, on times rather than frame
numbers, so a video (``Fingerspeller``) and a live stream (``LiveSpelling``, frames at whatever
rate they come) spell alike. The web page's offline mode runs the same rules in JavaScript
(``serving/static/spelling.js``; a test holds the two equal).

1. **hold**: a letter counts when it is the best one, at ``min_confidence`` or more, for ``min_hold``
   seconds in a row (a frame lasts ``period``: its run spans from its first frame's time to its last
   one's plus a period); the frames between two letters (the hand changing shape) are passed over;
2. **repeat**: two holds of one letter are one letter, unless the wrist slides ``double_move`` palm
   lengths between them or within one hold: that is how a double letter (the two Ls of HELLO) is
   signed, a small slide or bounce of the held shape;
3. **words**: more than ``word_gap`` seconds without a letter, from the end of one hold (its last
   frame's time plus a period) to the start of the next (the hand lowered, out of view, or at rest),
   end a word. So a slow stream (a browser that reads a frame a second) still spells a word whose
   letters fall on consecutive frames.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MOVING_LETTERS = ("J", "Z")  # signed with motion: their wrist's slide is the letter, not a double
TIME_TOLERANCE = 1e-9


@dataclass(frozen=True)
class SpellingSettings:
    """How frames' letters become spelled words (see the module)."""

    min_confidence: float = 0.5
    min_hold: float = 0.2  # seconds
    word_gap: float = 0.6  # seconds
    double_move: float = 0.5  # palm lengths
    window: float = 0.4  # seconds of frames the model reads for each frame's letter
    labels: str | None = "letters"  # a set the model names, or None for all its labels
    batch: int = 64  # frames read by the model together

    def __post_init__(self) -> None:
        if not 0 <= self.min_confidence <= 1:
            raise ValueError(f"min_confidence must lie between 0 and 1, got {self.min_confidence}")
        if min(self.min_hold, self.word_gap, self.window) <= 0 or self.double_move <= 0:
            raise ValueError("min_hold, word_gap, window and double_move must be positive")


@dataclass(frozen=True)
class FrameLetters:
    """Each frame's time (seconds, increasing), best letter ("" where no hand is found), its
    probability, and the wrist's place in palm lengths (NaN where it is missing); ``period`` is how
    long one frame lasts."""

    times: np.ndarray
    letters: list[str]
    confidence: np.ndarray
    wrist: np.ndarray  # (frames, 2)
    period: float


@dataclass(frozen=True)
class Hold:
    """A letter held from frame ``first`` to frame ``last`` (inclusive), with its mean probability."""

    first: int
    last: int
    letter: str
    confidence: float


@dataclass(frozen=True)
class Spelling:
    """The words (each a list of holds) and the runs too short to be letters."""

    words: list[list[Hold]]
    short: list[Hold]

    @property
    def text(self) -> str:
        return " ".join(word_text(word) for word in self.words)


def word_text(word: list[Hold]) -> str:
    return "".join(hold.letter for hold in word)


def spell(frames: FrameLetters, settings: SpellingSettings) -> Spelling:
    """The words spelled in ``frames`` by the rules of the module."""
    holds, short = _holds(frames, settings)
    return Spelling(_words(_split_doubles(holds, frames, settings), frames, settings), short)


def _lasts(frames: FrameLetters, first: int, last: int, settings: SpellingSettings) -> bool:
    """Whether frames ``first`` to ``last`` span ``min_hold`` seconds."""
    return frames.times[last] - frames.times[first] + frames.period >= settings.min_hold - TIME_TOLERANCE


def _holds(frames: FrameLetters, settings: SpellingSettings) -> tuple[list[Hold], list[Hold]]:
    """The runs of one letter at ``min_confidence`` held ``min_hold`` or longer, and the shorter ones."""
    holds: list[Hold] = []
    short: list[Hold] = []
    strong = frames.confidence >= settings.min_confidence
    frame, letters = 0, frames.letters
    while frame < len(letters):
        if not strong[frame]:
            frame += 1
            continue
        last = frame
        while last + 1 < len(letters) and strong[last + 1] and letters[last + 1] == letters[frame]:
            last += 1
        hold = Hold(frame, last, letters[frame], float(frames.confidence[frame : last + 1].mean()))
        (holds if _lasts(frames, frame, last, settings) else short).append(hold)
        frame = last + 1
    return holds, short


def _end(frames: FrameLetters, hold: Hold) -> float:
    """When a hold ends: its last frame's time plus a frame."""
    return float(frames.times[hold.last] + frames.period)


class _WristPlaces:
    """The wrist's mean place over any stretch of frames in constant time (running sums of its places
    where it is found): a letter held long costs a frame in proportion to its length, not its square."""

    def __init__(self, wrist: np.ndarray) -> None:
        found = np.isfinite(wrist).all(axis=1)
        self.sums = np.concatenate([np.zeros((1, 2)), np.cumsum(np.where(found[:, None], wrist, 0.0), axis=0)])
        self.counts = np.concatenate([[0], np.cumsum(found)])

    def distance(self, first: tuple[int, int], second: tuple[int, int]) -> float:
        """How far (palm lengths) the wrist's mean place moves from frames ``first`` to frames
        ``second`` (each ``(start, stop)``); NaN when it is missing from either."""
        means = []
        for start, stop in (first, second):
            count = self.counts[stop] - self.counts[start]
            if not count:
                return float("nan")
            means.append((self.sums[stop] - self.sums[start]) / count)
        return float(np.linalg.norm(means[1] - means[0]))


def _split_doubles(holds: list[Hold], frames: FrameLetters, settings: SpellingSettings) -> list[Hold]:
    """Each hold in which the wrist slides between its two halves (each at least ``min_hold``), as two
    holds of its letter, split where the halves lie furthest apart (J and Z move as they are signed
    and are not split)."""
    places, result = _WristPlaces(frames.wrist), []
    for hold in holds:
        splits = [
            split
            for split in range(hold.first + 1, hold.last + 1)
            if _lasts(frames, hold.first, split - 1, settings) and _lasts(frames, split, hold.last, settings)
        ]
        if hold.letter in MOVING_LETTERS or not splits:
            result.append(hold)
            continue
        apart = [places.distance((hold.first, s), (s, hold.last + 1)) for s in splits]
        best = int(np.nanargmax(apart)) if np.isfinite(apart).any() else 0
        if np.isfinite(apart[best]) and apart[best] >= settings.double_move:
            split = splits[best]
            result += [Hold(hold.first, split - 1, hold.letter, hold.confidence),
                       Hold(split, hold.last, hold.letter, hold.confidence)]  # fmt: skip
        else:
            result.append(hold)
    return result


def _words(holds: list[Hold], frames: FrameLetters, settings: SpellingSettings) -> list[list[Hold]]:
    """The holds grouped into words at gaps over ``word_gap``; two holds of one letter in a word are
    one, unless the wrist slid between them (a double letter)."""
    places, words = _WristPlaces(frames.wrist), []
    for hold in holds:
        if not words or frames.times[hold.first] - _end(frames, words[-1][-1]) > settings.word_gap:
            words.append([hold])
            continue
        previous = words[-1][-1]
        moved = places.distance((previous.first, previous.last + 1), (hold.first, hold.last + 1))
        if hold.letter == previous.letter and not moved >= settings.double_move:  # NaN: not moved
            sizes = (previous.last - previous.first + 1, hold.last - hold.first + 1)
            mean = (previous.confidence * sizes[0] + hold.confidence * sizes[1]) / sum(sizes)
            words[-1][-1] = Hold(previous.first, hold.last, hold.letter, mean)
        else:
            words[-1].append(hold)
    return words


@dataclass(frozen=True)
class _Frame:
    t: float
    letter: str
    confidence: float
    wrist: tuple[float, float]  # pixels (NaN where missing)
    palm: float  # the palm's length in pixels (NaN where missing)


@dataclass
class LiveSpelling:
    """Words spelled in a live stream, a frame at a time (``add``): the letter of the newest frame,
    the word being spelled and the words already spelled (``state``).

    Only the frames the rules can still need are kept: those of the word being spelled, or with no
    word open, the run of the newest frame's letter. A word is done once more than ``word_gap``
    passes without a letter (or a new word begins); ``max_frames`` ends a word that never pauses."""

    settings: SpellingSettings = field(default_factory=SpellingSettings)
    history: int = 20  # spelled words kept
    max_frames: int = 1800  # a minute at 30 frames a second
    frames: list[_Frame] = field(default_factory=list)
    newest: _Frame | None = None
    current: list[dict[str, Any]] = field(default_factory=list)  # the letters of the word being spelled
    done: deque = field(init=False)  # the words spelled before it

    def __post_init__(self) -> None:
        self.done = deque(maxlen=self.history)

    def add(self, t: float, letter: str, confidence: float, wrist: tuple[float, float], palm: float) -> None:
        """The newest frame: its best letter ("" with no hand), its probability, the signing hand's
        wrist and palm length in pixels (NaN where the hand is missing)."""
        self.newest = _Frame(t, letter, confidence, wrist, palm)
        self.frames.append(self.newest)
        frames = self._letters()
        words = spell(frames, self.settings).words
        open_word = words.pop() if words else None
        if open_word and (t - _end(frames, open_word[-1]) > self.settings.word_gap
                          or len(self.frames) > self.max_frames):  # fmt: skip
            words.append(open_word)
            open_word = None
        self.done.extend(self._letters_of(word, frames) for word in words)
        self.current = self._letters_of(open_word, frames) if open_word else []
        self.frames = self.frames[open_word[0].first if open_word else self._run_start() :]

    def _run_start(self) -> int:
        """The first frame of the newest frame's run of one strong letter (past the end when it is weak)."""
        strong = [f.confidence >= self.settings.min_confidence for f in self.frames]
        if not strong[-1]:
            return len(self.frames)
        start = len(self.frames) - 1
        while start and strong[start - 1] and self.frames[start - 1].letter == self.frames[-1].letter:
            start -= 1
        return start

    def _letters(self) -> FrameLetters:
        times = np.array([f.t for f in self.frames])
        palms = np.array([f.palm for f in self.frames])
        scale = float(np.nanmedian(palms)) if np.isfinite(palms).any() else 1.0
        return FrameLetters(
            times=times,
            letters=[f.letter for f in self.frames],
            confidence=np.array([f.confidence for f in self.frames]),
            wrist=np.array([f.wrist for f in self.frames], np.float64).reshape(-1, 2) / scale,
            period=float(np.median(np.diff(times))) if len(times) > 1 else 0.0,
        )

    @staticmethod
    def _letters_of(word: list[Hold], frames: FrameLetters) -> list[dict[str, Any]]:
        return [{"letter": hold.letter, "start": float(frames.times[hold.first]),
                 "end": _end(frames, hold), "confidence": round(hold.confidence, 4)}
                for hold in word]  # fmt: skip

    def state(self) -> dict[str, Any]:
        """The newest frame's letter (when strong) and its probability, the letters of the word being
        spelled, the words spelled before it (oldest first), and all of them as one text."""
        newest = self.newest
        strong = newest is not None and newest.confidence >= self.settings.min_confidence
        word = "".join(letter["letter"] for letter in self.current)
        words = ["".join(letter["letter"] for letter in done) for done in self.done]
        return {
            "letter": newest.letter if strong else None,
            "confidence": round(newest.confidence, 4) if newest is not None else 0.0,
            "word": word,
            "letters": self.current,
            "words": words,
            "text": " ".join([*words, *([word] if word else [])]),
        }
