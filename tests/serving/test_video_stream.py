"""The live stream with RGB video models, on the frames of a real WLASL clip: a streaming MoViNet
carries its own state per connection (frame by frame equal to the causal model on the same frames,
bounded windows, connections that never mix), and a whole-clip model predicts on a window of the
model's clip length."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

from signscribe.io import read_frames
from signscribe.models import create_model
from signscribe.models.inputs import FramesConfig
from signscribe.models.pretrained import LABELS, labels_json, load_pretrained, model_config_json, save_model_folder
from signscribe.serving import ServerSettings, create_app

GLOSSES = ["agreement", "book", "drink", "go", "help"]
CLIP = {"fps": 30.0, "frames": 8, "seconds": 1.0}  # the training clips: 8 images over 1 s, one every 0.125 s
STEP = CLIP["seconds"] / CLIP["frames"]


def _model_folder(folder: Path, family: str, features: FramesConfig) -> Path:
    torch.manual_seed(0)
    model = create_model(family, len(GLOSSES))
    config = model_config_json(family, {}, features, len(GLOSSES), CLIP)
    return save_model_folder(model, folder, config, {LABELS: labels_json(GLOSSES)}, "# card\n")


@pytest.fixture(scope="module")
def images(both_hands_clip: Path) -> list[np.ndarray]:
    return [frame.image for frame in read_frames(both_hands_clip)]


@pytest.fixture(scope="module")
def streaming_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    features = FramesConfig(frames=8, size=96, resize=110, value_range="unit")
    return _model_folder(tmp_path_factory.mktemp("movinet") / "model", "movinet_a0_stream", features)


def _png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")  # lossless: the server sees these very pixels
    return buffer.getvalue()


def _client(folder: Path, tmp_path: Path) -> TestClient:
    settings = ServerSettings(data_dir=tmp_path / "data", model=str(folder), stream_min_frames=1)
    return TestClient(create_app(settings))


def _send(ws, t: float, image: np.ndarray) -> dict:
    """One frame, and the prediction it brings (every frame brings one at these settings)."""
    ws.send_bytes(struct.pack("<d", t) + _png(image))
    return ws.receive_json()


def test_a_streaming_movinet_keeps_its_own_state_per_connection(
    streaming_folder: Path, images: list[np.ndarray], tmp_path: Path
) -> None:
    with _client(streaming_folder, tmp_path) as client:
        with client.websocket_connect("/v1/stream") as ws:
            ready = ws.receive_json()
            alone = [_send(ws, index * STEP, image) for index, image in enumerate(images[:24])]
            ws.send_json({"type": "landmarks", "t": 9.0, "width": 10, "height": 10, "pose": None,
                          "left_hand": None, "right_hand": None})  # fmt: skip
            refused = ws.receive_json()
        with client.websocket_connect("/v1/stream") as first, client.websocket_connect("/v1/stream") as second:
            first.receive_json(), second.receive_json()
            together = []
            for index, image in enumerate(images[:24]):  # the same frames, interleaved with another clip's
                together.append(_send(first, index * STEP, image))
                _send(second, index * STEP, images[-1 - index])
    assert ready["input"] == "frames" and ready["window_frames"] == 8 and ready["labels"] == GLOSSES
    assert refused["type"] == "error" and "send images" in refused["message"]
    assert [message["top_k"] for message in together] == [message["top_k"] for message in alone]

    loaded = load_pretrained(streaming_folder)
    crops = [loaded.features.centre_frame(image) for image in images[:8]]
    for fed in (1, 5, 8):  # the first window, image by image: the causal model on the images so far
        with torch.no_grad():
            video = torch.from_numpy(loaded.features.pixels(np.stack(crops[:fed])))[None]
            expected = loaded.model(video)[0].softmax(dim=-1)
        best = alone[fed - 1]["top_k"][0]
        assert best["gloss"] == GLOSSES[int(expected.argmax())]
        assert best["confidence"] == pytest.approx(float(expected.max()), abs=1e-4)
    windows = [message["window"]["frames"] for message in alone]
    assert windows[:8] == list(range(1, 9))
    assert all(4 < frames <= 8 for frames in windows[8:])  # then between half a window and a whole one
    assert alone[-1]["window"]["start"] > alone[8]["window"]["start"] > 0


def test_a_whole_clip_model_reads_the_last_clip_length_of_the_stream(images: list[np.ndarray], tmp_path: Path) -> None:
    features = FramesConfig(frames=8, size=112, resize=128, value_range="kinetics")
    folder = _model_folder(tmp_path / "x3d", "x3d_xs", features)
    camera = 30.0  # frames a second, four times the model's 8 a second
    with _client(folder, tmp_path) as client, client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        ws.send_json({"type": "config", "rate": 60})  # whole-clip models predict twice a second unless asked
        messages = [_send(ws, index / camera, image) for index, image in enumerate(images)]  # 44 frames
    last = messages[-1]
    assert last["window"]["end"] == pytest.approx((len(images) - 1) / camera)
    assert last["window"]["end"] - last["window"]["start"] <= CLIP["seconds"]
    assert last["window"]["frames"] >= 29  # a whole second of the camera's frames, not 8 of them

    loaded = load_pretrained(folder)
    wanted = np.linspace(max(last["window"]["start"], last["t"] - CLIP["seconds"]), last["t"], 8)
    picked = [loaded.features.centre_frame(images[round(t * camera)]) for t in wanted]  # evenly by time
    with torch.no_grad():
        expected = loaded.model(torch.from_numpy(loaded.features.pixels(np.stack(picked)))[None])[0].softmax(dim=-1)
    best = last["top_k"][0]
    assert best["gloss"] == GLOSSES[int(expected.argmax())]
    assert best["confidence"] == pytest.approx(float(expected.max()), abs=1e-4)


def test_an_rgb_model_does_not_run_in_the_browser(tmp_path: Path) -> None:
    """The page's offline mode computes landmark input only: an RGB model is refused, and said so."""
    folder = _model_folder(tmp_path / "x3d", "x3d_xs", FramesConfig(frames=8, size=112, resize=128))
    with _client(folder, tmp_path) as client:
        (default,) = [m for m in client.get("/v1/models").json()["models"] if m["default"]]
        assert default["runs_in_browser"] is False and default["input_kind"] == "frames"
        response = client.get("/v1/browser-model")
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "not_in_browser",
        "message": f"model {str(folder)!r} cannot run in the browser: "
        "only landmark and hand-shape recognition models do",
    }
