"""Fingerspelled words made of real letters: TheCamNelson's webcam landmark sequences (traduttore)
one after the other, for the speller, the live stream and the page."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from signscribe.pose import PoseSequence


def spelled_word(letter_sequences: Path, word: str, slide_doubles: bool) -> PoseSequence:
    """TheCamNelson's real webcam sequences of the letters of ``word`` one after the other (read as
    the 16:9 frames they were recorded in), each moved to where the first is, as a signer spells in
    one place; a repeated letter slid a palm's length aside when ``slide_doubles``."""
    from signscribe.data.mp_data import find_root, unpack_archive
    from signscribe.models.inputs.hand import palm_lengths
    from signscribe.pose import load_mp_sequence

    folder = unpack_archive(letter_sequences)
    with (folder / "signers.csv").open(newline="") as file:
        mine = [(row["letter"], row["seq"]) for row in csv.DictReader(file) if row["author"] == "TheCamNelson"]
    root, parts, anchor, used = find_root(folder), [], None, set()
    for position, letter in enumerate(word.lower()):
        seq = next(number for name, number in mine if name == letter and (name, number) not in used)
        used.add((letter, seq))
        part = load_mp_sequence(root / letter / seq, frame_size=(853, 480))
        hand = part.layout.slice("right_hand")
        wrist = part.data[part.confidence[:, hand.start] > 0, hand.start, :2].mean(axis=0)
        anchor = wrist if anchor is None else anchor
        shift = anchor - wrist
        if slide_doubles and position and word[position - 1] == word[position]:
            shift = shift + np.array([np.nanmedian(palm_lengths(part, "right_hand")), 0.0])  # a palm aside
        data = part.data.copy()
        data[..., :2] += np.where(part.confidence[..., None] > 0, shift, 0).astype(np.float32)
        parts.append(part.replace(data=data))
    return PoseSequence(np.concatenate([p.data for p in parts]), np.concatenate([p.confidence for p in parts]),
                        30.0, 853, 480)  # fmt: skip


def rest(frames: int) -> PoseSequence:
    from signscribe.pose.layout import Layout

    points = Layout().num_points
    return PoseSequence(
        np.zeros((frames, points, 3), np.float32), np.zeros((frames, points), np.float32), 30.0, 853, 480
    )


def joined(*parts: PoseSequence) -> PoseSequence:
    return PoseSequence(np.concatenate([p.data for p in parts]), np.concatenate([p.confidence for p in parts]),
                        30.0, 853, 480)  # fmt: skip


def cab_book(letter_sequences: Path) -> PoseSequence:
    """CAB, a second of rest, BOOK (its two Os a palm's length apart), at 30 frames a second."""
    return joined(spelled_word(letter_sequences, "CAB", True), rest(30), spelled_word(letter_sequences, "BOOK", True))
