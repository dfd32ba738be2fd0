"""RGB video models: the ``frames`` input pipeline on real clips, ``i3d`` with the WLASL checkpoint
format (keys and shapes of the official code, published checkpoints loading through ``--weights``),
and every video family through the same commands as the pose models."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from signscribe.cli import app
from signscribe.errors import InputFileError
from signscribe.inference import Recognizer
from signscribe.models import create_model
from signscribe.models.inputs import FramesConfig
from signscribe.models.weights import load_weights
from signscribe.pose import HolisticExtractor
from signscribe.pose.source import Clip

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "wlasl_i3d_state_dict.json"
TINY = {"frames": 8, "size": 112, "resize": 128}


@pytest.fixture(scope="module")
def reference() -> dict:
    if not REFERENCE.is_file():
        pytest.skip(f"reference format not available: {REFERENCE} is missing")
    return json.loads(REFERENCE.read_text())


@pytest.fixture(scope="module")
def wlasl_i3d() -> torch.nn.Module:
    return create_model("i3d", 2000).eval()


def test_i3d_has_the_keys_and_shapes_of_the_official_wlasl_code(reference: dict, wlasl_i3d) -> None:
    shapes = {key: list(value.shape) for key, value in wlasl_i3d.state_dict().items()}
    assert shapes == reference["keys"] and len(shapes) == 344
    with torch.no_grad():
        per_time = wlasl_i3d.per_time_logits(torch.zeros(reference["input"]["shape"]))
        assert list(per_time.shape) == reference["input"]["output_shape"]  # (1, 2000, 7)
        assert torch.equal(wlasl_i3d(torch.zeros(1, 3, 64, 224, 224)), per_time.amax(dim=2))  # max over time


def test_a_published_format_checkpoint_loads_with_module_prefix_and_without_batch_counts(
    reference: dict, wlasl_i3d, tmp_path: Path
) -> None:
    generator = torch.Generator().manual_seed(0)
    state = {
        f"module.{key}": torch.randn(shape, generator=generator) if shape else torch.tensor(0)
        for key, shape in reference["keys"].items()
        if not key.endswith("num_batches_tracked")
    }
    checkpoint = tmp_path / "FINAL_nslt_2000_iters=5104_top1=32.48_top5=57.31_top10=66.31.pt"
    torch.save(state, checkpoint)
    model = create_model("i3d", 2000)
    assert load_weights(model, checkpoint) == []
    loaded = model.state_dict()
    assert all(torch.equal(loaded[key.removeprefix("module.")], value) for key, value in state.items())
    smaller = create_model("i3d", 100)  # fine-tuning WLASL2000 weights on WLASL100: the head is left to train
    assert load_weights(smaller, checkpoint) == ["logits.conv3d.weight", "logits.conv3d.bias"]
    assert torch.equal(smaller.state_dict()["Mixed_5c.b0.conv3d.weight"], loaded["Mixed_5c.b0.conv3d.weight"])


def test_a_checkpoint_with_wrong_keys_names_them(tmp_path: Path) -> None:
    state = create_model("i3d", 10).state_dict()
    state["extra.weight"] = torch.zeros(3, 4)
    del state["Mixed_3b.b0.conv3d.weight"]
    checkpoint = tmp_path / "odd.pt"
    torch.save(state, checkpoint)
    with pytest.raises(InputFileError, match=r"missing Mixed_3b\.b0\.conv3d\.weight \(64, 192, 1, 1, 1\)") as error:
        load_weights(create_model("i3d", 10), checkpoint)
    assert "unexpected extra.weight (3, 4)" in str(error.value)
    state = create_model("i3d", 10).state_dict()
    state["Conv3d_1a_7x7.conv3d.weight"] = torch.zeros(64, 1, 7, 7, 7)
    torch.save(state, checkpoint)
    with pytest.raises(InputFileError, match=r"Conv3d_1a_7x7\.conv3d\.weight \(64, 1, 7, 7, 7\) \(model: \(64, 3"):
        load_weights(create_model("i3d", 10), checkpoint)
    checkpoint.write_bytes(b"not a checkpoint")
    with pytest.raises(InputFileError, match="not a readable checkpoint"):
        load_weights(create_model("i3d", 10), checkpoint)


def test_frames_of_a_real_clip_are_cropped_to_the_signer_and_scaled(both_hands_clip: Path) -> None:
    config = FramesConfig(**TINY)
    extractor = HolisticExtractor()
    clip = config.prepare(config.load(both_hands_clip, extractor))
    centred = FramesConfig(**TINY, signer_crop=False).load(both_hands_clip, extractor)
    assert min(clip.frames.shape[1:3]) == 128 and clip.note == ""
    aspect = clip.frames.shape[2] / clip.frames.shape[1]
    assert aspect != pytest.approx(centred.frames.shape[2] / centred.frames.shape[1])  # the signer's box, not the frame
    example = config.example(clip)
    assert example.shape == (3, 8, 112, 112) and example.dtype == np.float32
    assert -1.0 <= example.min() < 0 < example.max() <= 1.0
    boxed = config.load(Clip(both_hands_clip, bbox=(60, 0, 230, 192)), extractor)  # the dataset's box wins
    assert boxed.frames.shape[1:3] == (145, 128)


def test_a_short_clip_is_looped_and_says_so(both_hands_clip: Path, caplog) -> None:
    config = FramesConfig(frames=64, size=112, resize=128, sampling="consecutive")
    with caplog.at_level("WARNING", logger="signscribe"):
        clip = config.prepare(config.load(Clip(both_hands_clip, end_frame=10), HolisticExtractor()))
    assert "10 frames, fewer than the model's 64: looped" in clip.note
    assert "01586.mp4: 10 frames, fewer than the model's 64: looped" in caplog.text
    assert list(config.frame_indices(10)[:12]) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert config.example(clip).shape == (3, 64, 112, 112)


def test_grayscale_and_odd_sized_videos_become_rgb(tmp_path: Path) -> None:
    import av

    video = tmp_path / "gray_odd.mkv"
    with av.open(str(video), "w") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = 131, 97, "gray"
        for index in range(12):
            image = np.full((97, 131), 20 * index, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="gray")))
        container.mux(stream.encode())
    config = FramesConfig(**TINY, signer_crop=False)
    example = config.example(config.prepare(config.load(video, HolisticExtractor())))
    assert example.shape == (3, 8, 112, 112) and np.allclose(example[0], example[1])


# The commands' path is the same for every RGB family; what differs (forward, learning, export) is
# checked for each in test_model_contract.py. I3D reads whole clips, the streaming MoViNet carries state.
@pytest.mark.parametrize("family", ["i3d", "movinet_a0_stream"])
def test_video_families_train_evaluate_recognise_and_reload_through_the_commands(
    family: str, wlasl_dir: Path, tmp_path: Path
) -> None:
    config = tmp_path / f"{family}.json"
    options = {"model": family, "features": TINY, "epochs": 3, "batch": 4, "warmup_epochs": 0}
    config.write_text(json.dumps(options))
    out = tmp_path / "model"
    data = ["--data", f"wlasl:{wlasl_dir / 'WLASL_v0.3.json'}", "--videos", str(wlasl_dir / "clips"), "--subset", "100"]
    runner = CliRunner()
    result = runner.invoke(app, ["train", "--config", str(config), *data, "--out", str(out)])
    assert result.exit_code == 0, result.output
    losses = [float(row["train_loss"]) for row in csv.DictReader((out / "history.csv").open())]
    assert losses[-1] < losses[0], losses
    saved = json.loads((out / "config.json").read_text())
    assert saved["input_kind"] == "frames" and saved["features"]["frames"] == 8
    evaluated = runner.invoke(app, ["evaluate", *data, "--model", str(out), "--json", str(tmp_path / "r.json")])
    assert evaluated.exit_code == 0, evaluated.output
    assert {"top1", "top2", "top5", "top10"} <= set(json.loads((tmp_path / "r.json").read_text())["top_k"])
    clip = wlasl_dir / "clips" / "65145.mp4"
    first, again = Recognizer.from_pretrained(out), Recognizer.from_pretrained(out)
    assert np.array_equal(first.scores([clip]), again.scores([clip]))  # the folder reloads to the same outputs
    recognised = runner.invoke(app, ["recognize", str(clip), "--model", str(out), "--format", "json"])
    assert recognised.exit_code == 0 and len(json.loads(recognised.stdout)["results"][0]["predictions"]) == 5
    if family == "i3d":  # the service answers REST and opens live streams with the RGB model (test_video_stream)
        from fastapi.testclient import TestClient

        from signscribe.serving import ServerSettings, create_app

        with TestClient(create_app(ServerSettings(data_dir=tmp_path / "data", model=str(out)))) as client:
            response = client.post("/v1/recognize", files={"file": ("a.mp4", clip.read_bytes(), "video/mp4")})
            assert response.status_code == 200 and len(response.json()["results"][0]["predictions"]) == 5
            with client.websocket_connect("/v1/stream") as ws:
                assert ws.receive_json()["input"] == "frames"


def test_x3d_variants_have_the_published_sizes_and_default_clips() -> None:
    from signscribe.models import model_family

    sizes = {name: sum(p.numel() for p in create_model(name, 400).parameters()) for name in ("x3d_s", "x3d_l")}
    assert round(sizes["x3d_s"] / 1e6, 1) == 3.8 and round(sizes["x3d_l"] / 1e6, 1) == 6.1  # as published
    assert model_family("x3d_s").input_defaults == {"frames": 13, "size": 160, "resize": 182, "value_range": "kinetics"}
    assert model_family("i3d").input_defaults == {"frames": 64}


@pytest.mark.parametrize("variant", ["a0", "a2"])
def test_movinet_streaming_frame_by_frame_equals_the_causal_model_on_the_whole_clip(
    variant: str, both_hands_clip: Path
) -> None:
    config = FramesConfig(frames=12, size=96, resize=110, value_range="unit", signer_crop=False)
    video = torch.from_numpy(config.example(config.prepare(config.load(both_hands_clip, HolisticExtractor()))))[None]
    model = create_model(f"movinet_{variant}_stream", 20).eval()
    with torch.no_grad():
        whole = model(video)
        state: dict = {}
        for t in range(video.shape[2]):
            frame_by_frame = model.stream_step(video[:, :, t : t + 1], state)
        state = {}
        for t in range(0, video.shape[2], 5):  # chunks of any size
            chunked = model.stream_step(video[:, :, t : t + 5], state)
    torch.testing.assert_close(frame_by_frame, whole, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(chunked, whole, atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError, match="needs a streaming"):
        create_model(f"movinet_{variant}", 20).stream_step(video, {})


@pytest.mark.slow
def test_movinet_a0_trains_two_epochs_on_the_real_wlasl_clips(wlasl_dir: Path, tmp_path: Path) -> None:
    """The thesis's setting: MoViNet-A0, 20 frames of 172 px, on CPU, through the command line, with the
    clips decoded once into a frame cache by two processes and batches built by two loader workers."""
    out, cache = tmp_path / "movinet", tmp_path / "frames"
    data = ["--data", f"wlasl:{wlasl_dir / 'WLASL_v0.3.json'}", "--videos", str(wlasl_dir / "clips"), "--subset", "100"]
    loading = ["--frame-cache", str(cache), "--workers", "2", "--loader-workers", "2"]
    result = CliRunner().invoke(app, ["train", "--model", "movinet_a0", "--epochs", "2", "--batch", "4", *data,
                                      *loading, "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(list(cache.rglob("*.npy"))) >= 8
    assert (out / "curves.png").stat().st_size > 0 and (out / "model.safetensors").is_file()
    assert json.loads((out / "config.json").read_text())["features"]["size"] == 172
    assert len(list(csv.DictReader((out / "history.csv").open()))) == 2
