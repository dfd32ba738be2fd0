from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from signscribe import __version__
from signscribe.cli import app
from signscribe.pose import load_pose

runner = CliRunner()
CLIP_IDS = ("01586", "01065", "04897")
MODELS = Path(__file__).resolve().parents[2] / "src" / "signscribe" / "models" / "bundled"


def _run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_version() -> None:
    result = _run("--version")
    assert result.exit_code == 0 and result.output.strip() == f"signscribe {__version__}"


HELPED = [[], ["probe"], ["dataset"], ["dataset", "init"], ["download", "wlasl"], ["prepare", "how2sign"], ["extract"]]


@pytest.mark.parametrize("command", HELPED)
def test_every_command_has_help(command: list[str]) -> None:
    result = _run(*command, "--help")
    assert result.exit_code == 0 and "Usage" in result.output


def test_help_keeps_square_brackets() -> None:
    """Rich reads ``[tflite]`` as markup and drops it unless it is escaped."""
    result = runner.invoke(app, ["export", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "(the [tflite] extra)" in result.output


def test_probe_prints_metadata(wlasl_dir: Path) -> None:
    result = _run("probe", wlasl_dir / "clips" / "01065.mp4")
    assert result.exit_code == 0
    assert "1920" in result.output and "23.976" in result.output and "34" in result.output


def test_probe_bad_file_is_a_clear_error(tmp_path: Path) -> None:
    result = _run("probe", tmp_path / "missing.mp4")
    assert result.exit_code == 2 and "missing.mp4: file not found" in result.output


def test_dataset_summary(wlasl_dir: Path) -> None:
    result = _run(
        "dataset", "show", f"wlasl:{wlasl_dir / 'WLASL_v0.3.json'}", "--videos", wlasl_dir / "clips", "--subset", "100"
    )
    assert result.exit_code == 0, result.output
    assert "100 labels" in result.output and "missing" in result.output


def test_a_dataset_without_splits_says_so(tmp_path: Path, wlasl_dir: Path) -> None:
    table = tmp_path / "mine.csv"
    table.write_text(f"path,label\n{wlasl_dir / 'clips' / '01586.mp4'},hello\n")
    result = _run("dataset", "show", f"csv:{table}")
    assert result.exit_code == 0 and "(none given)" in result.output and "None" not in result.output


def test_help_at_80_columns_keeps_every_option_and_command_whole() -> None:
    """Rich's tables cut long option names and showed <bool> for flags; the plain help does neither."""
    train = runner.invoke(app, ["train", "--help"], env={"COLUMNS": "80"}).output
    assert "--sequences-per-signer" in train and "--freeze-encoder / --no-freeze-encoder" in train
    assert "<bool>" not in train and "…" not in train
    listing = " ".join(runner.invoke(app, ["--help"], env={"COLUMNS": "80"}).output.split())
    assert "probe Show a video's fps, frame count, duration, resolution and codec" in listing
    assert "…" not in listing and ",..." not in listing


def test_model_names_are_case_blind_and_a_near_miss_is_suggested() -> None:
    assert "signscribe wlasl100" in _run("models", "WLASL100").output
    assert "signscribe wlasl100" in _run("models", "Default").output
    result = _run("models", "wlasl10")
    assert result.exit_code == 2
    assert "no such model folder; did you mean 'wlasl100'? bundled models: default, wlasl100" in result.output


def test_models_name_shows_its_glosses_and_the_figures_of_its_card() -> None:
    labels = json.loads((MODELS / "traduttore16" / "labels.json").read_text())
    result = runner.invoke(app, ["models", "traduttore16"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "pose_transformer" in result.output and "landmarks" in result.output and "thank-you" in result.output
    assert "Leave-one-signer-out accuracy" in result.output and "99.5%" in result.output
    assert "The whole card:" in result.output
    listed = _run("models", "default", "--labels")
    assert listed.stdout.splitlines() == json.loads((MODELS / "wlasl100" / "labels.json").read_text())
    assert len(labels) == 16 and _run("models", "--labels").exit_code == 2


@pytest.fixture
def clip_folder(tmp_path: Path, wlasl_dir: Path) -> Path:
    folder = tmp_path / "clips"
    (folder / "more").mkdir(parents=True)
    for clip in CLIP_IDS[:2]:
        shutil.copy(wlasl_dir / "clips" / f"{clip}.mp4", folder)
    shutil.copy(wlasl_dir / "clips" / f"{CLIP_IDS[2]}.mp4", folder / "more")
    (folder / "broken.mp4").write_text("not a video at all")
    return folder


def test_extract_folder_with_workers_is_resumable(clip_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "poses"
    result = _run("extract", clip_folder, "--out", out, "--workers", "2")
    assert result.exit_code == 0, result.output
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.pose"))
    assert written == ["01065.pose", "01586.pose", "more/04897.pose"]
    assert "done 3, skipped 0 (already extracted), failed 1" in result.output
    assert "broken.mp4: not a readable video" in result.output
    summary = json.loads((out / "extract_summary.json").read_text())
    assert summary["done"] == 3 and summary["failed"] == 1 and summary["frames"] > 100
    assert 0.9 < summary["shares"]["pose"] <= 1 and 0.3 < summary["shares"]["right_hand"] <= 1
    pose = load_pose(out / "01586.pose")
    assert pose.detection_rates()["left_hand"] > 0.5

    again = _run("extract", clip_folder, "--out", out, "--workers", "2")
    assert "done 0, skipped 3 (already extracted), failed 1" in again.output


def test_extract_reports_video_without_person(empty_scene_video: Path, tmp_path: Path) -> None:
    result = _run("extract", empty_scene_video, "--out", tmp_path / "out", "--no-cache")
    assert result.exit_code == 1
    assert "no person detected in any of 50 frames" in result.output
    assert not (tmp_path / "out" / "empty_scene.pose").exists()


def test_extract_dataset_from_csv_with_time_range(tmp_path: Path, wlasl_dir: Path) -> None:
    table = tmp_path / "mine.csv"
    table.write_text(f"path,label,start,end\n{wlasl_dir / 'clips' / '01586.mp4'},all,0.5,1.0\n")
    out = tmp_path / "poses"
    result = _run("extract", "--data", f"csv:{table}", "--out", out)
    assert result.exit_code == 0, result.output
    pose = load_pose(out / "01586@0.5.pose")
    assert pose.num_frames == pytest.approx(15, abs=1)


def test_extract_mp_data_converts_to_pose_files(tmp_path: Path, keypoints_archive: Path) -> None:
    out = tmp_path / "poses"
    (tmp_path / "two.txt").write_text("hello\nno\n")
    arguments = ["--data", f"mp_data:{keypoints_archive}", "--glosses", tmp_path / "two.txt", "--workers", "2"]
    result = _run("extract", *arguments, "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(folder.name for folder in out.iterdir() if folder.is_dir()) == ["hello", "no"]
    assert len(list(out.rglob("*.pose"))) == 2 * 90
    assert load_pose(out / "hello" / "0.pose").num_frames == 20


def _data_commands() -> dict[str, set[str]]:
    """Every command (in groups too) that reads a dataset, with the names of its parameters."""
    from typer.main import get_command

    def walk(group, prefix: str = "") -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                found.update(walk(command, f"{prefix}{name} "))
            elif {"data", "spec"} & {param.name for param in command.params}:
                found[prefix + name] = {param.name for param in command.params}
        return found

    return walk(get_command(app))


def test_every_command_that_reads_a_dataset_offers_its_options_declared_once() -> None:
    """The options come from ``DatasetOptions`` (and the training ``DataOptions``): a field added
    there reaches every such command, and a kind's reader declares which of them it takes."""
    from dataclasses import fields

    from signscribe.data import kinds_taking
    from signscribe.data.options import dataset_option_names
    from signscribe.training.config import DataOptions

    commands = _data_commands()
    training = {"train", "train-translation", "tune", "train-vlm"}
    assert set(commands) == {"dataset show", "extract", "embed", "evaluate"} | training
    split_options = {item.name for item in fields(DataOptions) if "help" in item.metadata} - set(dataset_option_names())
    assert split_options == {"val", "val_videos", "seed", "split_seed", "split_by", "holdout_signer", "val_fraction"}
    for name, parameters in commands.items():
        assert set(dataset_option_names()) <= parameters, name
        assert (split_options <= parameters) == (name in training), name
    help_text = " ".join(runner.invoke(app, ["dataset", "show", "--help"], env={"COLUMNS": "300"}).output.split())
    assert "KIND:PATH (wlasl, how2sign, mp_data, asl_signs, csv, poses, embeddings" in help_text  # the registry's
    assert f"Kinds: {', '.join(kinds_taking('videos'))}." in help_text and "Kinds: mp_data." in help_text


def test_a_dataset_option_is_checked_against_the_kind_in_every_command(tmp_path: Path) -> None:
    table = tmp_path / "mine.csv"
    table.write_text("path,label\na.pose,x\n")
    for command in (["dataset", "show", f"csv:{table}"], ["evaluate", "--data", f"csv:{table}"],
                    ["train", "--data", f"csv:{table}", "--out", tmp_path / "model"]):  # fmt: skip
        result = _run(*command, "--sequences-per-signer", "30")
        assert result.exit_code == 2, result.output
        assert "--sequences-per-signer applies to mp_data only, not csv" in result.output


def test_extract_mirrors_the_inputs_folders_and_refuses_a_clash(wlasl_dir: Path, tmp_path: Path) -> None:
    """``a/x.mp4 b/x.mp4`` once wrote one ``x.pose``, the second over the first."""
    for folder, clip in (("ca", "01586"), ("cb", "01065")):
        (tmp_path / folder).mkdir()
        shutil.copy(wlasl_dir / "clips" / f"{clip}.mp4", tmp_path / folder / "x.mp4")
    (tmp_path / "ca" / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    (tmp_path / "ca" / "gone.mp4").symlink_to(tmp_path / "nowhere.mp4")
    out = tmp_path / "poses"
    result = _run("extract", tmp_path / "ca" / "x.mp4", tmp_path / "cb" / "x.mp4", "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.pose")) == ["ca/x.pose", "cb/x.pose"]
    listed = _run("extract", tmp_path / "ca", "--out", tmp_path / "listed")
    assert "passed over photo.jpg: a photo, and only videos are read here" in listed.output
    assert "passed over gone.mp4: not a regular file: a symbolic link" in listed.output
    shutil.copy(wlasl_dir / "clips" / "01065.mp4", tmp_path / "ca" / "x.mov")
    clash = _run("extract", tmp_path / "ca" / "x.mp4", tmp_path / "ca" / "x.mov", "--out", tmp_path / "clash")
    assert clash.exit_code == 2 and "would both be written to" in clash.output
    assert not (tmp_path / "clash").exists()


def test_extract_argument_errors(tmp_path: Path) -> None:
    assert _run("extract", "--out", tmp_path).exit_code == 2
    bad = _run("extract", "--data", "nope:x", "--out", tmp_path)
    assert bad.exit_code == 2 and "unknown dataset kind 'nope'" in bad.output
    missing = _run("extract", tmp_path / "gone.mp4", "--out", tmp_path)
    assert missing.exit_code == 2 and "gone.mp4: file not found" in missing.output


@pytest.mark.slow
def test_extract_all_real_wlasl_clips(wlasl_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "poses"
    result = _run("extract", wlasl_dir / "clips", "--out", out, "--workers", "2")
    assert result.exit_code == 0, result.output
    assert "done 138, skipped 0 (already extracted), failed 0" in result.output
    summary = json.loads((out / "extract_summary.json").read_text())
    assert summary["shares"]["pose"] > 0.95 and summary["shares"]["right_hand"] > 0.5


@pytest.mark.slow
def test_extract_all_real_how2sign_clips(how2sign_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "poses"
    spec = f"how2sign:{how2sign_dir / 'how2sign_realigned_val.csv'}"
    result = _run("extract", "--data", spec, "--videos", how2sign_dir / "clips", "--out", out, "--workers", "2")
    assert result.exit_code == 0, result.output
    assert "done 24, skipped 0 (already extracted), failed 0" in result.output
    assert "1717 instances have no media" in result.output
    assert len(list(out.glob("*.pose"))) == 24


def test_samples_are_listed_and_copied_whole(tmp_path: Path) -> None:
    listed = runner.invoke(app, ["samples"])
    assert listed.exit_code == 0 and "path,label,signer" in listed.stdout and "tea_3.pose,tea,3" in listed.stdout
    copied = runner.invoke(app, ["samples", "--out", str(tmp_path / "samples")])
    assert copied.exit_code == 0 and "copied 14 files" in copied.stderr
    assert sorted(path.name for path in (tmp_path / "samples").iterdir() if path.suffix == ".pose")[:3] == [
        "coffee_1.pose", "coffee_2.pose", "coffee_3.pose"]  # fmt: skip


def test_ray_without_its_extra_says_how_to_install_it(
    wlasl_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails, as without the extra
    clip = next((wlasl_dir / "clips").glob("*.mp4"))
    result = _run("extract", str(clip), "--out", str(tmp_path / "poses"), "--ray", "auto")
    assert result.exit_code == 2 and "pip install 'signscribe[ray]'" in result.output


def test_ray_without_a_cluster_says_how_to_start_one(wlasl_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="Ray is the [ray] extra")
    clip = next((wlasl_dir / "clips").glob("*.mp4"))
    result = _run("extract", str(clip), "--out", str(tmp_path / "poses"), "--ray", "auto")
    assert result.exit_code == 2 and "cannot join the Ray cluster at 'auto'" in result.output
    assert "ray start --head" in result.output
