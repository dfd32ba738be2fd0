"""Landmark windows of several streams in one model call (``WindowBatcher``): the same probabilities
as one window a call, each answer back to its own stream, and a bad window failing alone."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from signscribe.data import read_mp_data
from signscribe.errors import InputFileError
from signscribe.pose import PoseSequence, load_mp_sequence
from signscribe.serving.stream.batching import WindowBatcher
from signscribe.serving.stream.messages import landmarks_message

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SIGNS = ("hello", "coffee", "water", "thank-you")


def _real_sequences(archive: Path) -> dict[str, PoseSequence]:
    """A real traduttore recording of each of ``SIGNS`` (20 frames at 30 fps)."""
    samples = {sample.id: sample for sample in read_mp_data(archive).samples}
    return {sign: load_mp_sequence(samples[f"{sign}/75"].path) for sign in SIGNS}


def _windows(archive: Path) -> list[PoseSequence]:
    """Windows of 8 to 20 frames of real recordings, as a stream's window grows."""
    return [
        replace(sequence, data=sequence.data[:frames], confidence=sequence.confidence[:frames])
        for sequence in _real_sequences(archive).values()
        for frames in (8, 13, 20)
    ]


def test_batched_windows_get_the_probabilities_each_gets_alone(serving_recognizer, keypoints_archive: Path) -> None:
    windows = _windows(keypoints_archive)
    batcher = WindowBatcher(serving_recognizer, max_batch=32)
    try:
        futures = [batcher.submit(window) for window in windows]
        rows = np.stack([future.result(timeout=120) for future in futures])
    finally:
        batcher.close()
    alone = np.stack([serving_recognizer.scores([window])[0] for window in windows])
    np.testing.assert_allclose(rows, alone, atol=1e-5)
    assert batcher.windows == len(windows) and batcher.calls < len(windows)  # queued windows shared calls


def test_a_batch_is_never_larger_than_max_batch(serving_recognizer, keypoints_archive: Path) -> None:
    windows = _windows(keypoints_archive)
    batcher = WindowBatcher(serving_recognizer, max_batch=1)
    try:
        for future in [batcher.submit(window) for window in windows]:
            future.result(timeout=120)
    finally:
        batcher.close()
    assert batcher.calls == batcher.windows == len(windows)


def test_a_window_the_model_cannot_take_fails_alone(serving_recognizer, keypoints_archive: Path) -> None:
    good = _windows(keypoints_archive)[:4]
    no_frames = replace(good[0], data=good[0].data[:0], confidence=good[0].confidence[:0])
    batcher = WindowBatcher(serving_recognizer, max_batch=32)
    try:
        futures = [batcher.submit(window) for window in [*good[:2], no_frames, *good[2:]]]
        with pytest.raises(InputFileError, match="no frames"):
            futures[2].result(timeout=120)
        rows = [future.result(timeout=120) for index, future in enumerate(futures) if index != 2]
        later = batcher.submit(good[0]).result(timeout=120)  # the thread lives on
    finally:
        batcher.close()
    np.testing.assert_allclose(rows, [serving_recognizer.scores([window])[0] for window in good], atol=1e-5)
    np.testing.assert_allclose(later, rows[0], atol=1e-5)


def test_concurrent_landmark_streams_each_get_their_own_answer(
    make_client, serving_recognizer, keypoints_archive: Path
) -> None:
    """Four clients stream four different real signs at once: each prediction is that of its own
    window, as the recognizer gives it alone, never another stream's."""
    sequences = _real_sequences(keypoints_archive)
    client = make_client()
    answers: dict[str, dict] = {}
    failures: list[BaseException] = []

    def stream(sign: str) -> None:
        sequence = sequences[sign]
        try:
            with client.websocket_connect("/v1/stream") as ws:
                ws.receive_json()
                for index in range(sequence.num_frames):  # each frame once the last is processed: none dropped
                    t = index / 30
                    ws.send_text(json.dumps({**landmarks_message(sequence, index), "t": t}))
                    message = ws.receive_json()
                    while not (message["type"] == "landmarks" and message["t"] == t):
                        message = ws.receive_json()
                while not (message["type"] == "prediction" and message["t"] == t):
                    message = ws.receive_json()
                answers[sign] = message
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=stream, args=(sign,)) for sign in SIGNS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures and set(answers) == set(SIGNS)
    for sign, message in answers.items():
        expected = serving_recognizer.predict(sequences[sign], top_k=5)
        assert message["window"]["frames"] == sequences[sign].num_frames
        assert [entry["gloss"] for entry in message["top_k"]] == [p.gloss for p in expected]
        got = [entry["confidence"] for entry in message["top_k"]]
        np.testing.assert_allclose(got, [p.confidence for p in expected], atol=1e-3)
