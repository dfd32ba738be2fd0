from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from signscribe.data import (
    open_dataset,
    parse_spec,
    read_csv,
    read_how2sign,
    read_mp_data,
    read_pose_folder,
    read_wlasl,
)
from signscribe.errors import DatasetError, PoseFileError
from signscribe.pose import load_mp_sequence, normalize


def test_wlasl_full_metadata(wlasl_dir: Path) -> None:
    data = read_wlasl(wlasl_dir / "WLASL_v0.3.json", videos=wlasl_dir / "clips")
    assert len(data.samples) + len(data.missing) == 21083
    assert len(data.labels) == 2000 and data.labels[:3] == ["book", "drink", "computer"]
    assert len(data.samples) == 138  # the clips present here; the rest are counted as missing
    sample = next(s for s in data.samples if s.id == "01586")
    assert sample.label == "agreement" and sample.split == "train" and sample.path.name == "01586.mp4"
    assert sample.end_frame == -1 and sample.start_frame == 1 and sample.bbox is not None
    assert sample.signer is not None


def test_wlasl_subset_100_as_published(wlasl_dir: Path) -> None:
    data = read_wlasl(wlasl_dir / "WLASL_v0.3.json", videos=wlasl_dir / "clips", subset=100)
    every = data.samples + data.missing
    assert len(every) == 2038
    splits = {split: sum(s.split == split for s in every) for split in ("train", "val", "test")}
    assert splits == {"train": 1442, "val": 338, "test": 258}
    assert len(data.labels) == 100 and data.labels[0] == "book"
    nslt = json.loads((wlasl_dir / "nslt_100.json").read_text())
    sample = next(s for s in every if s.id == "69422")
    assert (sample.label, sample.start_frame, sample.end_frame) == (data.labels[27], 1, nslt["69422"]["action"][2])


def test_wlasl_malformed_json_names_file_line_and_key(tmp_path: Path) -> None:
    broken = tmp_path / "WLASL_v0.3.json"
    broken.write_text('[\n  {"gloss": "book",\n   "instances": [\n')
    with pytest.raises(DatasetError, match=r"WLASL_v0.3.json: invalid JSON at line 4"):
        read_wlasl(broken)
    broken.write_text(json.dumps([{"gloss": "book", "instances": [{"video_id": "1", "split": "train"}]}]))
    with pytest.raises(DatasetError, match=r"entry 0 \(book\) instance 0: missing key 'frame_start'"):
        read_wlasl(broken)
    broken.write_text(json.dumps({"gloss": "book"}))
    with pytest.raises(DatasetError, match="expected a list of glosses"):
        read_wlasl(broken)


def test_how2sign_val_csv(how2sign_dir: Path) -> None:
    data = read_how2sign(how2sign_dir / "how2sign_realigned_val.csv", videos=how2sign_dir / "clips")
    assert len(data.samples) + len(data.missing) == 1741
    assert len(data.samples) == 24
    sample = data.samples[0]
    assert sample.split == "val" and sample.start_time is None  # a sentence clip is used whole
    assert sample.label.startswith("We're going to work on a arm drill") and not sample.label.endswith("\r")


def test_how2sign_full_videos_are_cut_by_start_and_end(how2sign_dir: Path, tmp_path: Path) -> None:
    clip = how2sign_dir / "clips" / "-d5dN54tH2E_0-1-rgb_front.mp4"
    (tmp_path / "-d5dN54tH2E-1-rgb_front.mp4").symlink_to(clip)
    data = read_how2sign(how2sign_dir / "how2sign_realigned_val.csv", videos=tmp_path)
    cut = [s for s in data.samples if s.id.startswith("-d5dN54tH2E_")]
    assert len(cut) == len(data.samples) == 16
    first = next(s for s in cut if s.id == "-d5dN54tH2E_0-1-rgb_front")
    assert (first.start_time, first.end_time) == (12.97, 19.52)


def test_how2sign_malformed_csv_names_line(tmp_path: Path) -> None:
    header = "VIDEO_ID\tVIDEO_NAME\tSENTENCE_ID\tSENTENCE_NAME\tSTART_REALIGNED\tEND_REALIGNED\tSENTENCE\r\n"
    bad = tmp_path / "how2sign_realigned_val.csv"
    bad.write_text(header + "a\tb\tc\td\t1.0\t2.0\tHello.\r\na\tb\tc\td\tsoon\t2.0\tHi.\r\n", newline="")
    with pytest.raises(DatasetError, match="line 3: START_REALIGNED 'soon' is not a number"):
        read_how2sign(bad)
    bad.write_text(header + "a\tb\tc\td\t1.0\r\n", newline="")
    with pytest.raises(DatasetError, match="line 2: expected 7 tab-separated fields, got 5"):
        read_how2sign(bad)
    bad.write_text("path,label\nx.mp4,hello\n")
    with pytest.raises(DatasetError, match="line 1: expected the tab-separated columns"):
        read_how2sign(bad)


def test_mp_data_archive_in_our_layout(keypoints_archive: Path) -> None:
    data = read_mp_data(keypoints_archive)
    assert len(data.labels) == 16 and "-" in data.labels and "thank-you" in data.labels
    per_label = {label: [s for s in data.samples if s.label == label] for label in data.labels}
    assert {len(samples) for samples in per_label.values()} == {90}
    assert [s.id for s in per_label["hello"][:3]] == ["hello/0", "hello/1", "hello/2"]
    for sample in per_label["hello"][::15]:
        pose = load_mp_sequence(sample.path)
        assert pose.data.shape == (20, 75, 3) and pose.layout.components == ("pose", "left_hand", "right_hand")
        assert pose.detection_rates()["pose"] == 1.0
        assert pose.detection_rates()["right_hand"] + pose.detection_rates()["left_hand"] > 0
        assert 0 <= pose.data[..., 0].max() <= 640 * 1.5 and pose.data[..., 1][pose.confidence > 0].min() > -240


def test_an_archive_unpacked_by_another_process_meanwhile_is_used(keypoints_archive: Path, tmp_path, monkeypatch):
    """Two test workers (or two trainings) reading one archive at once: the one that finishes second
    finds the folder in place and uses it (it once failed with "Directory not empty")."""
    import tarfile

    from signscribe.data.mp_data import unpack_archive

    monkeypatch.setenv("SIGNSCRIBE_CACHE_DIR", str(tmp_path / "cache"))
    target = unpack_archive(keypoints_archive)
    aside = target.rename(tmp_path / "theirs")
    extract = tarfile.TarFile.extractall

    def others_finish_first(bundle, *args, **kwargs) -> None:
        extract(bundle, *args, **kwargs)
        aside.rename(target)

    monkeypatch.setattr(tarfile.TarFile, "extractall", others_finish_first)
    assert unpack_archive(keypoints_archive) == target and target.is_dir()
    assert [path.name for path in target.parent.iterdir()] == [target.name]  # ours was removed


def test_mp_data_and_extractor_agree_after_normalisation(keypoints_archive: Path, both_hands_pose) -> None:
    sample = read_mp_data(keypoints_archive).samples[200]
    theirs, ours = normalize(load_mp_sequence(sample.path)), normalize(both_hands_pose)
    assert theirs.data.shape[1:] == ours.data.shape[1:]
    for pose in (theirs, ours):
        shoulders = pose.data[:, [11, 12], :2]
        assert np.median(np.linalg.norm(shoulders[:, 0] - shoulders[:, 1], axis=1)) == pytest.approx(1, abs=0.05)
        assert np.abs(pose.data[..., :2]).max() < 6  # within a few shoulder widths


def _write_sequence(folder: Path, vectors: list[np.ndarray]) -> Path:
    folder.mkdir(parents=True)
    for index, vector in enumerate(vectors):
        np.save(folder / f"{index}.npy", vector)
    return folder


def test_mp_data_frame_sizes_are_detected(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    full = rng.uniform(0.2, 0.8, 1662)
    face = _write_sequence(tmp_path / "MP_Data" / "hi" / "0", [full] * 3)
    pose = load_mp_sequence(face, include_face=True)
    assert pose.data.shape == (3, 543, 3)
    np.testing.assert_allclose(pose.data[0, 75, :2], full[132:134] * [640, 480], rtol=1e-6)  # first face point
    np.testing.assert_allclose(pose.data[0, 33, :2], full[1536:1538] * [640, 480], rtol=1e-6)  # left wrist
    hands = np.concatenate([np.zeros(63), rng.uniform(0.2, 0.8, 63)])
    only_hands = load_mp_sequence(_write_sequence(tmp_path / "MP_Data" / "hi" / "1", [hands] * 2))
    assert only_hands.detection_rates() == {"pose": 0.0, "left_hand": 0.0, "right_hand": 1.0}
    with pytest.raises(PoseFileError, match="hold no face landmarks"):
        load_mp_sequence(tmp_path / "MP_Data" / "hi" / "1", include_face=True)
    assert len(read_mp_data(tmp_path).samples) == 2


def test_mp_data_bad_frames_are_named(tmp_path: Path) -> None:
    odd = _write_sequence(tmp_path / "a" / "0", [np.zeros(258), np.zeros(100)])
    with pytest.raises(PoseFileError, match=r"1.npy: 100 values a frame; expected one of \[126, 258, 1662\]"):
        load_mp_sequence(odd)
    mixed = _write_sequence(tmp_path / "a" / "1", [np.zeros(258), np.zeros(126)])
    with pytest.raises(PoseFileError, match=r"1\.npy: 126 values a frame, but 0\.npy has 258"):
        load_mp_sequence(mixed)
    (tmp_path / "a" / "2").mkdir()
    (tmp_path / "a" / "2" / "0.npy").write_text("nonsense")
    with pytest.raises(PoseFileError, match=r"not a readable \.npy"):
        load_mp_sequence(tmp_path / "a" / "2")
    with pytest.raises(DatasetError, match="no MP_Data layout"):
        read_mp_data(tmp_path / "a" / "2")


def test_csv_reader(tmp_path: Path, wlasl_dir: Path) -> None:
    table = tmp_path / "mine.csv"
    clip = wlasl_dir / "clips" / "01586.mp4"
    table.write_text(f"path,label,start,end,split,signer\n{clip},all,0.5,1.5,train,7\nlost.mp4,book,,,test,\n")
    data = read_csv(table)
    assert len(data.samples) == 1 and len(data.missing) == 1
    sample = data.samples[0]
    assert (sample.label, sample.start_time, sample.end_time, sample.split, sample.signer) == (
        "all",
        0.5,
        1.5,
        "train",
        "7",
    )
    assert data.missing[0].path == tmp_path / "lost.mp4"
    sentences = tmp_path / "sentences.csv"
    sentences.write_text(f'path,sentence\n{clip},"Hello, how are you?"\n')
    assert [s.label for s in read_csv(sentences).samples] == ["Hello, how are you?"]
    sentences.write_text(f"path,sentence\n{clip},\n")
    with pytest.raises(DatasetError, match="line 2: empty sentence"):
        read_csv(sentences)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("file,label\nx.mp4,a\n", r"line 1: header \['file', 'label'\] lacks column\(s\) \['path'\]"),
        ("path,label,start\nx.mp4,a,soon\n", "line 2: start 'soon' is not a number"),
        ("path,label\nx.mp4,a\ny.mp4\n", "line 3: expected 2 fields"),
        ("path,label\nx.mp4,a,extra\n", "line 2: expected 2 fields"),
        ("path,label\n,a\n", "line 2: empty path"),
        ("path,label,start,end\nx.mp4,a,3,2\n", "line 2: end 2.0 is not after start 3.0"),
    ],
)
def test_malformed_csv_names_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    table = tmp_path / "bad.csv"
    table.write_text(text)
    with pytest.raises(DatasetError, match=message) as caught:
        read_csv(table)
    assert str(table) in str(caught.value)


def test_a_csv_with_columns_of_its_own_reads_and_names_them(tmp_path: Path) -> None:
    """A spreadsheet's notes or source column is left alone, and the dataset's notes say so."""
    table = tmp_path / "mine.csv"
    table.write_text("path,label,notes,source\nx.mp4,a,second take,phone\ny.mp4,b,,webcam\n")
    data = open_dataset(f"csv:{table}")
    assert [sample.label for sample in data.samples + data.missing] == ["a", "b"]
    read = "path, label, start, end, split, signer"
    assert data.notes == [f"mine.csv: column(s) ['notes', 'source'] ignored (read: {read})"]


def test_dataset_specs(wlasl_dir: Path) -> None:
    assert parse_spec("csv:/data/x.csv") == ("csv", Path("/data/x.csv"))
    with pytest.raises(ValueError, match="unknown dataset kind 'kinetics'"):
        parse_spec("kinetics:/x")
    with pytest.raises(ValueError, match="KIND:PATH"):
        parse_spec("wlasl")
    with pytest.raises(ValueError, match="--subset applies to wlasl only, not csv"):
        open_dataset("csv:x.csv", subset=100)
    with pytest.raises(TypeError, match="unknown option 'subsets'; known: glosses, sequences_per_signer, subset"):
        open_dataset("csv:x.csv", subsets=100)
    data = open_dataset(f"wlasl:{wlasl_dir / 'WLASL_v0.3.json'}", videos=wlasl_dir / "clips", subset=300)
    assert len(data.labels) == 300


def test_pose_folder_labels_from_text_files_or_sub_folders(both_hands_pose, tmp_path: Path) -> None:
    """Sentences (How2Sign) sit in a .txt beside each .pose file; glosses may be sub-folders."""
    from signscribe.pose import save_pose

    save_pose(both_hands_pose, tmp_path / "a.pose")
    (tmp_path / "a.txt").write_text("And just let those fingers relax.\n", encoding="utf-8")
    save_pose(both_hands_pose, tmp_path / "agreement" / "b.pose")
    data = read_pose_folder(tmp_path)
    assert [(s.id, s.label) for s in data.samples] == [
        ("a", "And just let those fingers relax."),
        ("agreement/b", "agreement"),
    ]
    save_pose(both_hands_pose, tmp_path / "c.pose")
    with pytest.raises(DatasetError, match=r"c\.pose: no \.txt label beside it and no label sub-folder"):
        read_pose_folder(tmp_path)
    (tmp_path / "c.txt").write_text("  \n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"c\.txt: empty label"):
        read_pose_folder(tmp_path)


def test_a_gloss_list_selects_a_subset_of_any_dataset(wlasl100_csv: Path, wlasl_dir: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from signscribe.cli import app
    from signscribe.data import read_glosses
    from signscribe.training import TrainConfig
    from signscribe.training.splits import split_samples

    shipped = read_glosses("wlasl100")
    assert len(shipped) == 100 and shipped[:3] == ["book", "drink", "computer"]  # WLASL's class order
    assert len(read_glosses("wlasl300")) == 300 and read_glosses("wlasl300")[:100] == shipped
    whole = open_dataset(f"csv:{wlasl100_csv}", glosses="wlasl100")
    assert len(whole) == 1780 and whole.labels == shipped

    glossary = tmp_path / "glossary.txt"
    glossary.write_text("# a user's glossary\nthin\n\nbook\nnot-a-wlasl-word\n")
    chosen = open_dataset(f"csv:{wlasl100_csv}", glosses=glossary)
    assert chosen.labels == ["thin", "book"] and {s.label for s in chosen.samples} == {"thin", "book"}
    assert "1 of the 3 listed glosses have no samples: not-a-wlasl-word" in chosen.notes[-1]
    labels, train, val = split_samples(TrainConfig(data=f"csv:{wlasl100_csv}", glosses=str(glossary)), stratify=True)
    assert labels == ["thin", "book"] and {s.label for s in train + val} == {"thin", "book"}
    wlasl = open_dataset(f"wlasl:{wlasl_dir / 'WLASL_v0.3.json'}", videos=wlasl_dir / "clips", subset=300,
                         glosses="wlasl100")  # fmt: skip
    assert set(wlasl.labels) <= set(shipped) and all(s.label in shipped for s in wlasl.samples + wlasl.missing)

    listed = CliRunner().invoke(app, ["dataset", "show", f"csv:{wlasl100_csv}", "--glosses", str(glossary)])
    assert listed.exit_code == 0 and "2 labels" in listed.output
    glossary.write_text("book\nbook\n")
    with pytest.raises(DatasetError, match=r"repeated glosses \['book'\]"):
        read_glosses(glossary)
    with pytest.raises(DatasetError, match="gloss list not found"):
        read_glosses(tmp_path / "none.txt")


def test_each_kind_declares_the_options_its_reader_takes() -> None:
    """The registry names the readers without importing them; what it says of each must be true."""
    import inspect

    from signscribe.data import dataset_kind, dataset_kinds
    from signscribe.data.options import dataset_option_names

    for kind in dataset_kinds():
        entry = dataset_kind(kind)
        assert set(list(inspect.signature(entry.load()).parameters)[1:]) == set(entry.options), kind
        assert set(entry.options) <= set(dataset_option_names()), kind


def test_a_training_config_hands_on_only_its_dataset_options() -> None:
    from signscribe.training.config import TrainConfig

    config = TrainConfig(data="csv:x.csv", videos="clips", subset=100, seed=3, split_by="signer")
    assert config.dataset_options() == {"videos": "clips", "subset": 100}


def test_a_kind_registered_by_name_is_imported_when_read_and_takes_its_own_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from signscribe.data import kinds

    (tmp_path / "lines_reader.py").write_text(
        "from pathlib import Path\n"
        "from signscribe.data.dataset import Sample, partition\n"
        "def read_lines(path, repeat=None):\n"
        "    labels = Path(path).read_text().split() * (repeat or 1)\n"
        "    return partition('lines', Path(path), [Sample(str(i), Path(path), x) for i, x in enumerate(labels)])\n"
    )
    (tmp_path / "signs.txt").write_text("hello no\n")
    (tmp_path / "hello.txt").write_text("hello\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(kinds, "_KINDS", dict(kinds._KINDS))
    kinds.register_dataset_kind("test_lines", "lines_reader:read_lines", options=("repeat",))
    assert "lines_reader" not in sys.modules and "test_lines" in kinds.dataset_kinds()
    data = open_dataset(f"test_lines:{tmp_path / 'signs.txt'}", repeat=2, glosses=tmp_path / "hello.txt")
    assert [sample.label for sample in data.samples] == ["hello", "hello"] and data.labels == ["hello"]
    with pytest.raises(ValueError, match="--repeat applies to test_lines only, not csv"):
        open_dataset("csv:x.csv", repeat=2)
    with pytest.raises(ValueError, match="registered twice"):
        kinds.register_dataset_kind("test_lines", "lines_reader:read_lines")
