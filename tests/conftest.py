"""Shared fixtures: the real data in ../shared/data (skipped with a reason when absent) and small
synthetic videos for bad-input tests."""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
import wave
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
WLASL = DATA / "wlasl"
HOW2SIGN = DATA / "how2sign"
KEYPOINTS = DATA / "keypoints" / "traduttore_asl16_seq0-89.tar.gz"
WLASL100_CSV = DATA / "wlasl100" / "wlasl100.csv"
LETTER_PHOTOS = DATA / "fingerspelling" / "roboflow_asl_letters"
DIGIT_PHOTOS = DATA / "fingerspelling" / "asl_digits"
LETTER_SEQUENCES = DATA / "keypoints" / "traduttore_letters.tar.gz"
# A WLASL clip (gloss "agreement", 288x192 at 29.97 fps) in which both hands sign.
BOTH_HANDS_CLIP = WLASL / "clips" / "01586.mp4"


def pytest_configure(config: pytest.Config) -> None:
    # Keep the user's pose cache out of the tests: every session starts with an empty one. The
    # pytest-xdist workers inherit the controller's (writes are atomic), so a clip is extracted once.
    if "PYTEST_XDIST_WORKER" in os.environ:
        return
    config.signscribe_cache = tempfile.mkdtemp(prefix="signscribe-test-cache-")
    os.environ["SIGNSCRIBE_CACHE_DIR"] = str(Path(config.signscribe_cache) / "poses")


def pytest_unconfigure(config: pytest.Config) -> None:
    if hasattr(config, "signscribe_cache"):
        shutil.rmtree(config.signscribe_cache, ignore_errors=True)


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real data not available: {path} is missing (the tests read ../shared/data)")
    return path


@pytest.fixture(scope="session")
def wlasl_dir() -> Path:
    return _require(WLASL)


@pytest.fixture(scope="session")
def how2sign_dir() -> Path:
    return _require(HOW2SIGN)


@pytest.fixture(scope="session")
def wlasl100_csv() -> Path:
    return _require(WLASL100_CSV)


@pytest.fixture(scope="session")
def keypoints_archive() -> Path:
    return _require(KEYPOINTS)


@pytest.fixture(scope="session")
def letter_photos() -> Path:
    """The roboflow letter photos: ``<split>/images/<Letter><n>.jpg``."""
    return _require(LETTER_PHOTOS)


@pytest.fixture(scope="session")
def digit_photos() -> Path:
    """The ASL digit photos: ``<digit>/<name>.JPG`` and ``digits.csv``."""
    return _require(DIGIT_PHOTOS)


@pytest.fixture(scope="session")
def letter_sequences() -> Path:
    """The traduttore letters archive (webcam landmark sequences of a-z by three signers)."""
    return _require(LETTER_SEQUENCES)


@pytest.fixture(scope="session")
def both_hands_clip() -> Path:
    return _require(BOTH_HANDS_CLIP)


@pytest.fixture(scope="session")
def both_hands_pose(both_hands_clip: Path):
    """Landmarks of the real two-handed clip, extracted once for the session."""
    from signscribe.pose import HolisticExtractor

    return HolisticExtractor().extract(both_hands_clip)


def traduttore_csv(archive: Path, path: Path, labels: tuple[str, ...], per_signer: int) -> Path:
    """A csv: dataset of real traduttore sequences: ``per_signer`` of each label from signers 0 and 1."""
    from signscribe.data import read_mp_data

    data = read_mp_data(archive, sequences_per_signer=30)
    chosen = [s for s in data.samples if s.label in labels and int(s.id.split("/")[1]) % 30 < per_signer
              and s.signer in ("0", "1")]  # fmt: skip
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["path", "label", "signer"])
        writer.writerows([str(s.path), s.label, s.signer] for s in chosen)
    return path


def write_video(path: Path, frames: list[np.ndarray], fps: int = 25, faststart: bool = False) -> Path:
    """Encode RGB frames as H.264 in MP4 with the package's own writer."""
    from signscribe.io.encode import video_writer

    height, width = frames[0].shape[:2]
    with video_writer(path, fps, width, height, faststart=faststart) as write:
        for image in frames:
            write(image)
    return path


def tiny_long_video(path: Path, seconds: int) -> Path:
    """A few kilobytes that declare ``seconds`` of 16x16 video at 1 frame a second."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=1)
        stream.width = stream.height = 16
        stream.pix_fmt = "yuv420p"
        for index in range(seconds):
            frame = av.VideoFrame.from_ndarray(np.full((16, 16, 3), index % 255, np.uint8), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


@pytest.fixture
def empty_scene_video(tmp_path: Path) -> Path:
    """Two seconds of a plain wall with noise: no person in it."""
    rng = np.random.default_rng(0)
    frames = [np.clip(120 + rng.normal(0, 8, (240, 320, 3)), 0, 255).astype(np.uint8) for _ in range(50)]
    return write_video(tmp_path / "empty_scene.mp4", frames)


@pytest.fixture
def audio_only_file(tmp_path: Path) -> Path:
    """A WAV file named .mp4: a readable container with no video stream."""
    path = tmp_path / "sound.mp4"
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(np.zeros(8000, np.int16).tobytes())
    return path


@pytest.fixture(scope="session")
def serving_recognizer():
    from signscribe.inference import Recognizer

    return Recognizer.from_pretrained("traduttore16")


@pytest.fixture
def make_client(tmp_path: Path, serving_recognizer):
    """``make(**settings)``: a started test client of an app serving traduttore16 from ``tmp_path/data``."""
    from fastapi.testclient import TestClient

    from signscribe.serving import ServerSettings, create_app

    clients = []

    def make(**settings) -> TestClient:
        options = {"data_dir": tmp_path / "data", "model": "traduttore16", **settings}
        client = TestClient(create_app(ServerSettings(**options), recognizer=serving_recognizer))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture(scope="session")
def clip_bytes(wlasl_dir: Path) -> bytes:
    """A real WLASL clip (01586, "agreement") as uploaded bytes."""
    return (wlasl_dir / "clips" / "01586.mp4").read_bytes()


@pytest.fixture(scope="session")
def sentence_bytes(how2sign_dir: Path) -> bytes:
    """A real How2Sign sentence clip (-d5dN54tH2E_0-1, 9.5 s of continuous signing: about 10 s of
    extraction here) as uploaded bytes."""
    return (how2sign_dir / "clips" / "-d5dN54tH2E_0-1-rgb_front.mp4").read_bytes()
