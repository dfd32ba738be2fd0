"""``prepare`` and ``dataset init`` on real footage: WLASL "lessons" made of real WLASL100 clips are
downloaded from the local mirror and cut back into the clips they hold (the frames the raw file has
in each range), a How2Sign video made of real sentence clips is cut back into its sentences, and a
folder of one's own clips becomes a table that training reads."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
from mirror import clips_of, serving, wlasl_json
from typer.testing import CliRunner

from conftest import write_video
from signscribe import open_dataset
from signscribe.cli import app
from signscribe.data.fetch.download import DownloadSettings, download
from signscribe.data.fetch.http import RetryPolicy
from signscribe.data.fetch.sources import raw_videos
from signscribe.io import probe, read_frames
from signscribe.io.cut import Cut, cut_clips

runner = CliRunner()
GAP = 5  # blank frames between two signs of a lesson


def lesson(path: Path, clips: list[Path]) -> list[tuple[int, int]]:
    """A raw video holding ``clips`` one after another with blank frames between (a YouTube lesson);
    returns each clip's frame range, 1-based and inclusive, as WLASL publishes it."""
    frames, ranges = [], []
    for clip in clips:
        frames.extend([np.zeros((256, 256, 3), np.uint8)] * GAP)
        images = [frame.image for frame in read_frames(clip)]
        ranges.append((len(frames) + 1, len(frames) + len(images)))
        frames.extend(images)
    write_video(path, frames, fps=25)
    return ranges


def frame_error(clip: Path, raw: Path, **selected: object) -> float:
    """The largest mean absolute difference between a clip's frames and the raw range's (one re-encoding)."""
    cut, source = [f.image for f in read_frames(clip)], [f.image for f in read_frames(raw, **selected)]
    assert len(cut) == len(source) > 0
    height, width = cut[0].shape[:2]
    pairs = zip(cut, source, strict=True)
    return max(float(np.abs(a.astype(int) - b[:height, :width].astype(int)).mean()) for a, b in pairs)


def test_download_then_prepare_gives_the_clips_train_and_evaluate_read(tmp_path: Path, wlasl100_csv: Path) -> None:
    clips = clips_of(wlasl100_csv, 7)
    served = tmp_path / "served"
    served.mkdir()
    lessons = {"lessonA.mp4": clips[:3], "lessonB.mp4": clips[3:6]}
    instances, ranges = [], {}
    with serving({}) as mirror:
        for name, held in lessons.items():
            spans = lesson(served / name, [Path(c["file"]) for c in held])
            for clip, (start, end) in zip(held, spans, strict=True):
                url = mirror.url("page" if name == "lessonA.mp4" else "ok", name)  # a site's page, and a plain file
                ranges[Path(clip["file"]).stem] = (served / name, start, end)
                instances.append({"gloss": clip["label"], "video_id": Path(clip["file"]).stem, "url": url,
                                  "frame_start": start, "frame_end": end,
                                  "signer_id": int(clip["signer"])})  # fmt: skip
        whole = clips[6]
        instances.append({"gloss": whole["label"], "video_id": Path(whole["file"]).stem, "split": "val",
                          "url": mirror.url("ok", Path(whole["file"]).name)})  # fmt: skip
        mirror.files.update({path.name: path for path in [*served.iterdir(), Path(whole["file"])]})
        json_path = wlasl_json(tmp_path, instances)
        (tmp_path / "nslt_100.json").write_text(json.dumps({i["video_id"]: {"subset": i.get("split", "train"),
            "action": [0, i.get("frame_start", 1), i.get("frame_end", -1)]} for i in instances}))  # fmt: skip
        fetched = runner.invoke(app, ["download", "wlasl", "--json", json_path, "--subset", "100", "--out",
                                      tmp_path / "raw", "--host-interval", "0"])  # fmt: skip
        assert fetched.exit_code == 0, fetched.output
        assert "3 downloaded" in fetched.output and "WLASL100" in fetched.output and "100.0%" in fetched.output
        asked = sum(mirror.requests.values())
        again = runner.invoke(app, ["download", "wlasl", "--json", json_path, "--out", tmp_path / "raw"])
        assert "3 present" in again.output and sum(mirror.requests.values()) == asked  # nothing downloaded

    prepared = runner.invoke(app, ["prepare", "wlasl", "--json", json_path, "--raw", tmp_path / "raw",
                                   "--out", tmp_path / "wlasl"])  # fmt: skip
    assert prepared.exit_code == 0, prepared.output
    assert "7 clips written, 0 kept" in prepared.output
    with (tmp_path / "wlasl" / "wlasl.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["path", "label", "split", "signer"] and len(rows) == 7
    assert {row["label"] for row in rows} == {c["label"] for c in clips}
    for video_id, (raw, start, end) in ranges.items():
        clip = tmp_path / "wlasl" / "videos" / f"{video_id}.mp4"
        assert frame_error(clip, raw, start_frame=start, end_frame=end) < 3.0
        assert probe(clip).frame_count == probe(wlasl100_csv.parent / "videos" / f"{video_id}.mp4").frame_count
    again = runner.invoke(app, ["prepare", "wlasl", "--json", json_path, "--raw", tmp_path / "raw",
                                "--out", tmp_path / "wlasl"])  # fmt: skip
    assert "0 clips written, 7 kept" in again.output

    data = open_dataset(f"csv:{tmp_path / 'wlasl' / 'wlasl.csv'}")
    assert len(data) == 7 and not data.missing and {s.split for s in data.samples} == {"train", "val"}
    table = f"csv:{tmp_path / 'wlasl' / 'wlasl.csv'}"
    evaluated = runner.invoke(app, ["evaluate", "--model", "wlasl100", "--data", table, "--strict"])
    assert evaluated.exit_code == 0, evaluated.output
    assert "7 samples, loss" in evaluated.output
    tiny = tmp_path / "tiny.json"
    tiny.write_text(json.dumps({"model_config": {"dim": 16, "depth": 1, "heads": 2}, "patience": 0}))
    trained = runner.invoke(app, ["train", "--data", table, "--config", str(tiny), "--epochs", "1",
                                  "--out", str(tmp_path / "model")])  # fmt: skip
    assert trained.exit_code == 0, trained.output
    assert (tmp_path / "model" / "model.safetensors").is_file()


def test_a_cut_is_cropped_to_its_bbox_and_a_range_outside_the_video_is_named(tmp_path: Path, wlasl_dir: Path) -> None:
    raw = next(p for p in sorted((wlasl_dir / "clips").glob("*.mp4")) if probe(p).width >= 640)
    box = (101, 11, 300, 250)
    cuts = [Cut(tmp_path / "box.mp4", 3, 12, bbox=box), Cut(tmp_path / "late.mp4", 5000, 5010)]
    outside = cut_clips(raw, cuts)
    assert list(outside) == [tmp_path / "late.mp4"] and "frames 5000-5010" in outside[tmp_path / "late.mp4"]
    assert not (tmp_path / "late.mp4").exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    info = probe(tmp_path / "box.mp4")
    assert (info.width, info.height, info.frame_count) == (198, 238, 10)  # 199x239 made even for H.264
    assert frame_error(tmp_path / "box.mp4", raw, start_frame=3, end_frame=12, bbox=box) < 3.0


def test_how2sign_sentences_are_cut_from_their_full_video(tmp_path: Path, how2sign_dir: Path) -> None:
    sentences = sorted((how2sign_dir / "clips").glob("*.mp4"), key=lambda p: probe(p).frame_count)[:2]
    videos = tmp_path / "videos"
    frames, times = [], []
    for clip in sentences:
        images = [f.image[::4, ::4] for f in read_frames(clip)]  # 320x180 keeps the test quick
        times.append((len(frames) / 24, (len(frames) + len(images)) / 24))
        frames.extend(images)
    write_video(videos / "full-1-rgb_front.mp4", frames, fps=24)
    table = tmp_path / "how2sign_realigned_val.csv"
    header = "VIDEO_ID\tVIDEO_NAME\tSENTENCE_ID\tSENTENCE_NAME\tSTART_REALIGNED\tEND_REALIGNED\tSENTENCE\r\n"
    lines = [f"full\tfull-1-rgb_front\tfull_{n}\tfull_{n}-1-rgb_front\t{start:.3f}\t{end:.3f}\tSentence {n}.\r\n"
             for n, (start, end) in enumerate(times)]  # fmt: skip
    lines.append("gone\tgone-1-rgb_front\tgone_0\tgone_0-1-rgb_front\t1.0\t2.0\tNo video.\r\n")
    table.write_text(header + "".join(lines), newline="")
    result = runner.invoke(app, ["prepare", "how2sign", str(table), "--videos", videos, "--out", tmp_path / "out"])
    assert result.exit_code == 0, result.output
    assert "2 clips written" in result.output and "1 without a source video" in result.output
    for n, clip in enumerate(sentences):
        cut = tmp_path / "out" / "clips" / f"full_{n}-1-rgb_front.mp4"
        assert probe(cut).frame_count == probe(clip).frame_count
        assert frame_error(cut, videos / "full-1-rgb_front.mp4", start_time=times[n][0], end_time=times[n][1]) < 3.0
    data = open_dataset(f"how2sign:{tmp_path / 'out' / table.name}")
    assert [s.label for s in data.samples] == ["Sentence 0.", "Sentence 1."] and len(data.missing) == 1
    assert all(s.start_time is None for s in data.samples)  # clips, used whole


def test_dataset_init_lists_a_folder_of_clips_with_signers(
    tmp_path: Path, wlasl100_csv: Path, letter_photos: Path
) -> None:
    clips = clips_of(wlasl100_csv, 4)
    root = tmp_path / "mine"
    for n, clip in enumerate(clips[:3]):
        (root / "hello").mkdir(parents=True, exist_ok=True)
        os.symlink(clip["file"], root / "hello" / f"P0{n % 2 + 1}_hello_{n}.mp4")
    (root / "thanks").mkdir()
    os.symlink(clips[3]["file"], root / "thanks" / "P03_thanks.mp4")
    os.symlink(next(letter_photos.glob("test/images/*.jpg")), root / "thanks" / "someone.jpg")
    (root / "notes.txt").write_text("recorded in March")
    (root / "thanks" / "readme.md").write_text("x")
    result = runner.invoke(
        app, ["dataset", "init", str(root), "--signer-pattern", r"^(?P<signer>P\d+)_", "--min-clips", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "5 clips of 2 labels by 3 signers" in result.output
    assert "1 label with fewer than 3 clips: thanks (2)" in result.output
    assert "1 clip whose name the pattern does not match" in result.output and "2 files passed over" in result.output
    with (root / "dataset.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert rows[0] == {"path": "hello/P01_hello_0.mp4", "label": "hello", "split": "", "signer": "P01"}
    data = open_dataset(f"csv:{root / 'dataset.csv'}")
    assert len(data) == 5 and data.labels == ["hello", "thanks"]
    assert sorted({s.signer for s in data.samples} - {None, ""}) == ["P01", "P02", "P03"]
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = runner.invoke(app, ["dataset", "init", str(empty)])
    assert refused.exit_code == 2 and "no clips in <gloss>/<clip> folders" in refused.output


@pytest.mark.parametrize("playable", [True, False])
def test_a_flash_file_becomes_an_mp4_or_is_reported_unsupported(
    tmp_path: Path, wlasl100_csv: Path, playable: bool
) -> None:
    import av

    swf = tmp_path / "drink.swf"
    if playable:  # Flash video (FLV1 in SWF), as aslpro.com served its signs
        images = [f.image for f in read_frames(clips_of(wlasl100_csv, 1)[0]["file"])]
        with av.open(str(swf), "w", format="swf") as container:
            stream = container.add_stream("flv", rate=25)
            stream.width, stream.height, stream.pix_fmt = 256, 256, "yuv420p"
            for image in images:
                container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
            container.mux(stream.encode())
    else:  # a Flash animation: no video stream
        swf.write_bytes(b"FWS\x0a" + bytes(400))
    with serving({swf.name: swf}) as mirror:
        json_path = wlasl_json(tmp_path, [{"gloss": "drink", "video_id": "00042", "url": mirror.url("ok", swf.name)}])
        settings = DownloadSettings(host_interval=0.0, policy=RetryPolicy(attempts=1))
        [outcome] = download(raw_videos(json_path), tmp_path / "raw", settings)
    if playable:
        assert outcome.status == "downloaded"
        assert probe(tmp_path / "raw" / "00042.mp4").frame_count == len(images)
    else:
        assert outcome.status == "dead" and "Flash .swf" in outcome.reason and "unsupported" in outcome.reason
        assert not list((tmp_path / "raw").glob("00042.*"))
