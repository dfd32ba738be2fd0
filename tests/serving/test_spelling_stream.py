"""Live fingerspelling on the WebSocket stream: real letter sequences sent as a client's landmarks, and
real letter photos framed as webcam frames, read by the bundled ``fingerspelling`` model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from service_client import jpeg_frame

from signscribe.inference.spelling import LiveSpelling, SpellingSettings
from signscribe.serving.stream.messages import landmarks_message
from spelled_words import cab_book

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _processed(ws, t: float) -> list[dict]:
    """The messages up to the overlay of the frame at ``t`` (every frame is processed: none dropped)."""
    messages = [ws.receive_json()]
    while not (messages[-1]["type"] == "landmarks" and messages[-1]["t"] == t):
        messages.append(ws.receive_json())
    return messages


def test_a_client_spelling_cab_book_sees_the_letters_the_word_and_the_history(make_client, letter_sequences) -> None:
    from signscribe.inference.fingerspell import Fingerspeller

    spelled = cab_book(letter_sequences)
    client = make_client()
    messages = []
    with client.websocket_connect("/v1/stream?model=fingerspelling") as ws:
        ready = ws.receive_json()
        assert ready["input"] == "hand" and "A" in ready["labels"] and ready["window_seconds"] == 0.4
        for index in range(spelled.num_frames):
            message = landmarks_message(spelled, index)
            ws.send_text(json.dumps(message))
            messages += _processed(ws, message["t"])
        last = spelled.num_frames - 1
        while not any(m["type"] == "prediction" and m["t"] == last / spelled.fps for m in messages):
            messages.append(ws.receive_json())
    predictions = [m for m in messages if m["type"] == "prediction"]
    final = predictions[-1]["spelling"]
    assert final["words"] == ["CAB"] and final["word"] == "BOOK" and final["text"] == "CAB BOOK"
    assert [letter["letter"] for letter in final["letters"]] == list("BOOK")
    # what the page shows along the way: CAB being spelled, then done while BOOK is spelled
    shown = [(p["spelling"]["word"], tuple(p["spelling"]["words"])) for p in predictions]
    assert ("CA", ()) in shown and ("CAB", ()) in shown and ("BO", ("CAB",)) in shown
    assert all(p["spelling"]["letter"] in (None, p["top_k"][0]["gloss"]) for p in predictions if p["top_k"])
    assert all(p["top_k"][0]["gloss"].isalpha() for p in predictions if p["top_k"])  # letters, not digits
    # the stream spells as transcribe --fingerspell does, letter for letter and within a frame in time
    transcript = Fingerspeller.from_pretrained().transcribe(spelled)
    times = [(s.gloss, s.start) for s in transcript.segments]
    live = [(letter["letter"], letter["start"]) for p in predictions[-1:] for letter in p["spelling"]["letters"]]
    assert [gloss for gloss, _ in times[3:]] == [gloss for gloss, _ in live]
    np.testing.assert_allclose([start for _, start in times[3:]], [start for _, start in live], atol=2 / spelled.fps)


def test_live_spelling_keeps_only_the_frames_it_still_needs() -> None:
    """A long stream of letters and rests: the words are spelled and the frames kept stay few."""
    spelling = LiveSpelling(SpellingSettings(), history=3)
    t, kept = 0.0, []
    for word in ["HI", "NO", "YES", "OK"]:
        for letter in word:
            for _ in range(6):  # 0.4 s a letter at 15 frames a second
                spelling.add(t, letter, 0.9, (100.0, 100.0), 50.0)
                kept.append(len(spelling.frames))
                t += 1 / 15
        for _ in range(15):  # a second with the hand down
            spelling.add(t, "", 0.0, (np.nan, np.nan), np.nan)
            t += 1 / 15
    state = spelling.state()
    assert state["words"] == ["NO", "YES", "OK"] and state["word"] == "" and state["letter"] is None
    assert max(kept) <= 3 * 6 + 10  # at most one word's frames and the rest after it
    assert spelling.frames == []


def test_a_webcam_showing_letters_is_spelled_from_its_frames(make_client, letter_photos: Path) -> None:
    """Real letter photos placed in 640x480 webcam frames, each held half a second with the hand
    lowered between them: the server finds the hand (MediaPipe Hands following it) and spells."""
    from signscribe.io.photos import read_image

    frames, t = [], 0.0
    for name in ("C17.jpg", "B14.jpg"):
        photo = read_image(letter_photos / "test" / "images" / name)
        frame = np.full((480, 640, 3), photo[0, 0], np.uint8)
        height, width = (round(side * 360 / max(photo.shape[:2])) for side in photo.shape[:2])
        small = np.asarray(Image.fromarray(photo).resize((width, height)))
        top, left = (480 - small.shape[0]) // 2, (640 - small.shape[1]) // 2
        frame[top : top + small.shape[0], left : left + small.shape[1]] = small
        for _ in range(8):
            frames.append((t, frame))
            t += 1 / 15
    client = make_client()
    with client.websocket_connect("/v1/stream?model=fingerspelling") as ws:
        assert ws.receive_json()["input"] == "hand"
        messages = []
        for t, frame in frames:
            ws.send_bytes(jpeg_frame(frame, t))
            messages += _processed(ws, t)
        while not any(m["type"] == "prediction" and m["t"] == frames[-1][0] for m in messages):
            messages.append(ws.receive_json())
    overlays = [m for m in messages if m["type"] == "landmarks"]
    assert sum(bool(m["left_hand"] or m["right_hand"]) for m in overlays) >= len(overlays) - 2
    predictions = [m for m in messages if m["type"] == "prediction"]
    assert predictions[-1]["spelling"]["text"] == "CB", [p["spelling"] for p in predictions[-3:]]


def test_a_client_chooses_the_label_set_it_spells_among(make_client, letter_sequences) -> None:
    """``labels`` in a config message: digits only, every label, an unknown set refused (the stream
    goes on), and a model of signs refuses it."""
    spelled = cab_book(letter_sequences)
    client = make_client()
    with client.websocket_connect("/v1/stream?model=fingerspelling") as ws:
        ws.receive_json()
        ws.send_text(json.dumps({"type": "config", "labels": "vowels"}))
        error = ws.receive_json()
        assert error["code"] == "bad_message" and "letters, digits, all" in error["message"]
        tops = {}
        for labels, index in (("digits", 10), ("all", 11), ("letters", 12)):
            ws.send_text(json.dumps({"type": "config", "labels": labels, "top_k": 36}))
            message = landmarks_message(spelled, index)
            ws.send_text(json.dumps(message))
            predictions = _processed_prediction(ws, message["t"])
            tops[labels] = [p["gloss"] for p in predictions[-1]["top_k"]]
        assert len(tops["digits"]) == 10 and all(gloss.isdigit() for gloss in tops["digits"])
        assert len(tops["letters"]) == 26 and len(tops["all"]) == 36
    with client.websocket_connect("/v1/stream") as ws:  # traduttore16: signs, no label sets
        ws.receive_json()
        ws.send_text(json.dumps({"type": "config", "labels": "digits"}))
        assert ws.receive_json()["code"] == "bad_message"


def _processed_prediction(ws, t: float) -> list[dict]:
    """The predictions up to the one of the frame at ``t``."""
    messages = [ws.receive_json()]
    while not (messages[-1]["type"] == "prediction" and messages[-1]["t"] == t):
        messages.append(ws.receive_json())
    return [m for m in messages if m["type"] == "prediction"]
