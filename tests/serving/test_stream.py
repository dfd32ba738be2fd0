"""The live WebSocket stream: predictions from real frames or a client's landmarks, the rate that holds
the last one back, dropped frames, bad and hostile messages, idle streams and image bombs."""

from __future__ import annotations

import io
import json
import struct
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from service_client import jpeg_frame, strict_json
from starlette.websockets import WebSocketDisconnect

from signscribe.data import read_mp_data
from signscribe.io import read_frames
from signscribe.pose import HolisticExtractor, PoseCache, PoseSequence, load_mp_sequence
from signscribe.serving.stream.messages import landmarks_message

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_stream_real_frames_gives_predictions_and_overlay(make_client, both_hands_clip: Path) -> None:
    client = make_client()
    frames = list(read_frames(both_hands_clip))
    with client.websocket_connect("/v1/stream") as ws:
        ready = ws.receive_json()
        assert ready["type"] == "ready" and ready["schema"] == 1 and ready["window_frames"] == 20
        ws.send_text(json.dumps({"type": "config", "top_k": 3}))
        ws.send_bytes(struct.pack("<d", frames[0].time) + jpeg_frame(frames[0].image))
        messages = [ws.receive_json()]  # the first frame's overlay: the server's MediaPipe graph is ready
        for frame in frames[1:]:
            ws.send_bytes(struct.pack("<d", frame.time) + jpeg_frame(frame.image))
            time.sleep(1 / 15)
        # the last frame is always processed, and its prediction sent even when the rate held it back
        while not any(m["type"] == "prediction" and m["t"] == frames[-1].time for m in messages):
            messages.append(ws.receive_json())
    overlays = [m for m in messages if m["type"] == "landmarks"]
    assert overlays and len(overlays[-1]["pose"]) == 33 and all(0 <= v <= 1.5 for v in overlays[-1]["pose"][0])
    predictions = [m for m in messages if m["type"] == "prediction"]
    last = predictions[-1]
    assert len(last["top_k"]) == 3 and last["window"]["frames"] <= 20
    assert last["window"]["start"] < last["window"]["end"] == last["t"]
    counts = last["frames"]
    assert counts["processed"] + counts["dropped"] <= counts["received"] <= len(frames)


def test_stream_follows_a_signer_small_in_a_720p_frame(make_client, wlasl100_csv: Path, tmp_path: Path) -> None:
    """A webcam's 720p frames with the signer sitting back: the server finds them after a few frames
    (``SignerFraming``) and the overlay shows their body where they are in the whole frame."""
    from signscribe.evaluation.camera import VIEWS

    webcam = VIEWS["webcam_720p"].render(wlasl100_csv.parent / "videos" / "06362.mp4", tmp_path / "06362_720p.mp4")
    frames = list(read_frames(webcam))
    client = make_client()
    with client.websocket_connect("/v1/stream") as ws:
        assert ws.receive_json()["type"] == "ready"
        for frame in frames:
            ws.send_bytes(struct.pack("<d", frame.time) + jpeg_frame(frame.image))
            time.sleep(1 / 15)
        overlays = []
        while not overlays or overlays[-1]["t"] < frames[-1].time:
            message = ws.receive_json()
            if message["type"] == "landmarks":
                overlays.append(message)
    assert overlays[0]["pose"] is None  # the whole frame, before the search
    found = [m for m in overlays if m["pose"] is not None]
    assert len(found) > len(overlays) / 2
    shoulders = np.array([m["pose"][11] for m in found] + [m["pose"][12] for m in found])
    assert (shoulders[:, 0] > 0.15).all() and (shoulders[:, 0] < 0.45).all() and (shoulders[:, 1] > 0.5).all()


def _send_landmarks(ws, sequence: PoseSequence, frames: Iterable[int], fps: float, start: float = 0.0) -> float:
    """Send frames of ``sequence`` (in pixels) as a client running MediaPipe would, its normalised
    landmarks, one message a frame at ``fps`` from time ``start``; returns the last one's time."""
    t = start
    for count, index in enumerate(frames):
        t = start + count / fps
        ws.send_text(json.dumps({**landmarks_message(sequence, index), "t": t}))
        time.sleep(0.02)
    return t


def _prediction_at(ws, t: float) -> dict:
    message = ws.receive_json()
    while not (message["type"] == "prediction" and message["t"] == t):
        message = ws.receive_json()
    return message


def test_stream_landmarks_from_a_client_running_mediapipe(make_client, keypoints_archive: Path) -> None:
    """A client sends MediaPipe's normalised landmarks (here: a real traduttore 'hello')."""
    sample = next(s for s in read_mp_data(keypoints_archive).samples if s.id == "hello/75")
    sequence = load_mp_sequence(sample.path)
    client = make_client()
    with client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        message = _prediction_at(ws, _send_landmarks(ws, sequence, range(sequence.num_frames), 30))
    assert message["signing"] is True and message["top_k"][0]["gloss"] == "hello"
    assert message["window"]["frames"] == min(20, message["frames"]["processed"])


def test_the_last_frame_gets_the_prediction_the_rate_held_back(make_client, keypoints_archive: Path) -> None:
    """At one prediction a second, 20 frames at 30 fps give the first window's prediction and, once
    the client stops sending, the one the rate held back for its last frame."""
    sample = next(s for s in read_mp_data(keypoints_archive).samples if s.id == "hello/75")
    sequence = load_mp_sequence(sample.path)
    client = make_client()
    with client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        ws.send_text(json.dumps({"type": "config", "rate": 1}))
        last = _send_landmarks(ws, sequence, range(20), 30)
        predictions = []
        while not predictions or predictions[-1]["t"] < last:
            message = ws.receive_json()
            if message["type"] == "prediction":
                predictions.append(message)
    assert len(predictions) == 2 and predictions[1]["t"] == predictions[1]["window"]["end"] == last
    assert predictions[1]["top_k"][0]["gloss"] == "hello"


def test_stream_says_no_sign_while_the_signer_rests_with_hands_in_view(make_client, wlasl_dir: Path) -> None:
    """A real WLASL clip whose signer ends at rest, hands at the waist: the sign, then the rest held."""
    sequence = HolisticExtractor(cache=PoseCache()).extract(wlasl_dir / "clips" / "10520.mp4")
    rest = list(range(sequence.num_frames - 12, sequence.num_frames))
    client = make_client()
    with client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        signed_until = _send_landmarks(ws, sequence, range(8, 28), sequence.fps)
        signing = _prediction_at(ws, signed_until)
        rested_until = _send_landmarks(ws, sequence, rest + rest[::-1], sequence.fps, signed_until + 1 / sequence.fps)
        resting = _prediction_at(ws, rested_until)
    assert signing["signing"] is True and len(signing["top_k"]) == 5
    assert resting["signing"] is False and resting["top_k"] == [] and resting["window"]["frames"] == 20


def test_stream_reports_bad_messages_and_goes_on(make_client) -> None:
    client = make_client()
    with client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        ws.send_text("{not json")
        assert ws.receive_json()["code"] == "bad_json"
        ws.send_text(json.dumps({"type": "dance", "t": 1}))
        assert ws.receive_json()["code"] == "bad_message"
        ws.send_text(json.dumps({"type": "frame", "jpeg": "aGVsbG8="}))
        assert "t: Field required" in ws.receive_json()["message"]
        ws.send_bytes(struct.pack("<d", 0.5) + b"definitely not a jpeg")
        assert ws.receive_json()["code"] == "bad_frame"
        ws.send_text(json.dumps({"type": "landmarks", "t": 1, "pose": [[0, 0, 0]] * 5}))
        assert ws.receive_json()["code"] == "bad_landmarks"
        ws.send_bytes(b"x" * (3 * 1024 * 1024))
        assert ws.receive_json()["code"] == "too_large"
        ws.send_text(json.dumps({"type": "landmarks", "t": 2, "pose": None, "left_hand": None, "right_hand": None}))
        assert ws.receive_json()["type"] == "landmarks"


def test_stream_drops_frames_when_behind(make_client, both_hands_clip: Path) -> None:
    client = make_client()
    frames = [jpeg_frame(frame.image) for frame in read_frames(both_hands_clip)]
    with client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        sent = 0
        for _ in range(12):  # bursts of 8 frames at once, far faster than MediaPipe runs
            for _ in range(8):
                ws.send_bytes(struct.pack("<d", sent / 15) + frames[sent % len(frames)])
                sent += 1
            time.sleep(0.25)
        time.sleep(0.5)
        ws.send_text(json.dumps({"type": "landmarks", "t": 99.0, "pose": None, "left_hand": None, "right_hand": None}))
        last = None
        while True:
            message = ws.receive_json()
            if message["type"] == "prediction":
                last = message
            if message.get("t") == 99.0 and message["type"] == "landmarks":
                break
    assert last is not None and last["frames"]["dropped"] > 0
    assert last["frames"]["processed"] + last["frames"]["dropped"] <= last["frames"]["received"] == sent


def test_live_streams_are_capped(make_client) -> None:
    from starlette.websockets import WebSocketDisconnect

    client = make_client(stream_max_connections=1)
    with client.websocket_connect("/v1/stream") as first:
        assert first.receive_json()["type"] == "ready"
        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/v1/stream") as second:
            second.receive_json()
        assert refused.value.code == 1013
    with client.websocket_connect("/v1/stream") as again:  # the slot is free once the first closes
        assert again.receive_json()["type"] == "ready"


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def test_huge_frames_are_refused_undecoded_and_the_server_stays_responsive(make_client) -> None:
    client = make_client()
    bomb, giant = _png(12000, 12000), _png(20000, 20000)
    assert len(bomb) < 200_000  # tiny on the wire, 144 megapixels decoded
    with client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        for index in range(40):
            ws.send_bytes(struct.pack("<d", index / 15) + bomb)
        ws.send_bytes(struct.pack("<d", 3.0) + giant)  # once an uncaught DecompressionBombError
        started = time.perf_counter()
        assert client.get("/healthz").status_code == 200
        assert time.perf_counter() - started < 1.0
        codes = [ws.receive_json()["code"] for _ in range(41)]
        assert set(codes) == {"frame_too_large"}
        ws.send_text(json.dumps({"type": "landmarks", "t": 5, "pose": None, "left_hand": None, "right_hand": None}))
        assert ws.receive_json()["type"] == "landmarks"  # the stream goes on


def test_frame_pixel_limit_is_configurable(make_client) -> None:
    client = make_client(stream_max_frame_pixels=100 * 100)
    with client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        ws.send_bytes(struct.pack("<d", 0.0) + _png(101, 100))
        error = ws.receive_json()
        assert error["code"] == "frame_too_large" and "101x100" in error["message"]


def test_malformed_stream_messages_get_errors_and_the_stream_goes_on(make_client) -> None:
    client = make_client()
    pose = [[0.5, 0.5, 0.0, 1.0]] * 33
    bad = [
        ({"type": "config", "top_k": "abc"}, "bad_message"),
        ({"type": "config", "rate": "fast"}, "bad_message"),
        ({"type": "config", "rate": 0}, "bad_message"),
        ({"type": "landmarks", "t": 1, "pose": [["a", "b", "c", "d"]] * 33}, "bad_landmarks"),
        ({"type": "landmarks", "t": 1, "pose": [[0.5, 0.5, 0.0, 1.0]] * 32 + [[0.5]]}, "bad_landmarks"),
        ({"type": "landmarks", "t": 1, "pose": [[0.5, 0.5, 0.0, 1.0]] * 32 + [[0.5, 0.5, 0.0]]}, "bad_landmarks"),
        ({"type": "landmarks", "t": 1, "pose": [[0.5, 0.5]] * 33}, "bad_landmarks"),
        ({"type": "landmarks", "t": 1, "pose": pose, "width": 1e400}, "bad_landmarks"),
        ({"type": "landmarks", "t": 1, "pose": [[float("nan"), 0.5, 0.0, 1.0]] * 33}, "bad_landmarks"),
        ({"type": "landmarks", "t": 1, "pose": [[float("inf"), 0.5, 0.0, 1.0]] * 33}, "bad_landmarks"),
        ({"type": "landmarks", "t": 1, "pose": [[1e300, 0.5, 0.0, 1.0]] * 33}, "bad_landmarks"),
        ({"type": "landmarks", "t": float("nan"), "pose": pose}, "bad_landmarks"),
        ({"type": "frame", "t": 1, "jpeg": 7}, "bad_frame"),
    ]
    with client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        for message, code in bad:
            ws.send_text(json.dumps(message))  # Python writes NaN, Infinity and 1e400 as such
            error = strict_json(ws.receive_text())
            assert (error["type"], error["code"]) == ("error", code), message
        ws.send_text("[" * 100_000 + "]" * 100_000)
        assert ws.receive_json()["type"] == "error"
        ws.send_bytes(struct.pack("<d", float("nan")) + b"\xff\xd8 jpeg")
        assert ws.receive_json()["code"] == "bad_frame"
        ws.send_text(json.dumps({"type": "config", "top_k": 3, "rate": 30}))
        for index in range(10):
            ws.send_text(json.dumps({"type": "landmarks", "t": index / 15, "pose": pose}))
            time.sleep(0.02)
        messages = []
        while not any(m["type"] == "prediction" for m in messages):
            messages.append(strict_json(ws.receive_text()))
    prediction = next(m for m in messages if m["type"] == "prediction")
    assert prediction["frames"]["processed"] >= 8


def test_idle_streams_time_out_and_free_their_slot(make_client) -> None:
    client = make_client(stream_idle_seconds=0.5, stream_max_connections=1)
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/v1/stream") as ws:
        assert ws.receive_json()["type"] == "ready"
        ws.receive_json()  # nothing comes but the close
    assert closed.value.code == 4408
    with client.websocket_connect("/v1/stream") as again:
        assert again.receive_json()["type"] == "ready"


def test_streams_reuse_the_pooled_graph(make_client, both_hands_clip: Path) -> None:
    client = make_client()
    frames = []
    for frame in read_frames(both_hands_clip, end_frame=6):
        buffer = io.BytesIO()
        Image.fromarray(frame.image).save(buffer, format="JPEG")
        frames.append(buffer.getvalue())
    graphs = []
    for _ in range(3):
        with client.websocket_connect("/v1/stream") as ws:
            ws.receive_json()
            ws.send_bytes(struct.pack("<d", 0.0) + frames[0])
            assert ws.receive_json()["type"] == "landmarks"
        deadline = time.monotonic() + 10
        while not client.app.state.streams.kept and time.monotonic() < deadline:
            time.sleep(0.01)
        graphs.append(client.app.state.streams._idle[0])
    assert graphs[0] is graphs[1] is graphs[2] and client.app.state.streams.kept == 1


def test_a_stream_never_sends_invalid_json(make_client) -> None:
    """Every message of a stream fed only valid input parses as strict JSON (no NaN anywhere)."""
    client = make_client()
    rng = np.random.default_rng(0)
    with client.websocket_connect("/v1/stream") as ws:
        strict_json(ws.receive_text())
        for index in range(12):
            pose = np.concatenate([rng.uniform(0, 1, (33, 3)), np.ones((33, 1))], axis=1).tolist()
            ws.send_text(json.dumps({"type": "landmarks", "t": index / 15, "pose": pose}))
            time.sleep(0.02)
        kinds = set()
        while "prediction" not in kinds:
            kinds.add(strict_json(ws.receive_text())["type"])


def test_landmarks_out_of_range_are_refused_and_a_failing_stream_closes_loudly(make_client, monkeypatch) -> None:
    client = make_client()
    pose = [[0.5, 0.5, 0.0, 1.0]] * 33
    with client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        for value in (1e36, 11.0, -11.0):
            ws.send_text(json.dumps({"type": "landmarks", "t": 0, "pose": [[value, 0.5, 0.0, 1.0]] * 33}))
            assert ws.receive_json()["code"] == "bad_landmarks"
        ws.send_text(json.dumps({"type": "landmarks", "t": 0, "pose": [[1.2, -0.1, 0.0, 1.0]] * 33}))
        assert ws.receive_json()["type"] == "landmarks"  # a point a little out of view is a landmark
    from signscribe.serving.stream import session

    monkeypatch.setattr(session, "overlay_message", lambda *args: {"type": "landmarks", "t": float("nan")})
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        ws.send_text(json.dumps({"type": "landmarks", "t": 0, "pose": pose}))
        ws.receive_json()
    assert closed.value.code == 1011
    assert client.app.state.streams.open == 0  # its slot is free


def test_a_stream_whose_clock_goes_back_predicts_again(make_client) -> None:
    client = make_client(stream_min_frames=4)
    pose = [[0.5, 0.5, 0.0, 1.0]] * 33
    with client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        for start in (100.0, 0.0):  # the client's clock starts again
            times = []
            for index in range(12):  # one frame at a time: none is dropped
                ws.send_text(json.dumps({"type": "landmarks", "t": start + index / 10, "pose": pose}))
                while (message := ws.receive_json())["type"] != "landmarks":
                    times.append(message["t"])
            predicted = [t for t in times if start <= t < start + 2]
            assert predicted, f"no prediction after t={start}"
            # the window restarted with the clock: its frames are the new ones
            assert predicted[-1] - predicted[0] < 2
