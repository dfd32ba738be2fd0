"""Readers for the data users have: Kaggle asl-signs landmark files, pre-trimmed WLASL copies, extraction
at a lower frame rate, and clips with nobody in them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import write_video
from signscribe.cli import app
from signscribe.data import open_dataset, read_mp_data
from signscribe.errors import DatasetError, PoseFileError
from signscribe.inference import Recognizer
from signscribe.pose import (
    ExtractionSettings,
    HolisticExtractor,
    load_landmarks,
    load_mp_sequence,
)

SIGNS = ("hello", "thank-you", "water")
KAGGLE_ORDER = ("face", "left_hand", "pose", "right_hand")  # the order of rows within a frame
SIZES = {"face": 468, "left_hand": 21, "pose": 33, "right_hand": 21}


def write_asl_signs_parquet(sequence_folder: Path, path: Path, first_frame: int = 17) -> Path:
    """A real MP_Data sequence (normalised coordinates, 258 values a frame) rewritten in the exact layout
    of Kaggle's asl-signs landmark files: a row per landmark per frame, NaN for parts not found."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    frames = [np.load(f) for f in sorted(sequence_folder.glob("*.npy"), key=lambda f: int(f.stem))]
    columns: dict[str, list] = {name: [] for name in ("frame", "row_id", "type", "landmark_index", "x", "y", "z")}
    for number, vector in enumerate(frames, start=first_frame):
        parts = {
            "pose": vector[:132].reshape(33, 4)[:, :3],
            "left_hand": vector[132:195].reshape(21, 3),
            "right_hand": vector[195:258].reshape(21, 3),
            "face": np.zeros((468, 3)),
        }
        for kind in KAGGLE_ORDER:
            points = parts[kind].astype(np.float64)
            if not np.abs(points).sum():  # not found: NaN, as in the published files
                points = np.full_like(points, np.nan)
            for index, (x, y, z) in enumerate(points):
                for name, value in (("frame", number), ("row_id", f"{number}-{kind}-{index}"), ("type", kind),
                                    ("landmark_index", index), ("x", x), ("y", y), ("z", z)):  # fmt: skip
                    columns[name].append(value)
    table = pa.table({**columns, "frame": pa.array(columns["frame"], pa.int16()),
                      "landmark_index": pa.array(columns["landmark_index"], pa.int16())})  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


@pytest.fixture(scope="module")
def asl_signs_dir(keypoints_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``train.csv``, ``sign_to_prediction_index_map.json`` and ``train_landmark_files/`` with real
    traduttore landmarks of 3 signs by 2 signers (the participants), 3 sequences each."""
    root = tmp_path_factory.mktemp("asl-signs")
    data = read_mp_data(keypoints_archive, sequences_per_signer=30)
    rows = []
    for sample in data.samples:
        number = int(sample.id.split("/")[1])
        if sample.label in SIGNS and sample.signer in ("0", "1") and number % 30 < 3:
            participant = 26734 + int(sample.signer)
            sequence_id = 1000035562 + 1000 * SIGNS.index(sample.label) + number  # unique, as Kaggle's are
            relative = f"train_landmark_files/{participant}/{sequence_id}.parquet"
            write_asl_signs_parquet(sample.path, root / relative)
            rows.append([relative, participant, sequence_id, sample.label])
    with (root / "train.csv").open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["path", "participant_id", "sequence_id", "sign"])
        writer.writerows(rows)
    mapping = {"water": 0, "hello": 1, "thank-you": 2, "blow": 3}
    (root / "sign_to_prediction_index_map.json").write_text(json.dumps(mapping))
    return root


def test_asl_signs_reads_as_published_and_maps_into_our_layout(asl_signs_dir: Path, keypoints_archive: Path) -> None:
    data = open_dataset(f"asl_signs:{asl_signs_dir / 'train.csv'}")
    assert len(data.samples) == 3 * 2 * 3 and not data.missing
    assert data.labels == ["water", "hello", "thank-you", "blow"]  # the index map's order
    assert {s.signer for s in data.samples} == {"26734", "26735"}
    sample = data.samples[0]
    ours = load_landmarks(sample.clip)
    number = (int(sample.path.stem) - 1000035562) % 1000
    original = next(s for s in read_mp_data(keypoints_archive).samples if s.id == f"{sample.label}/{number}")
    reference = load_mp_sequence(original.path)
    assert ours.num_frames == reference.num_frames == 20
    # the same normalised coordinates, on the assumed frame size of each format
    scale = np.array([ours.width / reference.width, ours.height / reference.height], np.float32)
    np.testing.assert_allclose(ours.data[..., :2], reference.data[..., :2] * scale, atol=1e-3)
    np.testing.assert_array_equal(ours.confidence > 0, reference.confidence > 0)  # NaN parts are missing


def test_asl_signs_landmarks_reach_the_model(asl_signs_dir: Path) -> None:
    """The 16-sign model, trained on these very signers' MP_Data, recognises them through the Kaggle layout."""
    out = asl_signs_dir.parent / "asl-signs-report.json"
    result = CliRunner().invoke(app, ["evaluate", "--model", "traduttore16", "--json", str(out),
                                      "--data", f"asl_signs:{asl_signs_dir / 'train.csv'}"])  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["samples"] == 18 and report["top_k"]["top1"] > 0.9
    hello = next(s for s in open_dataset(f"asl_signs:{asl_signs_dir / 'train.csv'}").samples if s.label == "hello")
    assert Recognizer.from_pretrained("traduttore16").predict(hello.path, top_k=1)[0].gloss == "hello"


def test_asl_signs_errors_name_the_file(asl_signs_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "train.csv"
    bad.write_text("path,sign\nx.parquet,hello\n")
    with pytest.raises(DatasetError, match=r"train.csv: line 1: expected the columns path, participant_id"):
        open_dataset(f"asl_signs:{bad}")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    with pytest.raises(PoseFileError, match=r"broken\.parquet: not a readable parquet file"):
        load_landmarks(broken)


def test_pre_trimmed_wlasl_copies_are_detected(wlasl_dir: Path, tmp_path: Path) -> None:
    trimmed_videos = wlasl_dir.parent / "wlasl100" / "videos"
    if not trimmed_videos.is_dir():
        pytest.skip(f"real data not available: {trimmed_videos} is missing")
    json_path = wlasl_dir / "WLASL_v0.3.json"
    data = open_dataset(f"wlasl:{json_path}", videos=trimmed_videos, subset=100)
    assert len(data.samples) == 1780
    assert data.notes and data.notes[0].startswith("a pre-trimmed copy (")
    assert all((s.start_frame, s.end_frame) == (1, -1) for s in data.samples)
    kept = open_dataset(f"wlasl:{json_path}", videos=trimmed_videos, subset=100, trimmed=False)
    assert not kept.notes and any(s.end_frame != -1 for s in kept.samples)
    # the untrimmed originals keep their ranges
    originals = open_dataset(f"wlasl:{json_path}", videos=wlasl_dir / "clips", subset=100)
    assert not originals.notes
    result = CliRunner().invoke(app, ["dataset", "show", f"wlasl:{json_path}", "--videos", str(trimmed_videos),
                                      "--subset", "100"])  # fmt: skip
    assert result.exit_code == 0 and "pre-trimmed" in result.output


def test_only_wlasl_clips_too_short_for_their_range_are_used_whole(wlasl_dir: Path, tmp_path: Path) -> None:
    """Untrimmed originals with ranges inside them, and one clip that ends before its range begins."""
    entries = json.loads((wlasl_dir / "WLASL_v0.3.json").read_text())
    chosen = []
    for entry in entries:
        for instance in entry["instances"]:
            if (wlasl_dir / "clips" / f"{instance['video_id']}.mp4").is_file() and len(chosen) < 3:
                chosen.append({"gloss": entry["gloss"], "instances": [{**instance, "frame_start": 5, "frame_end": 20}]})
    chosen[2]["instances"][0].update(frame_start=900, frame_end=990)
    videos = tmp_path / "videos"
    videos.mkdir()
    for entry in chosen:
        video_id = entry["instances"][0]["video_id"]
        (videos / f"{video_id}.mp4").symlink_to(wlasl_dir / "clips" / f"{video_id}.mp4")
    # and an unreadable clip: it keeps its range, for extraction to report
    chosen.append({"gloss": "broken", "instances": [{**chosen[0]["instances"][0], "video_id": "99999"}]})
    (videos / "99999.mp4").write_bytes(b"not a video")
    json_path = tmp_path / "WLASL_v0.3.json"
    json_path.write_text(json.dumps(chosen))
    data = open_dataset(f"wlasl:{json_path}", videos=videos)
    ranges = {s.label: (s.start_frame, s.end_frame) for s in data.samples}
    assert ranges == {
        chosen[0]["gloss"]: (5, 20),
        chosen[1]["gloss"]: (5, 20),
        chosen[2]["gloss"]: (1, -1),
        "broken": (5, 20),
    }
    assert data.notes == [
        "1 of 4 clips with a frame range are too short to hold it (pre-trimmed): each is used whole; "
        "the others keep their range"
    ]
    everything = open_dataset(f"wlasl:{json_path}", videos=videos, trimmed=True)
    assert all((s.start_frame, s.end_frame) == (1, -1) for s in everything.samples)


def test_extraction_at_a_lower_frame_rate(both_hands_clip: Path, both_hands_pose) -> None:
    half = HolisticExtractor(ExtractionSettings(frame_rate=15)).extract(both_hands_clip)
    assert half.fps == 15 and half.num_frames == pytest.approx(both_hands_pose.num_frames / 2, abs=1)
    assert HolisticExtractor(ExtractionSettings(frame_rate=100)).extract(both_hands_clip).num_frames == (
        both_hands_pose.num_frames
    )
    with pytest.raises(ValueError, match="frame_rate must be positive"):
        ExtractionSettings(frame_rate=0)


def test_a_clip_with_nobody_in_it_says_so(empty_scene_video: Path, tmp_path: Path) -> None:
    tiny = write_video(tmp_path / "black.mp4", [np.zeros((2, 2, 3), np.uint8)] * 10)
    for clip in (empty_scene_video, tiny):
        result = CliRunner().invoke(app, ["recognize", str(clip)])
        assert result.exit_code == 1, result.output
        assert "no signer found" in result.output and "%" not in result.output


def test_a_truncated_archive_is_one_line_and_leaves_nothing(keypoints_archive: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "MP_Data.tar.gz"
    data = keypoints_archive.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    cache = tmp_path / "cache" / "poses"
    for _ in range(2):
        shown = ["dataset", "show", f"mp_data:{truncated}"]
        result = CliRunner().invoke(app, shown, env={"SIGNSCRIBE_CACHE_DIR": str(cache)})
        assert result.exit_code == 2 and "cannot unpack archive: the archive is truncated" in result.output
        assert "Aborted" not in result.output and len(result.output.strip().splitlines()) == 1
    leftovers = [p for p in tmp_path.rglob("*") if p.name.startswith(".unpack-")]
    assert not leftovers and not (tmp_path / "cache" / "archives").exists()  # under the configured dir only
