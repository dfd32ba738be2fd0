"""The web page in a real headless Chromium (Debian's, driven by Playwright), with a real clip from
../shared/data as the fake webcam."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from chromium import NEEDS_CHROMIUM, chromium_with_camera, serve_page

from signscribe.io.encode import write_y4m
from signscribe.serving import ServerSettings
from signscribe.serving.web_assets import HOLISTIC, ONNXRUNTIME_WEB, VENDOR_DIR

pytestmark = [pytest.mark.slow, NEEDS_CHROMIUM]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> str:
    yield from serve_page(ServerSettings(data_dir=tmp_path_factory.mktemp("server")))


@pytest.fixture(scope="module")
def attention_server(tmp_path_factory) -> str:
    """The server with a landmark model that pools with attention (random weights: what it looks at
    is arbitrary, that it is shown is the point)."""
    import torch

    from signscribe.models import FeatureConfig, create_model
    from signscribe.models.pretrained import LABELS, labels_json, model_config_json, save_model_folder

    torch.manual_seed(0)
    config = {"dim": 32, "depth": 1, "heads": 2, "pooling": "attention"}
    glosses = ["hello", "book", "drink"]
    model = create_model("pose_transformer", len(glosses), **config)
    folder_config = model_config_json(
        "pose_transformer", config, FeatureConfig(), len(glosses), {"fps": 15, "frames": 20}
    )
    folder = save_model_folder(
        model, tmp_path_factory.mktemp("attention") / "model", folder_config, {LABELS: labels_json(glosses)}, "# card\n"
    )
    yield from serve_page(ServerSettings(data_dir=tmp_path_factory.mktemp("server"), model=str(folder)))


@pytest.fixture(scope="module")
def camera_file(how2sign_dir: Path, tmp_path_factory) -> Path:
    clip = how2sign_dir / "clips" / "-d5dN54tH2E_0-1-rgb_front.mp4"
    return write_y4m(clip, tmp_path_factory.mktemp("camera") / "camera.y4m")


@pytest.fixture(scope="module")
def browser(camera_file: Path):
    yield from chromium_with_camera(camera_file)


def test_live_webcam_predictions_appear(server: str, browser, tmp_path: Path) -> None:
    page = browser.new_page()
    page.goto(server)
    page.wait_for_selector("#model-info:has-text('wlasl100 (100 signs)')")
    page.fill("#threshold", "0")
    page.dispatch_event("#threshold", "input")
    page.evaluate("document.activeElement.blur()")  # keys typed in a field are the field's
    page.keyboard.press("s")  # the page's key for start and stop
    page.wait_for_selector("#live-predictions .bar", timeout=60_000)
    page.wait_for_function("document.querySelector('#live-rate').textContent.includes('reach the model')")
    assert page.locator("#live-predictions .bar").count() == 5
    assert "dropped" in page.inner_text("#live-rate")
    # the first windows may be "not a sign I know" (bars, nothing to export); a gloss comes soon after
    page.wait_for_function("!document.querySelector('#live-export').disabled", timeout=60_000)
    # the settled glosses accumulate in the transcript, announced once each, and export as SubRip
    page.wait_for_selector("#live-transcript li", timeout=90_000)
    settled = page.eval_on_selector_all("#live-transcript .gloss", "glosses => glosses.map(g => g.textContent)")
    assert page.inner_text("#announcer") in settled
    page.select_option("#transcript-format", "srt")
    with page.expect_download() as download:
        page.click("#transcript-export")
    srt = Path(download.value.path()).read_text()
    assert srt.startswith("1\n00:00:") and settled[0] in srt
    # landmarks were drawn on the overlay: some of its pixels are not transparent
    drawn = page.evaluate(
        "() => { const c = document.querySelector('#overlay');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"
    )
    assert drawn > 100
    page.screenshot(path=str(tmp_path / "live.png"))
    stop_live(page)


def stop_live(page) -> None:
    """Press Stop and check the page stopped. The click is one DOM event, not a mouse's move, press and
    release: with --disable-gpu the page's Holistic runs on software WebGL, each frame a 2.5-5 s task
    (measured), and each of a mouse's three input events waits for one, which took over 30 s in CI."""
    page.dispatch_event("#live-stop", "click")
    page.wait_for_function("document.querySelector('#live-status').textContent === 'stopped'", timeout=60_000)
    assert page.locator("#live-start").is_enabled()


def live_predictions_in_mode(page, server: str, mode: str) -> None:
    """Open the page, pick the live ``mode`` (once the page allows it), start the webcam with no
    confidence threshold and wait for predictions."""
    page.goto(server)
    page.wait_for_selector("#model-info:has-text('wlasl100 (100 signs)')")
    page.wait_for_function(f"!document.querySelector('#live-mode option[value={mode}]').disabled")
    page.select_option("#live-mode", mode)
    page.fill("#threshold", "0")
    page.dispatch_event("#threshold", "input")
    page.click("#live-start")
    page.wait_for_selector("#live-predictions .bar", timeout=180_000)


def test_privacy_mode_finds_landmarks_in_the_browser_and_never_sends_an_image(server: str, browser) -> None:
    """MediaPipe Holistic runs in the page on the webcam: only landmarks messages (text) go over the
    WebSocket, never a frame (binary JPEG, or a JSON frame), and predictions still appear."""
    if not HOLISTIC.installed():
        pytest.skip("the browser's Holistic is not installed: run `signscribe web-assets` (.ci/run does)")
    page = browser.new_page()
    sent: list[str | bytes] = []
    page.on("websocket", lambda socket: socket.on("framesent", lambda payload: sent.append(payload)))
    live_predictions_in_mode(page, server, "landmarks")
    stop_live(page)
    assert sent and all(isinstance(payload, str) for payload in sent), "a binary (image) message was sent"
    messages = [json.loads(payload) for payload in sent]
    assert {message["type"] for message in messages} == {"landmarks"}
    assert any(message["right_hand"] or message["left_hand"] for message in messages)
    assert all(len(message["pose"]) == 33 for message in messages if message["pose"])


def as_the_server_reads_them(messages: list[dict]):
    """The messages as the server's stream reads them: a ``PoseSequence`` in pixels."""
    from signscribe.pose.sequence import PoseSequence
    from signscribe.serving.stream.messages import parse_message

    rows = [parse_message(json.dumps(message), None, 1 << 22, 1 << 24).landmarks for message in messages]
    width, height = messages[0]["width"], messages[0]["height"]
    return PoseSequence(np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows]), 25.0, width, height)


IN_THE_PAGE = """async ([model, messages, windows]) => {
  const frames = messages.map(Landmarks.frameOf);
  const { width, height } = messages[0];
  const sequence = Landmarks.sequenceOf(frames, width, height, 25);
  const input = Landmarks.modelInputs(sequence, model.features);
  const recognizer = await OfflineRecognizer.create(model, {});
  const window = ([start, stop]) => Landmarks.sequenceOf(frames.slice(start, stop), width, height, 25);
  const moving = { ...model.detector, still_speed: 0.5, clasp_speed: 0.8 };
  return {
    points: Array.from(input.points), present: Array.from(input.present), frames: input.frames,
    probabilities: await recognizer.probabilities(sequence),
    signing: windows.map((w) => Landmarks.isSigning(window(w), model.detector)),
    moving: windows.map((w) => Landmarks.isSigning(window(w), moving)),
  };
}"""


@pytest.mark.parametrize("model_id", ["wlasl100", "traduttore16"])
def test_the_page_computes_the_models_input_and_answer_as_python_does(
    server: str, browser, both_hands_pose, model_id: str
) -> None:
    """The offline mode's JavaScript pipeline (landmarks.js) and onnxruntime-web (offline.js) on real
    landmarks, sent as the page's Holistic sends them, against the server's own path from the same
    messages: the same model input, the same probabilities, the same resting/signing calls. wlasl100
    fills gaps, keeps the signing span, mirrors left-handed clips and resamples a long clip to 64 frames:
    the real clip is played forwards then backwards (86 frames), with a second of rest each side for
    wlasl100, as it is and mirrored, so both hands lead once."""
    import httpx

    from signscribe.inference import Recognizer
    from signscribe.models.inputs.landmarks import left_handed, sequence_features
    from signscribe.pose.activity import SigningDetector, signing_span
    from signscribe.pose.augment import mirror
    from signscribe.pose.layout import Layout
    from signscribe.pose.normalize import normalize
    from signscribe.pose.resting import hand_shapes, rest_around
    from signscribe.serving.stream.messages import landmarks_message

    if not ONNXRUNTIME_WEB.installed():
        pytest.skip("onnxruntime-web is not installed: run `signscribe web-assets` (.ci/run does)")
    (model,) = [m for m in httpx.get(f"{server}/v1/models").json()["models"] if m["id"] == model_id]
    recognizer = Recognizer.from_pretrained(model_id)
    features = recognizer.loaded.features
    there_and_back = both_hands_pose.followed_by(both_hands_pose.select_frames(slice(None, None, -1)))
    if features.trim_rest:  # rest around the sign, which both cut away
        shapes = hand_shapes([both_hands_pose])
        there_and_back = rest_around(there_and_back, 1.0, shapes, np.random.default_rng(0))
        span = signing_span(normalize(there_and_back))
        assert span.stop - span.start < there_and_back.num_frames - 40
    assert there_and_back.num_frames > features.max_frames
    page = browser.new_page()
    page.goto(server)
    page.wait_for_function("typeof OfflineRecognizer === 'function'")
    assert page.evaluate("Landmarks.MIRROR_ROWS") == Layout().mirror_permutation().tolist()
    leads = []
    for clip in (there_and_back, mirror(there_and_back)):
        messages = [landmarks_message(clip, index) for index in range(clip.num_frames)]
        windows = [(0, 8), (0, 20), (20, 40), (len(messages) - 20, len(messages)), (0, len(messages))]
        got = page.evaluate(IN_THE_PAGE, [model, messages, windows])
        sequence = as_the_server_reads_them(messages)
        values, present = sequence_features(sequence, features)
        assert got["frames"] == len(values)
        np.testing.assert_allclose(np.reshape(got["points"], values.shape), values, atol=1e-4)
        assert np.array_equal(np.reshape(got["present"], present.shape).astype(bool), present)
        expected = recognizer.scores([sequence])[0]
        np.testing.assert_allclose(got["probabilities"], expected, atol=1e-4)
        parts = [sequence.select_frames(slice(*w)) for w in windows]
        assert got["signing"] == [recognizer.detector.is_signing(part) for part in parts]
        moving = SigningDetector(**{**recognizer.detector.settings(), "still_speed": 0.5, "clasp_speed": 0.8})
        assert got["moving"] == [moving.is_signing(part) for part in parts]
        leads.append(left_handed(normalize(sequence)) if features.dominant_hand else None)
    assert model_id == "traduttore16" or sorted(leads) == [False, True]  # both branches of the mirroring ran


def test_offline_mode_runs_the_model_in_the_browser_and_sends_nothing(server: str, browser) -> None:
    """Fully offline: Holistic and the model both run in the page. No WebSocket is opened and every
    request is a GET of the page, its scripts, the model list or the model file: neither video nor
    landmarks leave the browser, and predictions appear."""
    if not (HOLISTIC.installed() and ONNXRUNTIME_WEB.installed()):
        pytest.skip("the browser's runtimes are not installed: run `signscribe web-assets` (.ci/run does)")
    page = browser.new_page()
    sockets: list[str] = []
    requests: list[tuple[str, str, bytes | None]] = []
    workers: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    page.on("request", lambda request: requests.append((request.method, request.url, request.post_data_buffer)))
    page.on("worker", lambda worker: workers.append(worker.url))
    live_predictions_in_mode(page, server, "offline")
    assert page.locator("#live-predictions .bar").count() == 5
    assert any(url.endswith("/static/vendor/onnxruntime/ort.wasm.min.js") for url in workers)  # off the page's thread
    assert "0 dropped" in page.inner_text("#live-rate")
    assert page.locator("#bank-add").is_disabled()  # the bank would upload a clip
    stop_live(page)
    assert not sockets
    assert {method for method, _, _ in requests} <= {"GET", "HEAD"}
    assert all(body is None for _, _, body in requests)
    paths = {url.removeprefix(server).split("?")[0] for _, url, _ in requests}
    assert "/v1/browser-model" in paths
    assert paths <= {"/", "/v1/models", "/v1/bank", "/v1/browser-model", "/favicon.ico"} | {
        path for path in paths if path.startswith("/static/")
    }


def test_the_browser_pose_model_is_the_python_wheels() -> None:
    import hashlib

    import mediapipe

    if not HOLISTIC.installed():
        pytest.skip("the browser's Holistic is not installed: run `signscribe web-assets` (.ci/run does)")
    wheel = Path(mediapipe.__file__).parent / "modules" / "pose_landmark" / "pose_landmark_full.tflite"
    served = VENDOR_DIR / HOLISTIC.folder / "pose_landmark_full.tflite"
    assert hashlib.sha256(served.read_bytes()).digest() == hashlib.sha256(wheel.read_bytes()).digest()


def test_the_attention_over_the_live_window_is_drawn_under_the_video(attention_server: str, browser) -> None:
    page = browser.new_page()
    page.goto(attention_server)
    page.wait_for_selector("#model option", state="attached")
    assert page.locator("#live-attention").is_hidden()  # until a model with attention predicts
    page.click("#live-start")
    page.wait_for_selector("#live-attention", state="visible", timeout=60_000)
    cells = page.evaluate(
        "() => { const c = document.querySelector('#live-attention');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " const alphas = new Set(); let n = 0;"
        " for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) n++; alphas.add(d[i]); } return [n, alphas.size]; }"
    )
    assert cells[0] > 0.9 * 640 * 28  # the whole strip is painted
    assert cells[1] > 3  # in shades: the weights differ over the window
    stop_live(page)


def test_a_sign_is_taught_to_the_bank_from_the_webcam_and_recognised(server: str, browser) -> None:
    page = browser.new_page()
    page.goto(server)
    page.wait_for_selector("#model-info:has-text('wlasl100 (100 signs)')")
    assert page.locator("#bank-add").is_disabled()  # no webcam yet
    page.click("#live-start")
    page.wait_for_selector("#bank-add:not([disabled])", timeout=60_000)
    assert page.is_visible("#bank-shared")  # no API keys: the page says the bank is shared
    page.fill("#bank-gloss", "hello")
    page.click("#bank-add")
    page.wait_for_function("document.querySelector('#bank-status').textContent.includes('recording in')")
    page.wait_for_selector("#bank-signs li:has-text('hello (1 example)')", timeout=90_000)
    page.click("#bank-recognize")
    page.wait_for_function("document.querySelector('#bank-status').textContent.includes('similarity')", timeout=90_000)
    status = page.inner_text("#bank-status")
    assert status.startswith(("hello (similarity", "not a sign I know (similarity")), status
    page.click("#bank-signs li:has-text('hello') button.remove")
    page.wait_for_function("document.querySelector('#bank-status').textContent === 'deleted hello'")
    assert page.locator("#bank-signs li").count() == 0
    stop_live(page)


def test_the_page_offers_every_model_and_searches_its_signs(server: str, browser) -> None:
    page = browser.new_page()
    page.goto(server)
    page.wait_for_selector("#model option[value='traduttore16']", state="attached")
    page.wait_for_selector("#model-info:has-text('wlasl100 (100 signs)')")
    assert page.inner_text("#sign-count") == "100 of 100 signs"
    offered = page.eval_on_selector_all("#model option", "options => options.map(o => o.value)")
    assert "traduttore16" in offered and len(offered) == len(set(offered))
    page.select_option("#model", "traduttore16")
    page.wait_for_selector("#model-info:has-text('traduttore16 (16 signs)')")
    assert page.inner_text("#sign-count") == "16 of 16 signs"
    page.fill("#sign-search", "TEA")  # case-insensitive
    assert page.inner_text("#sign-count") == "1 of 16 signs" and page.inner_text("#signs").strip() == "tea"
    page.fill("#sign-search", "zzz")
    assert page.inner_text("#sign-count") == "0 of 16 signs"


def test_upload_through_the_page(server: str, browser, wlasl_dir: Path, tmp_path: Path) -> None:
    page = browser.new_page()
    page.goto(server)
    clip = Path(shutil.copy(wlasl_dir / "clips" / "65145.mp4", tmp_path / "my clip.mp4"))  # basketball, a WLASL100 sign
    page.set_input_files("#file-input", str(clip))
    page.fill("#upload-top-k", "3")
    page.click("#upload-button")
    page.wait_for_selector("#upload-list .bar", timeout=60_000)
    assert page.locator("#upload-list .bar").count() == 3
    assert "my clip.mp4" in page.inner_text("#upload-status") and "my clip.mp4" in page.inner_text("#upload-list h3")
    with page.expect_download() as download:
        page.click("#upload-export")
    saved = tmp_path / "export.csv"
    download.value.save_as(saved)
    lines = saved.read_text().splitlines()
    assert lines[0] == "video,rank,gloss,confidence" and len(lines) == 4


def test_a_photo_uploaded_through_the_page_gets_its_letter(server: str, browser, letter_photos: Path) -> None:
    """The page's model is the default (a model of signs in video): the photo goes to the hand-shape model."""
    page = browser.new_page()
    page.goto(server)
    page.set_input_files("#file-input", str(letter_photos / "test" / "images" / "V10.jpg"))
    page.fill("#upload-top-k", "3")
    page.click("#upload-button")
    page.wait_for_selector("#upload-list .bar", timeout=60_000)
    assert "V10.jpg" in page.inner_text("#upload-list h3")
    assert page.locator("#upload-list .bar .gloss").first.inner_text() == "V"


def test_upload_of_a_non_video_shows_the_error(server: str, browser, tmp_path: Path) -> None:
    page = browser.new_page()
    page.goto(server)
    notes = tmp_path / "notes.mp4"
    notes.write_text("not a video\n" * 10)
    page.set_input_files("#file-input", str(notes))
    page.click("#upload-button")
    page.wait_for_selector("#upload-list .result .error")
    newest = page.locator("#upload-list .result").first  # the failure heads the list, above older results
    assert newest.locator("h3").inner_text() == "notes.mp4"
    assert "neither a video" in newest.locator(".error").inner_text()
    assert newest.locator(".error").get_attribute("role") == "alert"


def test_a_transcribe_upload_shows_its_segments_under_the_clip_and_downloads_subtitles(
    server: str, browser, how2sign_dir: Path, tmp_path: Path
) -> None:
    page = browser.new_page()
    page.goto(server)
    page.wait_for_selector("#model option[value='traduttore16']", state="attached")
    page.select_option("#model", "traduttore16")
    page.select_option("#upload-task", "transcribe")
    assert page.is_disabled("#upload-top-k")
    page.set_input_files("#file-input", str(how2sign_dir / "clips" / "-d5dN54tH2E_0-1-rgb_front.mp4"))
    page.click("#upload-button")
    page.wait_for_selector(".result.transcript", timeout=180_000)
    segments = page.locator(".result.transcript .segments li").count()
    assert segments > 0 and page.locator(".result.transcript .track .segment").count() == segments
    assert page.eval_on_selector(".result.transcript video", "video => video.src.startsWith('blob:')")
    page.click(".result.transcript .segments li:nth-child(2) .time")  # a time seeks the clip there
    assert page.eval_on_selector(".result.transcript video", "video => video.currentTime") > 0
    with page.expect_download() as download:
        page.click(".result.transcript button:has-text('Download .srt')")
    assert download.value.suggested_filename == "-d5dN54tH2E_0-1-rgb_front.srt"
    assert Path(download.value.path()).read_text().count(" --> ") == segments


def test_the_live_transcript_settles_a_gloss_held_three_times_and_merges_a_flicker(server: str, browser) -> None:
    page = browser.new_page()
    page.goto(server)
    entries = page.evaluate(
        """() => {
        const t = new LiveTranscript();
        const pushes = [[0, "a", 0.9], [0.2, "a", 0.7], [0.4, "a", 0.8], [0.6, "a", 0.9], [0.8, null],
                        [1.0, "a", 0.9], [1.2, "a", 0.9], [1.4, "a", 0.9],  // back within a second: the same entry
                        [1.6, "b", 0.9], [1.8, "b", 0.9], [2.0, null],        // twice only: not settled
                        [4.0, "a", 0.5], [4.2, "a", 0.5], [4.4, "a", 0.5]];   // after a pause: a new entry
        const settled = pushes.map(([time, gloss, confidence]) => t.push(time, gloss, confidence) !== null);
        return {entries: t.entries, settled};
        }"""
    )
    assert [(e["gloss"], e["start"], e["end"]) for e in entries["entries"]] == [("a", 0, 1.4), ("a", 4.0, 4.4)]
    assert entries["entries"][0]["confidence"] == pytest.approx(0.8)
    assert entries["settled"] == [False, False, True] + [False] * 10 + [True]


def test_the_page_names_every_control_reflows_at_320_px_mirrors_the_camera_and_has_a_dark_theme(
    server: str, browser
) -> None:
    page = browser.new_page(viewport={"width": 320, "height": 640})
    page.goto(server)
    page.wait_for_selector("#model-info:has-text('wlasl100 (100 signs)')")
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll('input, select, button, video, canvas, progress, textarea')]
        .filter((el) => !(el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.closest('label')
                          || el.textContent.trim() || el.title || el.getAttribute('aria-hidden') === 'true'))
        .map((el) => el.id || el.outerHTML.slice(0, 60))"""
    )
    assert unnamed == []
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 320  # nothing overflows sideways
    assert page.eval_on_selector("#camera", "v => getComputedStyle(v).transform").startswith("matrix(-1")
    assert page.get_attribute("#live-status", "aria-live") == "off"  # the settled glosses are announced instead
    light = page.eval_on_selector("body", "b => getComputedStyle(b).backgroundColor")
    page.emulate_media(color_scheme="dark")
    assert page.eval_on_selector("body", "b => getComputedStyle(b).backgroundColor") != light


def test_an_api_key_error_points_to_the_key_field(tmp_path_factory, browser) -> None:
    for url in serve_page(ServerSettings(data_dir=tmp_path_factory.mktemp("keyed"), api_keys=frozenset({"secret"}))):
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("#model-info.error")
        assert "enter it in the API key field at the top" in page.inner_text("#model-info")
        page.fill("#api-key", "secret")  # applies as it is typed, without Enter or leaving the field
        page.wait_for_selector("#model-info:has-text('wlasl100 (100 signs)')")
