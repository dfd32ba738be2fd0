"""The page's fingerspelling mode in a real headless Chromium: a fake webcam that shows real letter
photos, and the offline mode's JavaScript (spelling.js, onnxruntime-web) against the server's
SpellingSession on real letter sequences."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest
from chromium import NEEDS_CHROMIUM, chromium_with_camera, serve_page
from PIL import Image

from signscribe.serving import ServerSettings
from signscribe.serving.web_assets import HANDS, ONNXRUNTIME_WEB
from spelled_words import cab_book

pytestmark = [pytest.mark.slow, NEEDS_CHROMIUM]
# letter photos of the shared test folder the model reads well inside a webcam's frame
WORDS = (("H25.jpg", "I28.jpg"), ("B14.jpg", "Y25.jpg"))
CAMERA_FPS = 15
HELD = (
    2 * CAMERA_FPS
)  # frames a letter, and a rest, is held: two seconds, so that a page reading a frame a second sees each


def _framed(photo: Path, width: int = 640, height: int = 360) -> np.ndarray:
    """A photo of a hand in a webcam's frame, on its own edge colour, scaled and placed so that its
    palm is 70 pixels long and its wrist at one place: a signer spells with the hand in one place."""
    from signscribe.io.photos import read_image
    from signscribe.models.inputs.hand import palm_lengths, signing_hand
    from signscribe.pose.photo import photo_landmarks

    image, hand = read_image(photo), photo_landmarks(photo)
    side = signing_hand(hand)
    scale = 70 / float(palm_lengths(hand, side)[0])
    rows, columns = round(image.shape[0] * scale), round(image.shape[1] * scale)
    wrist = hand.component(side)[0][0, 0, :2] * scale
    left, top = round(width / 2 - wrist[0]), round(height * 0.8 - wrist[1])
    frame = np.full((height, width, 3), image[0, 0], np.uint8)
    scaled = np.asarray(Image.fromarray(image).resize((columns, rows)))
    shown = scaled[max(0, -top) : height - top, max(0, -left) : width - left]
    frame[max(0, top) : max(0, top) + shown.shape[0], max(0, left) : max(0, left) + shown.shape[1]] = shown
    return frame


@pytest.fixture(scope="module")
def spelling_camera(letter_photos: Path, tmp_path_factory) -> Path:
    """HI, an empty room, BY, the empty room: each letter a photo held ``HELD`` frames, and each rest."""
    path = tmp_path_factory.mktemp("camera") / "spelling.y4m"
    empty = np.full((360, 640, 3), 128, np.uint8)
    frames = []
    for word in WORDS:
        frames += [_framed(letter_photos / "test" / "images" / name) for name in word for _ in range(HELD)]
        frames += [empty] * HELD
    with av.open(str(path), "w", format="yuv4mpegpipe") as container:
        stream = container.add_stream("rawvideo", rate=CAMERA_FPS)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        for image in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")))
        container.mux(stream.encode())
    return path


@pytest.fixture(scope="module")
def browser(spelling_camera: Path):
    yield from chromium_with_camera(spelling_camera)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> str:
    yield from serve_page(ServerSettings(data_dir=tmp_path_factory.mktemp("server"), model="fingerspelling"))


def _spell_live(page, server: str, mode: str, words: int = 3) -> list[str]:
    """Start the webcam in ``mode`` with the fingerspelling model and wait for ``words`` spelled words;
    the first is left out (the camera may have started in the middle of it)."""
    page.goto(server)
    page.wait_for_selector("#model-info:has-text('fingerspelling')")
    assert page.locator("#spelling").is_visible()  # the fingerspelling panel of a hand-shape model
    options = page.eval_on_selector_all("#spelling-labels option", "options => options.map(o => o.value)")
    assert options == ["letters", "digits", "all"] and page.input_value("#spelling-labels") == "letters"
    page.wait_for_function(f"!document.querySelector('#live-mode option[value={mode}]').disabled")
    page.select_option("#live-mode", mode)
    page.click("#live-start")
    page.wait_for_function(f"document.querySelectorAll('#spelling-history li').length >= {words}", timeout=180_000)
    spelled = page.eval_on_selector_all("#spelling-history li", "items => items.map(i => i.textContent)")
    page.dispatch_event("#live-stop", "click")
    return spelled[1:]


def test_the_page_spells_the_words_a_fake_webcam_shows(server: str, browser) -> None:
    """Video frames to the server, whose MediaPipe Hands follows the hand: the words the camera
    spells over and over (HI, BY) fill the history, and the sign transcript stays empty."""
    page = browser.new_page()
    words = _spell_live(page, server, "video")
    assert set(words) == {"HI", "BY"}, words
    assert page.inner_text("#announcer") in words
    assert page.locator("#live-transcript li").count() == 0


IN_THE_PAGE = """async ([model, messages, windows]) => {
  const speller = await OfflineRecognizer.create(model, {});
  const frames = messages.map(Landmarks.frameOf);
  const { width, height } = messages[0];
  const inputs = windows.map(([start, stop]) => {
    const input = Spelling.modelInputs(Landmarks.sequenceOf(frames.slice(start, stop), width, height), model.features);
    return { points: Array.from(input.points), present: Array.from(input.present) };
  });
  const predictions = [];
  for (const message of messages) {
    for (const out of await speller.push(message)) if (out.type === "prediction") predictions.push(out);
  }
  speller.close();
  return { inputs, predictions };
}"""


def test_the_offline_speller_in_the_page_spells_as_the_server_does(server: str, browser, letter_sequences) -> None:
    """The offline mode's pipeline (spelling.js and the model in onnxruntime-web) and the server's
    SpellingSession, fed the same real letters (CAB, a rest, BOOK) as the page's Hands sends them:
    the same model input, letters, confidences and words, prediction by prediction."""
    import httpx

    from signscribe.inference import Recognizer
    from signscribe.serving.stream.messages import landmarks_message, parse_message
    from signscribe.serving.stream.spelling import SpellingSession

    if not ONNXRUNTIME_WEB.installed():
        pytest.skip("onnxruntime-web is not installed: run `signscribe web-assets` (.ci/run does)")
    spelled = cab_book(letter_sequences)
    messages = [landmarks_message(spelled, index) for index in range(spelled.num_frames)]
    for message in messages:
        message["pose"] = None  # as the page's Hands sends them: the hands only
    (model,) = [m for m in httpx.get(f"{server}/v1/models").json()["models"] if m["id"] == "fingerspelling"]
    assert model["runs_in_browser"] and model["spelling"]["labels"] == "letters"
    windows = [(0, 1), (0, 12), (40, 52), (0, 40)]  # 40 frames: resampled to the model's 24
    page = browser.new_page()
    page.goto(server)
    page.wait_for_function("typeof OfflineSpeller === 'function'")
    got = page.evaluate(IN_THE_PAGE, [model, messages, windows])

    session = SpellingSession(Recognizer.from_pretrained("fingerspelling"), top_k=5, rate=15.0)
    incoming = [parse_message(json.dumps(message), None, 1 << 22, 1 << 24) for message in messages]
    expected = [out for frame in incoming for out in session.process(frame) if out["type"] == "prediction"]
    for (start, stop), features in zip(windows, got["inputs"], strict=True):
        window = spelled.select_frames(np.arange(start, stop))
        values, present = session.speller.recognizer.loaded.features.example(window)
        np.testing.assert_allclose(np.reshape(features["points"], values.shape), values, atol=1e-4)
        assert np.array_equal(np.reshape(features["present"], present.shape).astype(bool), present)
    assert [p["t"] for p in got["predictions"]] == [p["t"] for p in expected]
    for mine, theirs in zip(got["predictions"], expected, strict=True):
        assert [p["gloss"] for p in mine["top_k"][:1]] == [p["gloss"] for p in theirs["top_k"][:1]]
        np.testing.assert_allclose(
            [p["confidence"] for p in mine["top_k"][:3]], [p["confidence"] for p in theirs["top_k"][:3]], atol=1e-3
        )
        for key in ("letter", "word", "words", "text"):
            assert mine["spelling"][key] == theirs["spelling"][key], (mine["t"], key)
    assert expected[-1]["spelling"]["text"] == "CAB BOOK"


@pytest.mark.parametrize("mode", ["landmarks", "offline"])
def test_fingerspelling_in_the_privacy_modes_keeps_the_video_in_the_page(server: str, browser, mode: str) -> None:
    """MediaPipe Hands runs in the page: landmarks only sends its landmarks over the WebSocket and never
    an image; offline runs the model there too and opens no WebSocket. The letters the camera spells
    appear in both (here Hands reads a frame a second or less, on software WebGL)."""
    if not (HANDS.installed() and ONNXRUNTIME_WEB.installed()):
        pytest.skip("the browser's runtimes are not installed: run `signscribe web-assets` (.ci/run does)")
    page = browser.new_page()
    sockets, sent = [], []
    page.on(
        "websocket",
        lambda socket: (sockets.append(socket.url), socket.on("framesent", lambda frame: sent.append(frame))),
    )
    words = _spell_live(page, server, mode)
    # a frame a second or less reaches Hands here: the letters are right, the pauses between words
    # (0.6 s) too short to be timed at that rate (the video mode above spells the words)
    letters = "".join(words)
    assert set(letters) <= set("HIBY") and len(set(letters)) >= 2, words
    if mode == "offline":
        assert not sockets
    else:
        assert sockets and sent and all(isinstance(frame, str) for frame in sent)
        messages = [json.loads(frame) for frame in sent]
        assert messages[0] == {"type": "config", "labels": "letters"}  # the page's spell choice
        assert {m["type"] for m in messages[1:]} == {"landmarks"}
        assert all(m["pose"] is None for m in messages[1:])  # Hands: no body
