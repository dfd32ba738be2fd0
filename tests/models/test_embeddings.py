"""Foundation-model embeddings on real WLASL clips: V-JEPA 2 (a tiny random one built from a config, no
download) through ``signscribe embed`` into ASLVideoTranslate's layout, its preprocessing against the
documented Hugging Face transform, the ``embeddings:`` dataset (that system's index.csv as it is,
corrupted files left out), and ``gloss_classifier`` trained, evaluated and recognising."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from signscribe.cli import app
from signscribe.data import open_dataset
from signscribe.data.dataset import Sample
from signscribe.errors import InputFileError, SignscribeError
from signscribe.io import read_frames
from signscribe.models.encoders import VideoTransform, VJEPA2Encoder, load_encoder
from signscribe.training.splits import stratified_split

TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "crop_size": 32, "patch_size": 8,
        "tubelet_size": 2, "frames_per_clip": 4, "pred_hidden_size": 32, "pred_num_hidden_layers": 1,
        "pred_num_attention_heads": 2, "num_pooler_layers": 1}  # fmt: skip
PROCESSOR = {"video_processor_type": "VJEPA2VideoProcessor", "crop_size": {"height": 32, "width": 32},
             "size": {"shortest_edge": 36}, "do_resize": True, "do_center_crop": True, "do_rescale": True,
             "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": [0.485, 0.456, 0.406],
             "image_std": [0.229, 0.224, 0.225], "resample": 2}  # fmt: skip
CLIPS = ["01586", "65145", "02233"]


@pytest.fixture(scope="module")
def tiny_vjepa2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random V-JEPA 2 saved as a hub checkpoint folder is: config, safetensors, video processor."""
    from transformers import VJEPA2Config, VJEPA2Model

    folder = tmp_path_factory.mktemp("vjepa2") / "tiny-vjepa2"
    torch.manual_seed(0)
    VJEPA2Model(VJEPA2Config(**TINY)).save_pretrained(folder)
    (folder / "video_preprocessor_config.json").write_text(json.dumps(PROCESSOR))
    return folder


def _documented_transform(image: np.ndarray, shortest_edge: int, crop: int) -> np.ndarray:
    """The Hugging Face V-JEPA 2 video processor's steps, written with PIL as its documentation states
    them: resize the short side (bilinear), centre crop, rescale by 1/255, normalise with ImageNet's
    mean and deviation. Returns ``(3, crop, crop)``."""
    height, width = image.shape[:2]
    scale = shortest_edge / min(height, width)
    size = (shortest_edge, int(width * scale)) if height <= width else (int(height * scale), shortest_edge)
    resized = np.asarray(Image.fromarray(image).resize((size[1], size[0]), Image.BILINEAR), dtype=np.float32)
    top, left = round((size[0] - crop) / 2), round((size[1] - crop) / 2)
    cropped = resized[top : top + crop, left : left + crop] / 255
    return ((cropped - np.array(PROCESSOR["image_mean"])) / np.array(PROCESSOR["image_std"])).transpose(2, 0, 1)


@pytest.mark.parametrize("shortest_edge, crop", [(292, 256), (36, 32)])
def test_the_preprocessing_gives_what_the_documented_transform_gives(
    shortest_edge: int, crop: int, wlasl_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "video_preprocessor_config.json").write_text(
        json.dumps(
            {**PROCESSOR, "crop_size": {"height": crop, "width": crop}, "size": {"shortest_edge": shortest_edge}}
        )
    )
    transform = VideoTransform.from_folder(tmp_path, crop=999)  # the file wins over the default
    assert (transform.shortest_edge, transform.crop) == (shortest_edge, crop)
    images = [frame.image for frame in read_frames(wlasl_dir / "clips" / "65145.mp4", end_frame=8)]  # 256x256
    ours = transform.normalise(np.stack([transform.frame(image) for image in images])).numpy()
    documented = np.stack([_documented_transform(image, shortest_edge, crop) for image in images])
    assert ours.shape == documented.shape == (8, 3, crop, crop)
    one_level = 1 / 255 / min(PROCESSOR["image_std"])  # a pixel level, in normalised units
    assert np.abs(ours - documented).mean() < 0.25 * one_level
    assert np.abs(ours - documented).max() <= 3 * one_level + 1e-6  # resampling differs by at most 3 levels
    assert VideoTransform.from_folder(tmp_path / "none", crop=256).shortest_edge == 292  # V-JEPA 2's defaults


def test_embed_writes_the_index_and_npy_files_and_resumes(tiny_vjepa2: Path, wlasl_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "videos"
    folder.mkdir()
    for name in CLIPS:
        (folder / f"{name}.mp4").symlink_to(wlasl_dir / "clips" / f"{name}.mp4")
    out = tmp_path / "embeddings"
    command = ["embed", str(folder), "--backbone", f"vjepa2:{tiny_vjepa2}", "--out", str(out),
               "--variants", "original,blur,bw"]  # fmt: skip
    runner = CliRunner()
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output
    assert "wrote 9 embeddings, kept 0" in result.output
    with (out / "index.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["video_id", "gloss", "path_to_npy_file"] and len(rows) == 9
    assert rows[1]["video_id"] == "01586_blur_vjepa.npy" and Path(rows[1]["path_to_npy_file"]).is_absolute()
    frames_at_16 = len(list(read_frames(wlasl_dir / "clips" / "01586.mp4"))) * 16 / 29.97
    original, blurred = np.load(out / "01586_original_vjepa.npy"), np.load(out / "01586_blur_vjepa.npy")
    assert original.shape == blurred.shape == (np.ceil(round(frames_at_16) / 2), 32) and original.dtype == np.float32
    assert not np.allclose(original, blurred)
    assert json.loads((out / "embeddings.json").read_text())["backbone"] == f"vjepa2:{tiny_vjepa2}"

    again = runner.invoke(app, command)  # resumed: nothing to do
    assert again.exit_code == 0 and "wrote 0 embeddings, kept 9" in again.output
    (out / "01586_bw_vjepa.npy").write_bytes(b"\x93NUMPY truncated")  # a damaged file is made again
    repaired = runner.invoke(app, command)
    assert "wrote 1 embeddings, kept 8" in repaired.output
    assert np.load(out / "01586_bw_vjepa.npy").shape == original.shape


def test_embed_on_a_ray_cluster_writes_what_a_local_run_writes(
    tiny_vjepa2: Path, wlasl_dir: Path, tmp_path: Path
) -> None:
    ray = pytest.importorskip("ray", reason="Ray is the [ray] extra")
    clips = [str(wlasl_dir / "clips" / f"{name}.mp4") for name in CLIPS]
    runner = CliRunner()
    try:
        for name, extra in (("local", []), ("ray", ["--ray", "local"])):
            command = ["embed", *clips, "--backbone", f"vjepa2:{tiny_vjepa2}", "--out", str(tmp_path / name),
                       "--variants", "original,bw", "--no-cache", *extra]  # fmt: skip
            result = runner.invoke(app, command)
            assert result.exit_code == 0, result.output
            assert f"wrote {2 * len(CLIPS)} embeddings, kept 0" in result.output
    finally:
        ray.shutdown()
    for local in sorted((tmp_path / "local").glob("*.npy")):
        np.testing.assert_allclose(np.load(tmp_path / "ray" / local.name), np.load(local), atol=1e-6)
    assert len(list((tmp_path / "ray").glob("*.npy"))) == 2 * len(CLIPS)


def test_the_embedding_cache_spares_a_second_folder(
    tiny_vjepa2: Path, wlasl_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = wlasl_dir / "clips" / "01586.mp4"
    command = ["embed", str(clip), "--backbone", f"vjepa2:{tiny_vjepa2}"]
    first = CliRunner().invoke(app, [*command, "--out", str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    monkeypatch.setattr(VJEPA2Encoder, "embed", lambda *_: pytest.fail("a cached clip was encoded again"))
    second = CliRunner().invoke(app, [*command, "--out", str(tmp_path / "b")])
    assert second.exit_code == 0, second.output
    assert np.array_equal(
        np.load(tmp_path / "a" / "01586_original_vjepa.npy"), np.load(tmp_path / "b" / "01586_original_vjepa.npy")
    )


def test_the_embeddings_dataset_reads_that_systems_index_as_it_is(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = []
    for clip, gloss in (("good_25076", "good"), ("book_07069", "book")):
        for variant in ("original", "gaussian", "bw"):
            name = f"{clip}_{variant}_vjepa.npy"
            np.save(tmp_path / name, rng.normal(size=(12, 16)).astype(np.float32))
            rows.append(f"{name},{gloss},/path/to/{name}")  # written on another machine
    (tmp_path / "book_07069_bw_vjepa.npy").write_bytes(b"not a numpy file")
    np.save(tmp_path / "good_25076_bw_vjepa.npy", np.zeros(5, np.float32))  # not (tokens, width)
    rows.append("lost_1_original_vjepa.npy,lost,lost_1_original_vjepa.npy")
    (tmp_path / "index.csv").write_text("video_id,gloss,path_to_npy_file\n" + "\n".join(rows) + "\n")
    dataset = open_dataset(f"embeddings:{tmp_path}")
    kept = ["good_25076_original", "good_25076_gaussian", "book_07069_original", "book_07069_gaussian"]
    assert [sample.id for sample in dataset.samples] == [f"{name}_vjepa" for name in kept]
    assert dataset.samples[0].path == tmp_path / "good_25076_original_vjepa.npy"
    assert {sample.group for sample in dataset.samples} == {"good_25076", "book_07069"}
    assert dataset.labels == ["book", "good"] and [s.id for s in dataset.missing] == ["lost_1_original_vjepa"]
    assert (
        "left out 2 unusable .npy file(s)" in dataset.notes[0]
        and "book_07069_bw_vjepa.npy: unreadable" in dataset.notes[0]
    )
    with pytest.raises(InputFileError, match="expected video_id,gloss,path_to_npy_file"):
        (tmp_path / "bad.csv").write_text("path,label\nx.npy,good\n")
        open_dataset(f"embeddings:{tmp_path / 'bad.csv'}")


def test_a_split_keeps_the_variants_of_a_clip_together() -> None:
    samples = [
        Sample(f"{clip}_{variant}", Path(f"{clip}_{variant}.npy"), label, group=clip)
        for clip, label in [(f"c{i}", "ab"[i % 2]) for i in range(10)]
        for variant in ("original", "blur", "bw")
    ]
    train, val = stratified_split(samples, 0.2, seed=3)
    assert val and {s.group for s in train}.isdisjoint({s.group for s in val})
    assert all(sum(s.group == group for s in val) == 3 for group in {s.group for s in val})


def test_gloss_classifier_trains_evaluates_and_recognises_clips_and_embeddings(
    tiny_vjepa2: Path, wlasl_dir: Path, tmp_path: Path
) -> None:
    out, model = tmp_path / "embeddings", tmp_path / "model"
    wlasl = [
        "--data",
        f"wlasl:{wlasl_dir / 'WLASL_v0.3.json'}",
        "--videos",
        str(wlasl_dir / "clips"),
        "--subset",
        "100",
    ]
    runner = CliRunner()
    embedded = runner.invoke(app, ["embed", *wlasl, "--backbone", f"vjepa2:{tiny_vjepa2}", "--out", str(out),
                                   "--variants", "original,blur,bw"])  # fmt: skip
    assert embedded.exit_code == 0, embedded.output
    data = ["--data", f"embeddings:{out}", "--val", f"embeddings:{out}"]
    trained = runner.invoke(app, ["train", "--model", "gloss_classifier", *data, "--epochs", "30", "--batch", "16",
                                  "--lr", "3e-3", "--out", str(model)])  # fmt: skip
    assert trained.exit_code == 0, trained.output
    losses = [float(row["train_loss"]) for row in csv.DictReader((model / "history.csv").open())]
    assert losses[-1] < 0.5 * losses[0], losses
    config = json.loads((model / "config.json").read_text())
    assert config["input_kind"] == "embeddings" and config["features"]["width"] == 32
    assert config["features"]["backbone"] == f"vjepa2:{tiny_vjepa2}"
    evaluated = runner.invoke(app, ["evaluate", "--data", f"embeddings:{out}", "--model", str(model), "--json",
                                    str(tmp_path / "report.json")])  # fmt: skip
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads((tmp_path / "report.json").read_text())["top_k"]["top1"] > 0.5  # it learnt its training set
    with (out / "index.csv").open(newline="") as file:
        first = next(row for row in csv.DictReader(file) if "_original_" in row["video_id"])
    video = wlasl_dir / "clips" / f"{first['video_id'].split('_')[0]}.mp4"
    alone = tmp_path / "alone"  # the whole video, without the dataset's signer box
    assert (
        runner.invoke(app, ["embed", str(video), "--backbone", f"vjepa2:{tiny_vjepa2}", "--out", str(alone)]).exit_code
        == 0
    )
    answers = []
    for clip in (next(alone.glob("*.npy")), video):  # embeddings, or a video the model embeds with its backbone
        recognised = runner.invoke(app, ["recognize", str(clip), "--model", str(model), "--format", "json"])
        assert recognised.exit_code == 0, recognised.output
        answers.append(json.loads(recognised.stdout)["results"][0]["predictions"])
    assert [p["gloss"] for p in answers[0]] == [p["gloss"] for p in answers[1]]  # the video embeds as the .npy did
    explained = runner.invoke(app, ["recognize", str(video), "--model", str(model), "--explain", "--format", "json",
                                    "--heatmaps", str(tmp_path)])  # fmt: skip
    assert explained.exit_code == 0, explained.output
    attention = json.loads(explained.stdout)["results"][0]["attention"]
    rows = len(np.load(next(alone.glob("*.npy"))))
    assert len(attention["weights"]) == rows and sum(attention["weights"]) == pytest.approx(1, abs=1e-4)
    assert attention["times"][:2] == pytest.approx([1 / 16, 3 / 16])  # a row is a tubelet of 2 frames at 16 fps
    assert (tmp_path / f"{video.stem}_attention.png").read_bytes().startswith(b"\x89PNG")
    assert [p["confidence"] for p in answers[0]] == pytest.approx([p["confidence"] for p in answers[1]], abs=1e-5)
    wrong = tmp_path / "wide.npy"
    np.save(wrong, np.zeros((4, 64), np.float32))
    refused = runner.invoke(app, ["recognize", str(wrong), "--model", str(model)])
    assert refused.exit_code == 1 and "width 64; the model reads width 32" in refused.output, refused.output


def test_a_hub_id_without_network_names_the_id_and_how_to_provide_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(SignscribeError, match=r"vjepa2:facebook/vjepa2-vitl-fpc64-256: not a local folder") as error:
        load_encoder("vjepa2:facebook/vjepa2-vitl-fpc64-256")
    assert "hf download facebook/vjepa2-vitl-fpc64-256 --local-dir DIR" in str(error.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputFileError, match="not a V-JEPA 2 checkpoint folder"):
        load_encoder(f"vjepa2:{tmp_path / 'empty'}")
    with pytest.raises(ValueError, match="--backbone must be KIND:SOURCE"):
        load_encoder("clip:openai/clip")


def test_patch_tokens_keep_every_patch_and_long_clips_are_encoded_in_chunks(tiny_vjepa2: Path, wlasl_dir: Path) -> None:
    from signscribe.pose.source import Clip

    clip = Clip(wlasl_dir / "clips" / "01586.mp4")
    by_time, by_patch = (load_encoder(f"vjepa2:{tiny_vjepa2}", tokens) for tokens in ("time", "patch"))
    frames = by_time.clip_frames(clip)  # 44 frames at 29.97 fps: 23 at 16 fps, one more to fill a tubelet
    assert frames.shape == (23, 32, 32, 3)  # then six chunks of the checkpoint's 4 frames
    rows = by_time.embed_clip(clip)["original"]
    patches = by_patch.embed_clip(clip)["original"]
    assert rows.shape == (12, 32) and patches.shape == (12 * 16, 32)  # (32 / 8)² patches a time step
    np.testing.assert_allclose(patches.reshape(12, 16, 32).mean(axis=1), rows, atol=1e-5)


def test_a_sign_bank_compares_clips_with_vjepa2(tiny_vjepa2: Path, wlasl_dir: Path, tmp_path: Path) -> None:
    from signscribe.inference.bank import SignBank

    clips = {"agreement": wlasl_dir / "clips" / "01586.mp4", "basketball": wlasl_dir / "clips" / "65145.mp4"}
    bank = SignBank.open(tmp_path / "bank", f"vjepa2:{tiny_vjepa2}", create=True)
    for gloss, clip in clips.items():
        bank.add(gloss, [clip])
    bank.save()
    match = SignBank.open(tmp_path / "bank").recognize(clips["agreement"])  # reopened: the encoder from bank.json
    assert match.gloss == "agreement" and match.similarity == pytest.approx(1.0, abs=1e-5)
    assert [gloss for gloss, _ in match.nearest] == ["agreement", "basketball"]
