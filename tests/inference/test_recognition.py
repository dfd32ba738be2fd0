from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import tiny_long_video
from signscribe.cli import app
from signscribe.errors import PoseFileError, SignscribeError
from signscribe.evaluation import evaluate
from signscribe.inference import Recognizer
from signscribe.pose import save_pose

MODELS = Path(__file__).resolve().parents[2] / "src" / "signscribe" / "models" / "bundled"

runner = CliRunner()


def _run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer.from_pretrained("traduttore16")


def test_predict_real_wlasl_clip_from_video_and_pose(
    recognizer: Recognizer, both_hands_clip: Path, tmp_path: Path
) -> None:
    predictions = recognizer.predict(both_hands_clip, top_k=5)
    assert len(predictions) == 5 and all(p.gloss in recognizer.labels for p in predictions)
    confidences = [p.confidence for p in predictions]
    assert confidences == sorted(confidences, reverse=True) and 0 < sum(confidences) <= 1 + 1e-6
    pose_file = save_pose(recognizer.landmarks(both_hands_clip), tmp_path / "clip.pose")
    assert [p.gloss for p in recognizer.predict(pose_file, top_k=5)] == [p.gloss for p in predictions]


def test_pose_file_with_another_layout_is_refused(recognizer: Recognizer, tmp_path: Path) -> None:
    from pose_format.utils.generic import fake_pose
    from pose_format.utils.openpose import OpenPose_Components

    other = tmp_path / "openpose.pose"
    with other.open("wb") as file:
        fake_pose(5, components=OpenPose_Components).write(file)
    with pytest.raises(PoseFileError, match="not a MediaPipe Holistic pose"):
        recognizer.predict(other)


def test_evaluate_reports_documented_keys(recognizer: Recognizer, keypoints_archive: Path, tmp_path: Path) -> None:
    spec = f"mp_data:{keypoints_archive}"
    report, failed = evaluate(recognizer, spec, sequences_per_signer=30, signer="2")
    assert not failed and report.samples == 16 * 30
    body = report.to_dict()
    assert set(body) == {"samples", "loss", "top_k", "mean_class_top_k", "per_class", "confusion_matrix", "labels"}
    assert list(body["top_k"]) == ["top1", "top2", "top5", "top10"]
    tops = list(body["top_k"].values())
    assert tops == sorted(tops) and tops[0] > 0.8
    assert sum(map(sum, body["confusion_matrix"])) == 480
    assert {row["label"] for row in body["per_class"]} == set(recognizer.labels)
    assert all(row["support"] == 30 for row in body["per_class"])


def test_evaluate_cli_writes_report_and_confusion(keypoints_archive: Path, tmp_path: Path) -> None:
    result = _run("evaluate", "-m", "traduttore16", "--data", f"mp_data:{keypoints_archive}", "--sequences-per-signer",
                  30, "--signer", 0, "--report", tmp_path / "report", "--json", tmp_path / "r.json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report" / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"
    assert "<th>thank-you</th>" in (tmp_path / "report" / "confusion_matrix.html").read_text()
    assert json.loads((tmp_path / "r.json").read_text())["samples"] == 480


def test_label_mismatch_is_a_clear_error(recognizer: Recognizer, wlasl_dir: Path) -> None:
    spec = f"wlasl:{wlasl_dir / 'WLASL_v0.3.json'}"
    with pytest.raises(SignscribeError, match=r"label\(s\) the model does not know"):
        evaluate(recognizer, spec, videos=wlasl_dir / "clips")


def test_recognize_single_clip_prints_a_ranked_table(both_hands_clip: Path) -> None:
    result = _run("recognize", both_hands_clip, "--top-k", 3)
    assert result.exit_code == 0, result.output
    assert "rank" in result.output and "confidence" in result.output and "01586.mp4" in result.output


def test_recognize_one_video_in_parts_gives_the_gloss_of_one_pass(wlasl_dir: Path, tmp_path: Path) -> None:
    """--workers on one video cuts it into parts extracted at once (pose/parts.py): the same answer."""
    clip = wlasl_dir / "clips" / "65145.mp4"  # "basketball", 47 frames: two parts
    answers = []
    for workers in (1, 2):
        out = tmp_path / f"{workers}.json"
        result = _run("recognize", clip, "--workers", workers, "--format", "json", "--no-reject", "--out", out)
        assert result.exit_code == 0, result.output
        answers.append(json.loads(out.read_text())["results"][0]["predictions"][0]["gloss"])
    assert answers == ["basketball", "basketball"]


def test_recognize_folder_writes_csv_json_and_top10_text(wlasl_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    folder.mkdir()
    for clip in ("01586", "01065", "04897"):
        shutil.copy(wlasl_dir / "clips" / f"{clip}.mp4", folder)
    (folder / "broken.mp4").write_text("not a video")
    out = tmp_path / "results" / "r.csv"
    # These signs are not WLASL100 glosses: --no-reject ranks them (the formats are tested), without it
    # a clip below the calibrated confidence is one row saying it is not a sign the model knows.
    result = _run("recognize", folder, "--format", "csv", "--out", out, "--workers", 2, "--no-reject")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["video", "rank", "gloss", "confidence"]
    assert len(rows) == 3 * 5 and {r["video"] for r in rows} == {"01586.mp4", "01065.mp4", "04897.mp4"}
    text = (out.parent / "inference_results.txt").read_text()
    assert text.count("=== ") == 4 and "10. " in text and "FAILED: " in text
    assert "broken.mp4: not a readable video" in result.output

    as_json = _run("recognize", folder, "--format", "json", "--top-k", 2, "--out", tmp_path / "r.json", "--no-reject")
    body = json.loads((tmp_path / "r.json").read_text())
    assert as_json.exit_code == 0 and len(body["results"]) == 3 and len(body["results"][0]["predictions"]) == 2
    assert body["failed"][0]["video"] == "broken.mp4"
    answered = tmp_path / "answered.csv"
    assert _run("recognize", folder, "--format", "csv", "--out", answered).exit_code == 0
    rows = list(csv.DictReader(answered.open()))
    unknown = [r["video"] for r in rows if (r["rank"], r["gloss"]) == ("", "(unknown_sign)")]
    # the clips whose best guess is below the calibrated confidence, as the API answers them (the share of
    # such clips the model rejects is measured by scripts/calibrate_rejection.py, in its card)
    default = Recognizer.from_pretrained("default")
    codes = {clip.name: getattr(default.answer(clip)[1], "code", None) for clip in folder.glob("0*.mp4")}
    below = {name for name, code in codes.items() if code == "unknown_sign"}
    assert below and set(unknown) == below, "a clip the model does not know is one row saying so"
    assert len(rows) == len(unknown) + 5 * (3 - len(unknown)), "a clip answered has its five ranked rows"
    assert "NO GLOSS: not one of the 100 signs" in (answered.parent / "inference_results.txt").read_text()


def test_recognize_errors(tmp_path: Path, both_hands_clip: Path) -> None:
    missing = _run("recognize", tmp_path / "none.mp4")
    assert missing.exit_code == 2 and "none.mp4: file not found" in missing.output
    empty = _run("recognize", tmp_path)
    assert empty.exit_code == 2 and "no videos, photos or .pose files" in empty.output
    (tmp_path / "model").mkdir()
    bad_model = _run("recognize", both_hands_clip, "--model", tmp_path / "model")
    assert bad_model.exit_code == 2 and "model folder lacks model.safetensors" in bad_model.output


@pytest.mark.slow
def test_recognize_all_real_wlasl_clips(wlasl_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    result = _run("recognize", wlasl_dir / "clips", "--format", "csv", "--out", out, "--workers", 2, "--no-reject")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert len({r["video"] for r in rows}) == 138 and len(rows) == 138 * 5
    # The default model knows WLASL100; 16 of these untrimmed (train-split) clips show one of its glosses.
    glosses = {}
    for gloss_entry in json.loads((wlasl_dir / "WLASL_v0.3.json").read_text()):
        for instance in gloss_entry["instances"]:
            glosses[f"{instance['video_id']}.mp4"] = gloss_entry["gloss"]
    labels = set(Recognizer.from_pretrained(None).labels)
    known = {video for video in glosses if glosses[video] in labels}
    ranked = {video: [r["gloss"] for r in rows if r["video"] == video] for video in known & {r["video"] for r in rows}}
    assert len(ranked) == 16
    top1 = sum(ranked[video][0] == glosses[video] for video in ranked)
    top5 = sum(glosses[video] in ranked[video] for video in ranked)
    assert top1 >= 12 and top5 >= 15, f"top-1 {top1}/16, top-5 {top5}/16"
    # Without --no-reject, the clips of other glosses are "not a sign I know" as often as the card says.
    answered = tmp_path / "answered.csv"
    assert _run("recognize", wlasl_dir / "clips", "--format", "csv", "--out", answered).exit_code == 0
    no_gloss = {r["video"] for r in csv.DictReader(answered.open()) if r["rank"] == ""}
    outside = set(glosses) & {r["video"] for r in rows} - known
    card = (MODELS / "wlasl100" / "model_card.md").read_text()
    share = re.search(r"\*\*\(chosen\)\*\* \| (?:[\d.]+% \| ){3}([\d.]+)%", card).group(1)
    # (the card's clips were scored in batches; a clip at the threshold may tip either way)
    assert abs(len(no_gloss & outside) / len(outside) - float(share) / 100) <= 1 / len(outside) + 1e-3


def _card_recalls(card: str) -> dict[str, tuple[int, float]]:
    """The card's per-gloss val table: gloss -> (val clips, recall)."""
    rows = re.findall(r"^\| `([^`]+)` \| (\d+) \| (\d+)% \| \d+% \|$", card, flags=re.MULTILINE)
    return {gloss: (int(clips), int(recall) / 100) for gloss, clips, recall in rows}


@pytest.mark.slow
def test_evaluate_on_wlasl100_val_gives_the_figures_of_the_default_models_card(
    wlasl100_csv: Path, tmp_path: Path
) -> None:
    """The card's val top-1 is its per-gloss table, and real val clips from video give that table: the
    clips of every tenth gloss (about 35 of the 338, a minute of extraction; all 338 take 6)."""
    card = (Recognizer.from_pretrained(None).loaded.path / "model_card.md").read_text()
    recalls = _card_recalls(card)
    in_card = re.search(r"\| \*\*the shipped ensemble\*\* \| \*\*([\d.]+)%\*\*", card)
    assert len(recalls) == 100 and sum(clips for clips, _ in recalls.values()) == 338 and in_card is not None
    right = sum(round(clips * recall) for clips, recall in recalls.values())
    assert right / 338 * 100 == pytest.approx(float(in_card.group(1)), abs=0.05)
    chosen = sorted(recalls)[::10]
    (tmp_path / "glosses.txt").write_text("\n".join(chosen) + "\n")
    report = tmp_path / "val.json"
    result = _run(
        "evaluate", "--data", f"csv:{wlasl100_csv}", "--split", "val", "--glosses", tmp_path / "glosses.txt",
        "--workers", 2, "--json", report,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    body = json.loads(report.read_text())
    assert body["samples"] == sum(recalls[gloss][0] for gloss in chosen)
    measured = {row["label"]: row for row in body["per_class"] if row["label"] in chosen}
    missed = [abs(round(row["support"] * row["recall"]) - round(row["support"] * recalls[gloss][1]))
              for gloss, row in measured.items()]  # fmt: skip
    assert sum(missed) <= 1, measured  # a clip at a near tie may tip either way in other batches


def test_the_command_line_refuses_a_long_video_unless_told(tmp_path: Path) -> None:
    video = tiny_long_video(tmp_path / "long.mp4", 700)
    command = [sys.executable, "-m", "signscribe", "recognize", str(video), "--model", "traduttore16"]
    refused = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 1 and "more than the 600 s allowed; pass --no-limits" in refused.stderr
    assert "Traceback" not in refused.stderr
    lifted = subprocess.run([*command, "--no-limits", "--format", "json"], capture_output=True, text=True, timeout=600)
    assert "600 s allowed" not in lifted.stderr and "Traceback" not in lifted.stderr


def test_the_command_line_reports_a_write_it_cannot_make_in_one_line(wlasl_dir: Path) -> None:
    clip = wlasl_dir / "clips" / "01586.mp4"
    out = Path("/sys/signscribe-results.json")  # not writable, even for root
    command = [sys.executable, "-m", "signscribe", "recognize", str(clip), "-m", "traduttore16", "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")


def test_a_folder_lists_fifos_and_looping_links_under_failed(wlasl_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    folder.mkdir()
    (folder / "real.mp4").symlink_to(wlasl_dir / "clips" / "01586.mp4")
    os.mkfifo(folder / "pipe.mp4")
    (folder / "loop.mp4").symlink_to(folder / "loop.mp4")
    command = [sys.executable, "-m", "signscribe", "recognize", str(folder), "-m", "traduttore16", "--format", "json"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "pipe.mp4: not a regular file: a FIFO" in result.stderr
    assert "loop.mp4: not a regular file: a symbolic link" in result.stderr
    answer = json.loads(result.stdout)
    assert [entry["video"] for entry in answer["results"]] == ["real.mp4"]
    assert sorted(entry["video"] for entry in answer["failed"]) == ["loop.mp4", "pipe.mp4"]


def test_recognize_folder_json_on_stdout_is_valid_and_nothing_lands_in_the_current_folder(
    wlasl_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    folder = tmp_path / "clips"
    folder.mkdir()
    for clip in ("01586", "01065"):
        shutil.copy(wlasl_dir / "clips" / f"{clip}.mp4", folder)
    monkeypatch.chdir(tmp_path)
    result = _run("recognize", folder, "--format", "json", "--top-k", 2, "-m", "traduttore16")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)  # stdout holds the JSON and nothing else
    assert len(body["results"]) == 2 and not list(tmp_path.glob("*.txt"))
    top10 = tmp_path / "reports" / "top10.txt"
    result = _run("recognize", folder, "--format", "json", "-m", "traduttore16", "--results", top10)
    assert json.loads(result.stdout)["results"] and f"wrote {top10}" in result.stderr
    assert top10.read_text().count("=== ") == 2


def test_evaluate_counts_missing_samples_and_strict_makes_them_fatal(wlasl_dir: Path, tmp_path: Path) -> None:
    table = tmp_path / "eval.csv"
    clip = wlasl_dir / "clips" / "01586.mp4"
    table.write_text(f"path,label,split\n{clip},hello,test\nlost.mp4,thanks,test\n")
    result = _run("evaluate", "--data", f"csv:{table}", "-m", "traduttore16")
    assert result.exit_code == 0, result.output
    assert "1 sample(s) left out" in result.stderr and "1 with missing media" in result.stderr
    assert "lost.mp4" in result.stderr
    strict = _run("evaluate", "--data", f"csv:{table}", "-m", "traduttore16", "--strict")
    assert strict.exit_code == 1 and "--strict" in strict.stderr


def test_the_format_follows_the_out_extension_and_a_mismatch_is_refused(both_hands_pose, tmp_path: Path) -> None:
    clip = save_pose(both_hands_pose, tmp_path / "clip.pose")
    assert _run("recognize", clip, "-m", "traduttore16", "--out", tmp_path / "book.json").exit_code == 0
    assert json.loads((tmp_path / "book.json").read_text())["results"][0]["video"] == "clip.pose"
    assert _run("recognize", clip, "-m", "traduttore16", "--out", tmp_path / "book.csv").exit_code == 0
    assert (tmp_path / "book.csv").read_text().startswith("video,rank,gloss,confidence\n")
    refused = _run("recognize", clip, "-m", "traduttore16", "--out", tmp_path / "other.json", "--format", "csv")
    assert refused.exit_code == 2 and "is named .json but --format is csv" in refused.output
    assert not (tmp_path / "other.json").exists()


def test_explain_on_a_model_without_attention_is_one_note_and_the_clips_are_recognised(
    both_hands_pose, tmp_path: Path
) -> None:
    folder = tmp_path / "clips"
    folder.mkdir()
    for name in ("a", "b"):
        save_pose(both_hands_pose, folder / f"{name}.pose")
    (folder / "fake.mp4").write_text("not a video")
    result = _run("recognize", folder, "-m", "default", "--explain", "--format", "json")
    assert result.exit_code == 0, result.output
    assert result.stderr.count("this ensemble model has no attention to show; --explain is left out") == 1
    answer = json.loads(result.stdout)
    assert [entry["video"] for entry in answer["results"]] == ["a.pose", "b.pose"]
    assert result.stderr.count("fake.mp4") == 1  # the failed clip is named once, not twice


def test_recognize_takes_several_clips_folders_and_glob_patterns(both_hands_pose, tmp_path: Path) -> None:
    words = tmp_path / "words"
    (words / "more").mkdir(parents=True)
    for name in ("a", "b", "more/c"):
        save_pose(both_hands_pose, words / f"{name}.pose")
    (words / "more" / "photo.png").write_bytes(b"\x89PNG")
    result = _run("recognize", words / "a.pose", str(words / "b*.pose"), words / "more", "-m", "traduttore16",
                  "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert [entry["video"] for entry in answer["results"]] == ["a.pose", "b.pose", "more/c.pose"]
    assert [entry["video"] for entry in answer["failed"]] == ["more/photo.png"]
    assert "a photo" in answer["failed"][0]["reason"]
    nothing = _run("recognize", str(words / "z*.pose"), "-m", "traduttore16")
    assert nothing.exit_code == 2 and "no file matches this pattern" in nothing.output


def test_a_video_far_longer_than_a_sign_gets_a_hint_to_transcribe(tmp_path: Path) -> None:
    video = tiny_long_video(tmp_path / "talk.mp4", 30)
    result = _run("recognize", video, "-m", "traduttore16", "--format", "json")
    assert "talk.mp4 lasts 30 s, and this model reads one sign of about 0.7 s" in " ".join(result.stderr.split())
    assert "`signscribe transcribe` gives a gloss for each sign" in " ".join(result.stderr.split())
    short = _run("recognize", tiny_long_video(tmp_path / "sign.mp4", 3), "-m", "traduttore16", "--format", "json")
    assert "lasts" not in short.stderr


def test_a_sign_the_model_does_not_know_points_to_its_signs_the_other_models_and_the_bank() -> None:
    from signscribe.cli.terminal import recognition_notes
    from signscribe.inference.clips import ClipResult, Recognition
    from signscribe.inference.recognizer import NoGloss

    unknown = ClipResult(Path("a.mp4"), [], no_gloss=NoGloss("unknown_sign", "not one of the 100 signs"))
    (note,) = recognition_notes(Recognition([unknown], Path("."), False), "wlasl100", 1.5)
    assert "`signscribe models wlasl100 --labels` lists the signs it knows" in note
    assert "`signscribe bank add` teaches a sign" in note
    resting = ClipResult(Path("b.mp4"), [], no_gloss=NoGloss("resting", "no sign"))
    assert recognition_notes(Recognition([resting], Path("."), False), "wlasl100", 1.5) == []
