"""The no-sign detector on real footage: signers resting with their hands in view (the ends of two WLASL
clips, hands at the waist), with their hands out of view (a How2Sign clip's last seconds), and signing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from signscribe.data import read_mp_data
from signscribe.inference import Recognizer, Transcriber, TranscriptionSettings
from signscribe.pose import HolisticExtractor, PoseCache, PoseSequence, load_mp_sequence
from signscribe.pose.activity import SigningDetector
from signscribe.pose.resting import hand_shapes, rest_hands

# WLASL clips whose last frames show the signer at rest, hands in view at the waist.
RESTING_AT_THE_END = ("10520", "53123")
REST_FRAMES = 12


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
