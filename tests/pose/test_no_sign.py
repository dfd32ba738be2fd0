"""The no-sign detector on real footage: signers resting with their hands in view (the ends of two WLASL
clips, hands at the waist; two How2Sign stretches, hands clasped still at the chest), with their hands
out of view (a How2Sign clip's last seconds), and signing."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from signscribe.data import read_mp_data
from signscribe.inference import Recognizer, Transcriber, TranscriptionSettings
from signscribe.pose import HolisticExtractor, PoseCache, PoseSequence, load_mp_sequence
from signscribe.pose.activity import SPAN_MARGIN, SigningDetector, hand_speeds, signing_span, still_stretches
from signscribe.pose.layout import BODY_POINTS
from signscribe.pose.normalize import normalize
from signscribe.pose.resting import hand_shapes, hold_hands, rest_around, rest_hands

# WLASL clips whose last frames show the signer at rest, hands in view at the waist.
RESTING_AT_THE_END = ("10520", "53123")
REST_FRAMES = 12
# How2Sign clips in which the signer rests with the hands clasped at the chest, still (seen frame by
# frame; scripts/calibrate_rejection.py measures the same stretches), and a stretch of signing in each
CLASPED_AT_THE_CHEST = {"-d5dN54tH2E_3-1-rgb_front": ((136, 168), (100, 124)),
                        "-f1_kdl050s_10-1-rgb_front": ((30, 56), (70, 94))}  # fmt: skip


@pytest.fixture(scope="module")
def extractor() -> HolisticExtractor:
    return HolisticExtractor(cache=PoseCache())


def _clip(wlasl_dir: Path, extractor: HolisticExtractor, clip: str) -> PoseSequence:
    return extractor.extract(wlasl_dir / "clips" / f"{clip}.mp4")


def test_resting_hands_in_view_are_not_signing_and_signing_is(wlasl_dir: Path, extractor: HolisticExtractor) -> None:
    detector = SigningDetector()
    for clip in RESTING_AT_THE_END:
        sequence = _clip(wlasl_dir, extractor, clip)
        rest = sequence.select_frames(slice(sequence.num_frames - REST_FRAMES, sequence.num_frames))
        middle = sequence.select_frames(slice(sequence.num_frames // 3, sequence.num_frames // 3 + REST_FRAMES))
        measured = detector.measure(rest)
        assert measured.hand_presence >= 0.9, "the hands are in view while resting"
        assert not detector.is_signing(rest) and detector.is_signing(middle), clip


def test_hands_out_of_view_are_not_signing(how2sign_dir: Path, extractor: HolisticExtractor) -> None:
    sequence = extractor.extract(how2sign_dir / "clips" / "-d5dN54tH2E_0-1-rgb_front.mp4")
    last_two_seconds = sequence.select_frames(slice(sequence.num_frames - 48, sequence.num_frames))
    first_second = sequence.select_frames(slice(0, 24))
    assert not SigningDetector().is_signing(last_two_seconds) and SigningDetector().is_signing(first_second)


def test_the_16_sign_model_answers_idle_for_a_real_rest_and_keeps_its_signs(
    wlasl_dir: Path, extractor: HolisticExtractor, keypoints_archive: Path
) -> None:
    recognizer = Recognizer.from_pretrained("traduttore16")
    for clip in RESTING_AT_THE_END:
        sequence = _clip(wlasl_dir, extractor, clip)
        rest = sequence.select_frames(slice(sequence.num_frames - REST_FRAMES, sequence.num_frames))
        assert recognizer.predict(rest, top_k=1)[0].gloss == "-"
    data = read_mp_data(keypoints_archive, sequences_per_signer=30)
    signs = [s for s in data.samples if s.label != "-"]
    signing = [SigningDetector().is_signing(load_mp_sequence(s.path)) for s in signs]
    assert np.mean(signing) >= 0.99  # the detector leaves the signs to the model


def test_the_16_sign_model_calls_hands_resting_in_view_idle(keypoints_archive: Path) -> None:
    """The archive's idle sequences (hands out of the frame) with hands made to rest in view."""
    data = read_mp_data(keypoints_archive, sequences_per_signer=30)
    shapes = hand_shapes([load_mp_sequence(s.path) for s in data.samples if s.label == "hello"])
    rng = np.random.default_rng(7)
    idle = [rest_hands(load_mp_sequence(s.path), shapes, rng) for s in data.samples if s.label == "-"][::3]
    assert all(sequence.detected("left_hand").all() for sequence in idle)  # the hands are in view
    recognizer = Recognizer.from_pretrained("traduttore16")
    predicted = [recognizer.labels[i] for i in recognizer.scores(idle).argmax(axis=1).tolist()]
    assert np.mean([gloss == "-" for gloss in predicted]) >= 0.95


def _resting_longer(sequence: PoseSequence, seconds: float) -> PoseSequence:
    """The clip with its real resting end held for ``seconds`` more: the last frames played back and
    forth, so the signer stays at rest with the hands in view and nothing jumps."""
    rest = np.arange(sequence.num_frames - REST_FRAMES, sequence.num_frames)
    back_and_forth = np.concatenate([rest[::-1], rest])
    extra = np.resize(back_and_forth, int(seconds * sequence.fps))
    return sequence.select_frames(np.concatenate([np.arange(sequence.num_frames), extra]))


def test_the_signing_span_leaves_out_a_real_rest_and_keeps_the_sign(
    wlasl_dir: Path, extractor: HolisticExtractor
) -> None:
    """The real clips signed, then held at rest (hands in view at the waist) for 4 seconds more: the span
    ends within its margin of where the rest starts, and what it keeps is signing."""
    for clip in RESTING_AT_THE_END:
        sequence = _clip(wlasl_dir, extractor, clip)
        body = normalize(_resting_longer(sequence, seconds=4.0))
        span = signing_span(body)
        margin = math.floor(SPAN_MARGIN * body.fps + 0.5)
        assert span.start <= margin and span.stop - span.start >= sequence.num_frames // 2, (clip, span)
        assert span.stop <= sequence.num_frames - REST_FRAMES + margin, (clip, span)
        assert SigningDetector().is_signing(body.select_frames(span))


def test_the_signing_span_ignores_a_hand_passing_the_rest_line() -> None:
    """Wrists low, a blip above the rest line shorter than RAISED_RUN, then a real stretch of signing:
    the span starts at the stretch; without any stretch, every frame is kept."""
    fps, frames = 25.0, 100
    data = np.zeros((frames, 75, 3), np.float32)
    confidence = np.ones((frames, 75), np.float32)
    data[:, BODY_POINTS.index("LEFT_SHOULDER"), 0], data[:, BODY_POINTS.index("RIGHT_SHOULDER"), 0] = 1.0, -1.0
    wrist = BODY_POINTS.index("RIGHT_WRIST")
    data[:, [wrist, BODY_POINTS.index("LEFT_WRIST")], 1] = 1.5  # below the rest line, in shoulder widths
    data[10:13, wrist, 1] = 0.5  # a hand passing by for 3 frames (RAISED_RUN is 5 at 25 fps)
    data[40:70, wrist, 1] = 0.5  # signing
    body = PoseSequence(data, confidence, fps, 200, 200, normalized=True)
    margin = math.floor(SPAN_MARGIN * fps + 0.5)
    assert signing_span(body) == slice(40 - margin, 70 + margin)
    data[40:70, wrist, 1] = 1.5
    assert signing_span(body) == slice(0, frames)


def test_a_sign_with_rest_around_it_is_recognised_as_the_sign(wlasl_dir: Path, extractor: HolisticExtractor) -> None:
    """A real clip of basketball with 2 seconds of rest each side (its end frames held, the hands resting
    low in the real relaxed shapes of two other signers): the default model, which reads the signing
    span, answers as for the clip alone; read whole, the rest drowns the sign."""
    recognizer = Recognizer.from_pretrained("wlasl100")
    assert recognizer.loaded.features.trim_rest
    whole = Recognizer(
        replace(recognizer.loaded, features=replace(recognizer.loaded.features, trim_rest=False)), recognizer.extractor
    )
    sign = _clip(wlasl_dir, extractor, "65145")
    shapes = hand_shapes([_clip(wlasl_dir, extractor, clip) for clip in RESTING_AT_THE_END], resting=True)
    recording = rest_around(sign, 2.0, shapes, np.random.default_rng(0))
    assert recording.num_frames > 3 * sign.num_frames
    alone = recognizer.answer(sign, top_k=1)[0][0]
    seen, no_gloss = recognizer.answer(recording, top_k=1)
    assert no_gloss is None and seen[0].gloss == alone.gloss == "basketball"
    assert seen[0].confidence == pytest.approx(alone.confidence, abs=0.05)
    assert dict((p.gloss, p.confidence) for p in whole.predict(recording, top_k=100))["basketball"] < 0.6


def test_transcripts_have_no_gloss_while_the_signer_rests(wlasl_dir: Path, extractor: HolisticExtractor) -> None:
    # These signs are not WLASL100 glosses, so any confidence will do: the segmentation is tested.
    transcriber = Transcriber.from_pretrained("wlasl100", TranscriptionSettings(min_confidence=0.0))
    for clip in RESTING_AT_THE_END:
        sequence = _clip(wlasl_dir, extractor, clip)
        rest_starts = (sequence.num_frames - REST_FRAMES) / sequence.fps
        resting_longer = _resting_longer(sequence, seconds=4.0)
        segments = transcriber.transcribe(resting_longer).segments
        assert segments, f"{clip}: the sign itself gives a segment"
        assert segments[0].start < 0.5 and segments[-1].end <= rest_starts + 1.0, (clip, segments)
        assert resting_longer.duration - segments[-1].end >= 3.0, "the long rest has no gloss"


def _resting_video(wlasl_dir: Path, clip: str, path: Path) -> Path:
    """Two seconds of the clip's real resting end (hands in view at the waist), played back and forth."""
    from conftest import write_video
    from signscribe.io import read_frames

    frames = [frame.image for frame in read_frames(wlasl_dir / "clips" / f"{clip}.mp4")]
    rest = frames[-REST_FRAMES:]
    height, width = rest[0].shape[:2]
    even = [np.ascontiguousarray(image[: height - height % 2, : width - width % 2]) for image in rest]
    return write_video(path, (even[::-1] + even) * 2)


def test_a_model_without_an_idle_label_answers_no_sign_at_rest(wlasl_dir: Path, extractor: HolisticExtractor) -> None:
    recognizer = Recognizer.from_pretrained("wlasl100")
    for clip in RESTING_AT_THE_END:
        sequence = _clip(wlasl_dir, extractor, clip)
        rest = sequence.select_frames(slice(sequence.num_frames - REST_FRAMES, sequence.num_frames))
        predictions, no_gloss = recognizer.answer(rest)
        assert predictions == [] and no_gloss is not None and no_gloss.code == "resting", clip
        assert recognizer.predict(rest, top_k=1), "the forced choice still ranks"
    signing, no_gloss = recognizer.answer(wlasl_dir / "clips" / "65145.mp4")  # basketball, a WLASL100 gloss
    assert no_gloss is None and signing[0].gloss == "basketball"


def test_rest_gets_no_gloss_over_rest_and_the_cli_unless_told(
    wlasl_dir: Path, tmp_path: Path, make_client, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from signscribe.cli import app

    video = _resting_video(wlasl_dir, RESTING_AT_THE_END[0], tmp_path / "resting.mp4")
    response = make_client().post("/v1/recognize?model=wlasl100", files={"file": ("rest.mp4", video.read_bytes())})
    (result,) = response.json()["results"]
    assert response.status_code == 200 and result["predictions"] == [] and result["no_gloss"]["code"] == "resting"
    answered = CliRunner().invoke(app, ["recognize", str(video), "--format", "json"])
    assert json.loads(answered.stdout)["results"][0]["no_gloss"]["code"] == "resting"
    forced = CliRunner().invoke(app, ["recognize", str(video), "--format", "json", "--no-reject"])
    (ranked,) = json.loads(forced.stdout)["results"]
    assert "no_gloss" not in ranked and len(ranked["predictions"]) == 5
    shown = CliRunner().invoke(app, ["recognize", str(video)])
    assert "no sign" in shown.stdout


def test_a_sign_below_the_calibrated_confidence_is_not_one_the_model_knows(wlasl_dir: Path) -> None:
    recognizer = Recognizer.from_pretrained("wlasl100")
    assert recognizer.min_confidence is not None, "the bundled model carries its calibrated threshold"
    clip = wlasl_dir / "clips" / "65145.mp4"
    best = recognizer.predict(clip, top_k=1)[0]
    recognizer.min_confidence = best.confidence + 0.01
    predictions, no_gloss = recognizer.answer(clip)
    assert predictions == [] and no_gloss is not None and no_gloss.code == "unknown_sign"
    assert "not one of the 100 signs" in no_gloss.message and best.gloss in no_gloss.message
    recognizer.reject = False
    assert recognizer.answer(clip) == (recognizer.predict(clip), None)


def _how2sign(how2sign_dir: Path, extractor: HolisticExtractor, name: str) -> PoseSequence:
    return extractor.extract(how2sign_dir / "clips" / f"{name}.mp4")


def test_hands_clasped_still_at_the_chest_are_resting_and_signing_is_not(
    how2sign_dir: Path, extractor: HolisticExtractor
) -> None:
    """The rest the rest line cannot see: wrists above it, as in signing; only the motion tells."""
    detector = Recognizer.from_pretrained("wlasl100").detector
    assert detector is not None and detector.still_speed is not None, "the default model's detector uses motion"
    for name, ((start, stop), signed) in CLASPED_AT_THE_CHEST.items():
        sequence = _how2sign(how2sign_dir, extractor, name)
        rest = sequence.select_frames(slice(start, stop))
        signing = sequence.select_frames(slice(*signed))
        assert SigningDetector().measure(rest).raised >= 0.9, "the hands are held where signing happens"
        assert not detector.is_signing(rest) and detector.is_signing(signing), name
        assert any(found.start <= start + 4 and found.stop >= stop - 4 for found in still_stretches(sequence, 0.3, 16))


def test_the_default_model_answers_no_sign_for_hands_clasped_at_the_chest(
    how2sign_dir: Path, extractor: HolisticExtractor
) -> None:
    recognizer = Recognizer.from_pretrained("wlasl100")
    for name, ((start, stop), _) in CLASPED_AT_THE_CHEST.items():
        rest = _how2sign(how2sign_dir, extractor, name).select_frames(slice(start, stop))
        predictions, no_gloss = recognizer.answer(rest)
        assert predictions == [] and no_gloss is not None and no_gloss.code == "resting", name


def test_hand_speed_is_in_shoulder_widths_a_second(wlasl_dir: Path, extractor: HolisticExtractor) -> None:
    """A real frame held still has no speed; its right hand carried sideways at 2 shoulder widths a
    second has that speed, whatever the frame rate."""
    frame = _clip(wlasl_dir, extractor, "65145").select_frames(np.arange(20, 21))
    body = normalize(frame.without_face())
    assert body.detected("right_hand").all()
    for fps in (15.0, 30.0):
        still = body.select_frames(np.zeros(int(fps), int)).replace(fps=fps)
        assert np.nanmax(hand_speeds(still)[:, 1]) < 1e-5
        data = still.data.copy()
        hand = body.layout.slice("right_hand")
        for row in [*range(hand.start, hand.stop), BODY_POINTS.index("RIGHT_WRIST")]:
            data[:, row, 0] += 2.0 * np.arange(int(fps)) / fps
        moving = still.replace(data=data)
        np.testing.assert_allclose(hand_speeds(moving)[:, 1], 2.0, rtol=1e-3)
        detector = SigningDetector(still_speed=0.5)
        assert detector.is_signing(moving) and not detector.is_signing(still)


def test_hands_held_at_the_chest_examples_look_like_the_real_rest(keypoints_archive: Path) -> None:
    """``hold_hands`` puts the hands where signing happens, still: the rest line alone takes them for
    signing, the motion does not."""
    data = read_mp_data(keypoints_archive, sequences_per_signer=30)
    shapes = hand_shapes([load_mp_sequence(s.path) for s in data.samples if s.label == "hello"])
    rng = np.random.default_rng(3)
    held = [hold_hands(load_mp_sequence(s.path), shapes, rng) for s in data.samples if s.label == "-"][::6]
    raised = [SigningDetector().measure(sequence).raised for sequence in held]
    assert np.mean([share >= 0.25 for share in raised]) >= 0.9
    assert not any(SigningDetector(still_speed=0.5).is_signing(sequence) for sequence in held)


def test_the_detector_settings_come_from_the_model_folder() -> None:
    detector = SigningDetector.from_config({"still_speed": 0.4})
    assert detector == SigningDetector(rest_line=1.0, min_raised=0.25, still_speed=0.4)
    assert SigningDetector.from_config(detector.settings()) == detector
    assert SigningDetector.from_config(None) == SigningDetector()


def test_the_16_sign_model_answers_idle_for_hands_clasped_at_the_chest(
    how2sign_dir: Path, extractor: HolisticExtractor, keypoints_archive: Path
) -> None:
    """Its detector takes clasped, still hands for rest; its held one-handed signs (a, i) stay signs."""
    recognizer = Recognizer.from_pretrained("traduttore16")
    assert recognizer.detector is not None and recognizer.detector.clasp_speed is not None
    for name, ((start, stop), _) in CLASPED_AT_THE_CHEST.items():
        rest = _how2sign(how2sign_dir, extractor, name).select_frames(slice(start, stop))
        assert recognizer.predict(rest, top_k=1)[0].gloss == "-", name
    data = read_mp_data(keypoints_archive, sequences_per_signer=30)
    held = [load_mp_sequence(s.path) for s in data.samples if s.label in ("a", "i")]
    assert np.mean([recognizer.detector.is_signing(sequence) for sequence in held]) >= 0.99
