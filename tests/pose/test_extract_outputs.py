"""Where and how extraction writes: the Kaggle asl-signs layout (read back by ``asl_signs:``, by
Hugging Face ``datasets`` and as the same landmarks as the ``.pose`` files), and an object store's
URL (fsspec's in-memory filesystem standing in for a bucket)."""

from __future__ import annotations

import json
from pathlib import Path

import fsspec
import numpy as np
import pytest
from typer.testing import CliRunner

from signscribe.cli import app
from signscribe.data import open_dataset
from signscribe.errors import SignscribeError
from signscribe.pose import load_landmarks, load_pose
from signscribe.pose.asl_signs import PUBLISHED_ORDER
from signscribe.pose.batch import extract_poses
from signscribe.pose.source import Clip

SIGNERS = {"01586": "11", "21328": "12", "53199": "11"}  # short real WLASL clips, and signers


@pytest.fixture(scope="module")
def labelled_table(wlasl_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A csv: dataset of three real WLASL clips, with their signers."""
    table = tmp_path_factory.mktemp("table") / "clips.csv"
    rows = [
        f"{wlasl_dir / 'clips' / f'{clip}.mp4'},sign{index},{signer}"
        for index, (clip, signer) in enumerate(SIGNERS.items())
    ]
    table.write_text("path,label,signer\n" + "\n".join(rows) + "\n")
    return table


def _extract(table: Path, out: Path | str, output_format: str) -> str:
    result = CliRunner().invoke(
        app, ["extract", "--data", f"csv:{table}", "--out", str(out), "--format", output_format]
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_the_asl_signs_layout_reads_back_as_the_same_landmarks(labelled_table: Path, tmp_path: Path) -> None:
    output = _extract(labelled_table, tmp_path / "kaggle", "asl-signs")
    assert "done 3" in output
    _extract(labelled_table, tmp_path / "poses", "pose")
    data = open_dataset(f"asl_signs:{tmp_path / 'kaggle' / 'train.csv'}")
    assert sorted(s.label for s in data.samples) == ["sign0", "sign1", "sign2"] and not data.missing
    assert {s.signer for s in data.samples} == {"11", "12"}
    assert data.labels == ["sign0", "sign1", "sign2"]  # sign_to_prediction_index_map.json's order
    for sample in data.samples:
        assert sample.path.parent.name == sample.signer
        ours = load_landmarks(sample.clip)
        reference = load_pose(tmp_path / "poses" / f"{sample.path.stem}.pose")
        assert ours.num_frames == reference.num_frames
        np.testing.assert_array_equal(ours.confidence > 0, reference.confidence > 0)  # parts missing alike
        normalised = ours.data[..., :2] / np.array([ours.width, ours.height])
        expected = reference.data[..., :2] / np.array([reference.width, reference.height])
        found = reference.confidence > 0
        np.testing.assert_allclose(normalised[found], expected[found], atol=1e-5)


def test_the_asl_signs_layout_is_the_published_one(labelled_table: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    _extract(labelled_table, tmp_path / "kaggle", "asl-signs")
    lines = (tmp_path / "kaggle" / "train.csv").read_text().splitlines()
    assert lines[0] == "path,participant_id,sequence_id,sign"
    assert sorted(lines[1:])[0] == "train_landmark_files/11/01586.parquet,11,01586,sign0"
    table = pq.read_table(tmp_path / "kaggle" / "train_landmark_files" / "11" / "01586.parquet")
    assert table.column_names == ["frame", "row_id", "type", "landmark_index", "x", "y", "z"]
    assert table.num_rows % 543 == 0  # every frame has face, left hand, pose and right hand rows
    first_frame = table.slice(0, 543).to_pydict()
    expected_types = [name for name, size in PUBLISHED_ORDER.items() for _ in range(size)]
    assert first_frame["type"] == expected_types
    assert first_frame["row_id"][:2] == ["0-face-0", "0-face-1"]
    assert all(np.isnan(first_frame["x"][:468]))  # no face extracted: NaN, as Kaggle writes a part not found


def test_hugging_face_datasets_reads_the_asl_signs_layout(labelled_table: Path, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    _extract(labelled_table, tmp_path / "kaggle", "asl-signs")
    files = sorted(str(p) for p in (tmp_path / "kaggle" / "train_landmark_files").rglob("*.parquet"))
    frames = sum(load_landmarks(Clip(Path(f))).num_frames for f in files)
    rows = datasets.load_dataset("parquet", data_files=files, split="train", cache_dir=str(tmp_path / "hf"))
    assert rows.num_rows == frames * 543 and rows.column_names[:3] == ["frame", "row_id", "type"]
    index = datasets.load_dataset("csv", data_files=str(tmp_path / "kaggle" / "train.csv"), split="train",
                                  cache_dir=str(tmp_path / "hf"))  # fmt: skip
    assert sorted(index["sign"]) == ["sign0", "sign1", "sign2"]


def test_asl_signs_needs_labelled_samples(wlasl_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(SignscribeError, match="give a dataset with labels"):
        extract_poses([wlasl_dir / "clips" / "01586.mp4"], tmp_path / "out", output_format="asl-signs")


def test_extraction_writes_into_an_object_store_as_into_a_folder(wlasl_dir: Path, tmp_path: Path) -> None:
    """The same bytes in a bucket as in a folder; a re-run finds them there and does no work."""
    clips = [wlasl_dir / "clips" / f"{clip}.mp4" for clip in ("01586", "21328")]
    extract_poses(clips, tmp_path / "poses")
    summary = extract_poses(clips, "memory://bucket/poses")
    assert summary.done == 2
    bucket = fsspec.filesystem("memory")
    try:
        for clip in clips:
            assert (
                bucket.cat_file(f"/bucket/poses/{clip.stem}.pose")
                == (tmp_path / "poses" / f"{clip.stem}.pose").read_bytes()
            )
        assert json.loads(bucket.cat_file("/bucket/poses/extract_summary.json"))["done"] == 2
        again = extract_poses(clips, "memory://bucket/poses")
        assert again.done == 0 and again.skipped == 2
    finally:
        bucket.rm("/bucket", recursive=True)


def test_a_store_without_its_package_is_named_before_any_work(wlasl_dir: Path) -> None:
    with pytest.raises(SignscribeError, match=r"s3://bucket/poses: cannot open this location.*s3fs"):
        extract_poses([wlasl_dir / "clips" / "01586.mp4"], "s3://bucket/poses")
