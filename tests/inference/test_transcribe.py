"""Continuous signing: sliding-window transcription, segmentation, subtitles and the annotated video."""

from __future__ import annotations

import json
import re
from pathlib import Path

import av
import numpy as np
import pytest
from typer.testing import CliRunner

from signscribe.cli import app
from signscribe.inference import Transcriber, TranscriptionSettings
from signscribe.inference.subtitles import format_transcript, to_srt, to_vtt
from signscribe.inference.transcribe import Segment, Transcript
from signscribe.io import probe, read_frames
from signscribe.pose import HolisticExtractor, save_pose

# A real How2Sign sentence clip (1280x720, 24 fps, 189 frames): signing, then hands down for 3 s.
SENTENCE_CLIP = "-d5dN54tH2E_0-1-rgb_front.mp4"
SRT_CUE = re.compile(r"(\d+)\n(\d\d):(\d\d):(\d\d),(\d\d\d) --> (\d\d):(\d\d):(\d\d),(\d\d\d)\n(.+)\n")
VTT_CUE = re.compile(r"(\d+)\n(\d\d):(\d\d):(\d\d)\.(\d\d\d) --> (\d\d):(\d\d):(\d\d)\.(\d\d\d)\n(.+)\n")


def _parse_cues(text: str, pattern: re.Pattern[str]) -> list[tuple[float, float, str]]:
    """Strictly parse cues separated by one blank line; anything else fails the test."""
    cues = []
    for block in text.split("\n\n"):
        match = pattern.fullmatch(block if block.endswith("\n") else block + "\n")
        assert match, f"malformed cue: {block!r}"
        h1, m1, s1, ms1, h2, m2, s2, ms2 = (int(g) for g in match.groups()[1:9])
        assert int(match.group(1)) == len(cues) + 1
        cues.append((h1 * 3600 + m1 * 60 + s1 + ms1 / 1000, h2 * 3600 + m2 * 60 + s2 + ms2 / 1000, match.group(10)))
    return cues


@pytest.fixture(scope="module")
def sentence_clip(how2sign_dir: Path) -> Path:
    return how2sign_dir / "clips" / SENTENCE_CLIP


@pytest.fixture(scope="module")
def transcript(sentence_clip: Path) -> Transcript:
    return Transcriber.from_pretrained("traduttore16").transcribe(sentence_clip)


def _assert_timeline(transcript: Transcript, duration: float) -> None:
    assert transcript.segments, "expected a non-empty timeline"
    previous_end = 0.0
    for segment in transcript.segments:
        assert previous_end <= segment.start < segment.end <= duration + 1e-6
        assert 0.5 <= segment.confidence <= 1.0 and segment.gloss != "-"
        previous_end = segment.end


def test_transcript_of_a_real_sentence_clip_is_an_ordered_timeline(transcript: Transcript, sentence_clip: Path) -> None:
    info = probe(sentence_clip)
    assert transcript.frames == info.frame_count == 189
    assert transcript.duration == pytest.approx(info.duration, abs=1 / info.fps)
    # defaults from the model: 20 frames at 30 fps is 0.67 s, so 16 frames at 24 fps, stride a quarter
    assert (transcript.window, transcript.stride) == (16, 4)
    _assert_timeline(transcript, info.duration)
    # the signer's hands are down for the last 3 s of the clip: no sign is reported there
    assert transcript.segments[-1].end < info.duration - 2.5


def test_srt_and_webvtt_of_a_real_transcript_are_valid(transcript: Transcript) -> None:
    expected = [(s.start, s.end, s.gloss) for s in transcript.segments]
    srt = to_srt(transcript)
    assert [(pytest.approx(a, abs=1e-3), pytest.approx(b, abs=1e-3), g) for a, b, g in expected] == _parse_cues(
        srt, SRT_CUE
    )
    vtt = to_vtt(transcript)
    assert vtt.startswith("WEBVTT\n\n")
    assert len(_parse_cues(vtt.removeprefix("WEBVTT\n\n"), VTT_CUE)) == len(expected)
    assert json.loads(format_transcript(transcript, "json"))["segments"][0]["gloss"] == transcript.segments[0].gloss


def test_subtitle_timestamps_past_an_hour() -> None:
    transcript = Transcript("long.mp4", 4000.0, 96000, 24.0, 16, 4, [Segment(3725.5, 3726.25, "hello", 0.9)])
    assert to_srt(transcript) == "1\n01:02:05,500 --> 01:02:06,250\nhello\n"
    assert to_vtt(transcript) == "WEBVTT\n\n1\n01:02:05.500 --> 01:02:06.250\nhello\n"


def test_streamed_segments_equal_the_whole_transcript(transcript: Transcript, sentence_clip: Path) -> None:
    assert list(Transcriber.from_pretrained("traduttore16").segments(sentence_clip)) == transcript.segments


def test_still_hands_and_no_hands_give_no_segments(both_hands_pose) -> None:
    transcriber = Transcriber.from_pretrained("traduttore16")
    still = both_hands_pose.replace(data=np.repeat(both_hands_pose.data[:1], 60, axis=0),
                                    confidence=np.repeat(both_hands_pose.confidence[:1], 60, axis=0))  # fmt: skip
    rested = transcriber.transcribe(still)
    assert rested.segments == [] and "hands are not raised and moving in any of the" in rested.why_empty()
    confidence = both_hands_pose.confidence.copy()
    confidence[:, 33:] = 0  # both hands gone
    assert transcriber.transcribe(both_hands_pose.replace(confidence=confidence)).segments == []
    nobody = transcriber.transcribe(both_hands_pose.replace(confidence=np.zeros_like(confidence)))
    assert nobody.why_empty() == "no signer was found in any frame"
    # the same landmarks with the hands kept do produce a sign
    moving = transcriber.transcribe(both_hands_pose)
    _assert_timeline(moving, both_hands_pose.duration)


def test_min_confidence_filters_segments(both_hands_pose) -> None:
    everything = Transcriber.from_pretrained("traduttore16", TranscriptionSettings(min_confidence=0.0))
    segments = everything.transcribe(both_hands_pose).segments
    assert segments
    strict = Transcriber.from_pretrained("traduttore16", TranscriptionSettings(min_confidence=1.0))
    dropped = strict.transcribe(both_hands_pose)
    assert dropped.segments == [s for s in segments if s.confidence >= 1.0] == []
    assert set(dropped.candidates) == set(segments)  # what was dropped, best first, is said
    assert [c.confidence for c in dropped.candidates] == sorted((s.confidence for s in segments), reverse=True)
    best = dropped.candidates[0]
    assert f"the best were {best.gloss} {best.start:.1f}-{best.end:.1f} s" in dropped.why_empty()
    assert everything.transcribe(both_hands_pose).why_empty() == ""


def test_window_and_stride_options_and_their_validation(both_hands_pose) -> None:
    transcriber = Transcriber.from_pretrained("traduttore16", TranscriptionSettings(window=10, stride=5))
    result = transcriber.transcribe(both_hands_pose)
    assert (result.window, result.stride, result.frames) == (10, 5, both_hands_pose.num_frames)
    with pytest.raises(ValueError, match="window must be at least 2"):
        TranscriptionSettings(window=1)
    with pytest.raises(ValueError, match="stride must be at least 1"):
        TranscriptionSettings(stride=0)
    # a clip shorter than one window still gets one window
    short = Transcriber.from_pretrained("traduttore16", TranscriptionSettings(window=500)).transcribe(both_hands_pose)
    assert short.frames == both_hands_pose.num_frames


@pytest.mark.slow
def test_cli_transcribe_writes_subtitles_and_an_annotated_copy(sentence_clip: Path, tmp_path: Path) -> None:
    """Subtitles on stdout (as ``> clip.vtt`` keeps them), nothing else there: "wrote" goes to stderr."""
    annotated = tmp_path / "annotated.mp4"
    args = ["transcribe", sentence_clip, "-m", "traduttore16", "--format", "vtt", "--annotate", annotated]
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("WEBVTT\n\n") and f"wrote {annotated}" in result.stderr
    cues = _parse_cues(result.stdout.removeprefix("WEBVTT\n\n"), VTT_CUE)
    assert cues and all(start < end <= 7.875 for start, end, _ in cues)
    source, copy = probe(sentence_clip), probe(annotated)
    assert (copy.frame_count, copy.width, copy.height, copy.codec) == (source.frame_count, 1280, 720, "h264")
    assert sum(1 for _ in read_frames(annotated)) == source.frame_count  # playable to the end
    # the caption box is drawn at the bottom centre while the first cue is on screen
    frame = next(f for f in read_frames(annotated) if f.time >= (cues[0][0] + cues[0][1]) / 2)
    original = next(f for f in read_frames(sentence_clip) if f.index == frame.index)
    bottom = (slice(650, 720), slice(540, 740))
    assert np.abs(frame.image[bottom].astype(int) - original.image[bottom]).mean() > 20
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_transcribe_at_a_lower_frame_rate_still_annotates_every_frame(sentence_clip: Path, tmp_path: Path) -> None:
    """``--fps 12`` on a 24 fps clip, extracted in two parts at once (``--workers 2``): landmarks of every
    second frame, none lost or repeated where the parts meet; the copy keeps every frame."""
    out, annotated = tmp_path / "t.json", tmp_path / "annotated.mp4"
    args = ["transcribe", sentence_clip, "-m", "traduttore16", "--fps", 12, "--workers", 2, "--out", out,
            "--annotate", annotated]  # fmt: skip
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    source, body = probe(sentence_clip), json.loads(out.read_text())
    assert body["fps"] == 12 and abs(body["frames"] - source.frame_count / 2) <= 1
    assert body["window"] == round(20 / 30 * 12)  # the model's 20 frames at 30 fps, as frames at 12 fps
    assert probe(annotated).frame_count == source.frame_count
    full_rate = Transcriber.from_pretrained("traduttore16").transcribe(sentence_clip)
    assert full_rate.fps == source.fps and full_rate.frames == source.frame_count


def test_cli_transcribe_table_and_bad_input(both_hands_pose, tmp_path: Path, audio_only_file: Path) -> None:
    pose_file = save_pose(both_hands_pose, tmp_path / "clip.pose")
    runner = CliRunner()
    result = runner.invoke(app, ["transcribe", str(pose_file), "-m", "traduttore16"])
    assert result.exit_code == 0, result.output
    assert "segments in" in result.output and "confidence" in result.output
    result = runner.invoke(app, ["transcribe", str(pose_file), "-m", "traduttore16", "--format", "srt"])
    assert result.exit_code == 0 and _parse_cues(result.stdout, SRT_CUE)
    result = runner.invoke(app, ["transcribe", str(pose_file), "--annotate", str(tmp_path / "a.mp4")])
    assert result.exit_code == 2 and "give a video, not a .pose file" in result.output
    result = runner.invoke(app, ["transcribe", str(pose_file), "--format", "docx"])
    assert result.exit_code == 2 and "--format must be one of table, json, srt, vtt" in result.output
    result = runner.invoke(app, ["transcribe", str(audio_only_file)])
    assert result.exit_code == 2 and f"{audio_only_file}: has no video stream" in result.output
    result = runner.invoke(app, ["transcribe", str(tmp_path / "missing.mp4")])
    assert result.exit_code == 2 and "missing.mp4: file not found" in result.output


def test_transcriber_reads_the_same_landmarks_as_the_extractor(sentence_clip: Path, transcript: Transcript) -> None:
    """The streamed graph and whole-clip extraction see the same frames, so a .pose file of the
    clip gives the same transcript as the video."""
    sequence = HolisticExtractor().extract(sentence_clip)
    from_pose = Transcriber.from_pretrained("traduttore16").transcribe(sequence)
    assert [s.gloss for s in from_pose.segments] == [s.gloss for s in transcript.segments]


def test_annotating_a_1x1_video_is_a_clear_error(tmp_path: Path) -> None:
    video = tmp_path / "one.mkv"
    with av.open(str(video), "w") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width = stream.height = 1
        stream.pix_fmt = "yuv444p"
        for _ in range(10):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.zeros((1, 1, 3), np.uint8), format="rgb24")))
        container.mux(stream.encode())
    result = CliRunner().invoke(app, ["transcribe", str(video), "--annotate", str(tmp_path / "out.mp4")])
    assert result.exit_code == 2 and "1x1 is too small to annotate" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.mkv"]


def test_transcribing_a_video_again_reads_its_landmarks_from_the_cache(
    sentence_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Re-running transcribe to try other thresholds does not run MediaPipe again; an empty transcript
    says why, with the best candidates."""
    import signscribe.pose.source

    monkeypatch.setenv("SIGNSCRIBE_CACHE_DIR", str(tmp_path / "cache"))
    arguments = ["transcribe", str(sentence_clip), "-m", "traduttore16", "--format", "json", "--min-confidence"]
    first = CliRunner().invoke(app, [*arguments, "0.99"])
    assert first.exit_code == 0, first.output
    assert "no segments: no segment reached the minimum confidence" in first.stderr
    assert len(list((tmp_path / "cache").rglob("*.pose"))) == 1

    def no_graph(*args: object, **kwargs: object) -> None:
        raise AssertionError("MediaPipe ran again")

    monkeypatch.setattr(signscribe.pose.source, "HolisticStream", no_graph)
    again = CliRunner().invoke(app, [*arguments, "0.3"])
    assert again.exit_code == 0, again.output
    merged = json.loads(first.stdout)["segments"] + json.loads(first.stdout)["candidates"]
    assert [s["gloss"] for s in json.loads(again.stdout)["segments"]] == [
        c["gloss"] for c in sorted(merged, key=lambda c: c["start"]) if c["confidence"] >= 0.3
    ]
