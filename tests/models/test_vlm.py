"""Video language models (``vlm:``): tiny random LLaVA-NeXT-Video, Video-LLaVA and InternVL models
built from configs and saved with ``save_pretrained`` (``tests/models/tiny_vlms.py``), loaded through the
path a real checkpoint takes, on real WLASL and How2Sign clips."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_vlms import ARCHITECTURES, build_tiny_vlm
from typer.testing import CliRunner

from signscribe.cli import app
from signscribe.data import open_dataset
from signscribe.errors import InputFileError, SignscribeError
from signscribe.inference import Recognizer, Translator
from signscribe.models.vlm.settings import VlmSettings, read_settings

runner = CliRunner()
GLOSSES = ["deaf", "pants", "always", "we"]  # the WLASL glosses with two real clips each


def _run(*args: object) -> str:
    result = runner.invoke(app, [str(arg) for arg in args])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def how2sign_rows(how2sign_dir: Path) -> tuple[str, list[str]]:
    """The header and the rows of the How2Sign val CSV whose clips are here, shortest sentence first."""
    lines = (how2sign_dir / "how2sign_realigned_val.csv").read_text(encoding="utf-8").splitlines()
    present = {path.stem for path in (how2sign_dir / "clips").glob("*.mp4")}
    rows = [line for line in lines[1:] if line.split("\t")[3] in present]
    return lines[0], sorted(rows, key=lambda row: len(row.split("\t")[6]))


def _how2sign_csv(folder: Path, header: str, rows: list[str]) -> Path:
    path = folder / "sentences.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tiny_vlms(tmp_path_factory: pytest.TempPathFactory, how2sign_rows: tuple[str, list[str]]) -> dict[str, Path]:
    """One saved tiny model of each architecture; its tokenizer knows the glosses and the sentences."""
    texts = [*GLOSSES, *(row.split("\t")[6] for row in how2sign_rows[1])]
    folder = tmp_path_factory.mktemp("vlms")
    return {name: build_tiny_vlm(name, folder / name, texts) for name in ARCHITECTURES}


@pytest.fixture(scope="module")
def glosses_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("glosses") / "glosses.txt"
    path.write_text("\n".join(GLOSSES) + "\n", encoding="utf-8")
    return path


def test_prompt_config_files(tmp_path: Path) -> None:
    yaml_file = tmp_path / "prompt.yaml"
    yaml_file.write_text("model: OpenGVLab/InternVL3-2B-hf\nprompt: Which sign?\nframes: 4\nload_in_4bit: true\n")
    settings = read_settings(yaml_file)
    assert settings == VlmSettings(model="OpenGVLab/InternVL3-2B-hf", prompt="Which sign?", frames=4, load_in_4bit=True)
    toml_file = tmp_path / "prompt.toml"
    toml_file.write_text("temperature = 0.7\ntop_p = 0.9\nmax_new_tokens = 20\n")
    sampled = read_settings(toml_file).generation_options()
    assert sampled == {"max_new_tokens": 20, "num_beams": 1, "do_sample": True, "temperature": 0.7, "top_p": 0.9}
    assert read_settings(yaml_file).generation_options()["do_sample"] is False
    (tmp_path / "bad.yaml").write_text("promt: typo\n")
    with pytest.raises(InputFileError, match=r"bad\.yaml.*unknown settings promt"):
        read_settings(tmp_path / "bad.yaml")
    (tmp_path / "both.toml").write_text("load_in_4bit = true\nload_in_8bit = true\n")
    with pytest.raises(InputFileError, match=r"both\.toml.*exclude each other"):
        read_settings(tmp_path / "both.toml")
    (tmp_path / "template.yaml").write_text("template: 'USER: {prompt}'\n")
    with pytest.raises(InputFileError, match="must hold \\{video\\} and \\{prompt\\}"):
        read_settings(tmp_path / "template.yaml")


def test_an_unreachable_hub_id_says_how_to_bring_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SignscribeError, match="hf download nobody/no-such-vlm --local-dir DIR"):
        Recognizer.from_pretrained("vlm:nobody/no-such-vlm")
    with pytest.raises(SignscribeError, match="names no model"):
        Recognizer.from_pretrained("vlm:")
    with pytest.raises(SignscribeError, match="options are for vlm:<model> only"):
        Recognizer.from_pretrained("traduttore16", vlm={"load_in_4bit": True})


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_label_ranking_is_the_likelihood_of_each_whole_answer(
    architecture: str, tiny_vlms: dict[str, Path], glosses_file: Path, both_hands_clip: Path
) -> None:
    """The cached-prompt ranking equals each label's log-likelihood computed on the whole sequence
    (prompt, clip, label, end), and the confidences are their softmax."""
    recognizer = Recognizer.from_pretrained(f"vlm:{tiny_vlms[architecture]}", vlm={"labels": str(glosses_file)})
    model = recognizer.loaded.model
    (video,) = recognizer.model_inputs(recognizer.prepare([both_hands_clip]))
    ranked = model(video)[0]
    prompt = model.prompt_ids()
    expected = []
    with torch.no_grad():
        for label in GLOSSES:
            answer = model.answer_ids(label)
            ids = torch.tensor([prompt + answer])
            logits = model.network(input_ids=ids, **model.pixel_inputs(video)).logits[0].log_softmax(-1)
            steps = logits[len(prompt) - 1 : -1]
            expected.append(float(steps.gather(-1, torch.tensor(answer)[:, None]).sum()))
    assert torch.allclose(ranked, torch.tensor(expected), atol=1e-4)
    predictions = recognizer.predict(both_hands_clip, top_k=4)
    assert [p.gloss for p in predictions] == [GLOSSES[i] for i in ranked.argsort(descending=True)]
    assert sum(p.confidence for p in predictions) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_recognize_and_translate_real_clips(
    architecture: str, tiny_vlms: dict[str, Path], glosses_file: Path, both_hands_clip: Path, tmp_path: Path
) -> None:
    model = f"vlm:{tiny_vlms[architecture]}"
    ranked = json.loads(_run("recognize", both_hands_clip, "--model", model, "--labels", glosses_file,
                             "--format", "json", "-k", "3"))  # fmt: skip
    predictions = ranked["results"][0]["predictions"]
    assert [p["gloss"] in GLOSSES for p in predictions] == [True] * 3
    assert predictions[0]["confidence"] >= predictions[1]["confidence"] >= predictions[2]["confidence"]
    free = Recognizer.from_pretrained(model).predict(both_hands_clip)
    assert len(free) == 1 and 0.0 <= free[0].confidence <= 1.0
    config = tmp_path / "prompt.toml"
    config.write_text('prompt = "Translate this."\nmax_new_tokens = 3\nframes = 4\n')
    sentence = _run("translate", both_hands_clip, "--model", model, "--prompt-config", config).rstrip("\n")
    translator = Translator.from_pretrained(model, vlm={"prompt_config": config})
    assert translator.loaded.model.prompt_text().count("Translate this.") == 1
    assert translator.loaded.input_kind == "video+prompt" and translator.loaded.features.frames == 4
    assert sentence == translator.translate(both_hands_clip)
    assert translator.loaded.model.settings.generation_options()["max_new_tokens"] == 3


def test_evaluate_ranks_the_glosses_for_top_k(
    tiny_vlms: dict[str, Path], glosses_file: Path, wlasl_dir: Path, tmp_path: Path
) -> None:
    """``evaluate`` of a vlm: model ranks the --glosses list (no --labels needed) for every clip."""
    _run("evaluate", "--model", f"vlm:{tiny_vlms['internvl']}", "--data", f"wlasl:{wlasl_dir / 'WLASL_v0.3.json'}",
         "--videos", wlasl_dir / "clips", "--glosses", glosses_file, "--json", tmp_path / "report.json")  # fmt: skip
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["samples"] == 8 and report["labels"] == GLOSSES
    assert 0.0 <= report["top_k"]["top1"] <= report["top_k"]["top2"] <= 1.0
    assert sum(map(sum, report["confusion_matrix"])) == 8


def test_served_for_rest_and_refused_for_live_streams(
    tiny_vlms: dict[str, Path], glosses_file: Path, clip_bytes: bytes, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient
    from starlette.websockets import WebSocketDisconnect

    from signscribe.serving import ServerSettings, create_app

    model = f"vlm:{tiny_vlms['video_llava']}"
    settings = ServerSettings(data_dir=tmp_path / "data", model=model, model_options={"labels": str(glosses_file)})
    with TestClient(create_app(settings)) as client:
        assert client.get("/readyz").status_code == 200
        described = client.get("/v1/models").json()["models"][0]
        assert described["input_kind"] == "video+prompt" and described["labels"] == GLOSSES
        answer = client.post("/v1/recognize", files={"file": ("clip.mp4", clip_bytes, "video/mp4")})
        assert answer.status_code == 200, answer.text
        assert {p["gloss"] for p in answer.json()["results"][0]["predictions"]} == set(GLOSSES)
        job = client.post("/v1/jobs?top_k=2", files={"file": ("clip.mp4", clip_bytes, "video/mp4")}).json()
        deadline = time.monotonic() + 60
        while job["status"] not in ("done", "failed") and time.monotonic() < deadline:
            time.sleep(0.1)
            job = client.get(f"/v1/jobs/{job['id']}").json()
        assert job["status"] == "done", job
        ranked = answer.json()["results"][0]["predictions"][:2]
        assert job["result"]["results"][0]["predictions"] == ranked
        with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/v1/stream") as ws:
            ws.receive_json()
        assert closed.value.code == 4422 and "video language model" in closed.value.reason


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as file:
        reader = csv.DictReader(file)
        return list(reader.fieldnames or []), list(reader)


@pytest.mark.slow
def test_train_vlm_lora_on_four_how2sign_clips_resumes_and_merges(
    tiny_vlms: dict[str, Path], how2sign_rows: tuple[str, list[str]], how2sign_dir: Path, tmp_path: Path
) -> None:
    header, rows = how2sign_rows
    data = f"how2sign:{_how2sign_csv(tmp_path, header, rows[:4])}"
    out = tmp_path / "adapters"
    base = tiny_vlms["llava_next_video"]
    videos = how2sign_dir / "clips"
    args = ["train-vlm", "--base", base, "--data", data, "--val", data, "--out", out, "--videos", videos]
    args += ["--batch", "2", "--grad-accum", "2", "--max-new-tokens", "6", "--frame-cache", tmp_path / "frames"]
    _run(*args, "--epochs", "2")
    columns, generated = _read_csv(out / "generated_texts.csv")
    assert columns == ["id", "video_id", "generated", "true", "epoch"]
    assert [row["epoch"] for row in generated] == ["1"] * 4 + ["2"] * 4
    assert {row["true"] for row in generated} == {row.split("\t")[6] for row in rows[:4]}
    assert len(list((tmp_path / "frames").rglob("*.npy"))) == 4  # each clip sampled once, kept on disk
    columns, scores = _read_csv(out / "validation_scores.csv")
    assert columns == ["epoch", "rouge1", "rouge2", "rougeL", "bleu", "chrf"] and len(scores) == 2
    assert {"adapter_model.safetensors", "adapter_config.json", "vlm.yaml", "model_card.md"} <= {
        path.name for path in out.iterdir()
    }
    _run(*args, "--epochs", "3", "--resume")
    _, resumed = _read_csv(out / "generated_texts.csv")
    assert resumed[:8] == generated and [row["epoch"] for row in resumed[8:]] == ["3"] * 4
    clip = open_dataset(data, videos=how2sign_dir / "clips").samples[0].clip
    adapters = Translator.from_pretrained(f"vlm:{out}").translate(clip)
    (tmp_path / "mine.yaml").write_text(f"model: {out}\nprompt: Say it in English.\n")
    mine = Translator.from_pretrained("vlm:", vlm={"prompt_config": tmp_path / "mine.yaml"}).loaded
    assert mine.config["base"] == str(base.resolve()) and mine.config["adapters"] == str(out)
    assert "Say it in English." in mine.model.prompt_text()  # the user's prompt, the folder's base
    _run("vlm-merge", out, "--out", tmp_path / "merged")
    assert not (tmp_path / "merged" / "adapter_config.json").exists()
    assert Translator.from_pretrained(f"vlm:{tmp_path / 'merged'}").translate(clip) == adapters


def _train(base: Path, sentences: tuple[str, list[str]], videos: Path, folder: Path, **options: object):
    """``train_vlm`` on the How2Sign ``sentences`` (header and rows), validated on the same clips."""
    from signscribe.training.config import VlmTrainingConfig
    from signscribe.training.vlm import train_vlm

    data = f"how2sign:{_how2sign_csv(folder, *sentences)}"
    config = VlmTrainingConfig(
        base=str(base), data=data, val=data, videos=str(videos), batch=2, grad_accum=1, **options
    )
    return train_vlm(config, folder / "run"), open_dataset(data, videos=videos).samples


@pytest.mark.slow
def test_qlora_trains_a_4bit_model_on_the_cpu(
    how2sign_rows: tuple[str, list[str]], how2sign_dir: Path, tmp_path: Path
) -> None:
    from bitsandbytes.nn import Linear4bit

    header, rows = how2sign_rows
    base = build_tiny_vlm("internvl", tmp_path / "base", [row.split("\t")[6] for row in rows[:4]], hidden=64)
    result, samples = _train(base, (header, rows[:4]), how2sign_dir / "clips", tmp_path, epochs=2,
                             load_in_4bit=True, max_new_tokens=6)  # fmt: skip
    assert [row["epoch"] for row in result.history] == [1, 2]
    assert len(_read_csv(tmp_path / "run" / "generated_texts.csv")[1]) == 8
    assert "load_in_4bit: true" in (tmp_path / "run" / "vlm.yaml").read_text()
    translator = Translator.from_pretrained(f"vlm:{tmp_path / 'run'}")
    assert any(isinstance(module, Linear4bit) for module in translator.loaded.model.network.modules())
    assert isinstance(translator.translate(samples[0].clip), str)


@pytest.mark.slow
def test_train_vlm_on_wlasl_glosses_saves_the_labels_it_ranks(
    tiny_vlms: dict[str, Path], glosses_file: Path, wlasl_dir: Path, tmp_path: Path
) -> None:
    """``--data wlasl: --glosses`` trains recognition: one-word answers, the glossary saved with the
    adapters and ranked by the trained folder without --labels; the card names the run's peak memory."""
    out = tmp_path / "wlasl"
    data = f"wlasl:{wlasl_dir / 'WLASL_v0.3.json'}"
    _run("train-vlm", "--base", tiny_vlms["internvl"], "--data", data, "--videos", wlasl_dir / "clips",
         "--glosses", glosses_file, "--epochs", "1", "--batch", "2", "--out", out)  # fmt: skip
    assert (out / "labels.txt").read_text().split() == GLOSSES
    assert "peak memory" in (out / "model_card.md").read_text()
    generated = _read_csv(out / "generated_texts.csv")[1]
    assert {row["true"] for row in generated} <= set(GLOSSES) and len(generated) >= 1
    recognizer = Recognizer.from_pretrained(f"vlm:{out}")
    assert recognizer.labels == GLOSSES and recognizer.loaded.model.task == "recognition"
    assert {p.gloss for p in recognizer.predict(wlasl_dir / "clips" / "14882.mp4", top_k=4)} == set(GLOSSES)


@pytest.mark.slow
def test_a_model_trained_on_two_clips_says_their_sentences(
    tiny_vlms: dict[str, Path], how2sign_rows: tuple[str, list[str]], how2sign_dir: Path, tmp_path: Path
) -> None:
    header, rows = how2sign_rows
    result, samples = _train(tiny_vlms["video_llava"], (header, rows[:2]), how2sign_dir / "clips", tmp_path,
                             epochs=80, lr=1e-2, lora_dropout=0.0, max_new_tokens=24)  # fmt: skip
    assert result.best["exact"] == 1.0
    translator = Translator.from_pretrained(f"vlm:{tmp_path / 'run'}")
    assert translator.translate_batch([sample.clip for sample in samples]) == [sample.label for sample in samples]


def test_frames_come_from_the_middle_of_equal_stretches(both_hands_clip: Path, how2sign_dir: Path) -> None:
    from signscribe.io import probe, read_frames
    from signscribe.models.encoders import VideoTransform
    from signscribe.models.inputs.video_prompt import sample_frames
    from signscribe.pose import Clip

    keep = VideoTransform(do_resize=False, do_center_crop=False)
    frames = list(read_frames(both_hands_clip))
    duration = probe(both_hands_clip).duration
    chosen = [[f for f in frames if f.time <= (i + 0.5) * duration / 4][-1] for i in range(4)]  # on screen then
    assert (sample_frames(Clip(both_hands_clip), 4, keep) == np.stack([f.image for f in chosen])).all()
    clip = Clip(both_hands_clip, start_frame=11, end_frame=20)  # a WLASL frame range: 10 frames, one each
    assert (sample_frames(clip, 10, keep) == np.stack([f.image for f in frames[10:20]])).all()
    long_clip = next((how2sign_dir / "clips").glob("*.mp4"))
    sampled = sample_frames(Clip(long_clip), 8, VideoTransform(shortest_edge=64, crop=48))
    assert sampled.shape == (8, 48, 48, 3) and sampled.dtype == np.uint8


def test_internvl_frames_are_resized_to_the_processor_size(tmp_path: Path) -> None:
    from signscribe.models.encoders import VideoTransform

    (tmp_path / "preprocessor_config.json").write_text(
        json.dumps({"size": {"height": 448, "width": 448}, "do_center_crop": False, "image_std": [0.5, 0.5, 0.5]})
    )
    transform = VideoTransform.from_folder(tmp_path, 224)
    assert transform.exact_size == (448, 448) and transform.output_size == (448, 448)
    frame = transform.frame(np.full((192, 288, 3), 200, np.uint8))
    assert frame.shape == (448, 448, 3) and (frame == 200).all()
    assert transform.normalise(frame[None]).shape == (1, 3, 448, 448)


def test_landmarks_are_refused_with_the_file_named(tiny_vlms: dict[str, Path], both_hands_pose, tmp_path: Path) -> None:
    from signscribe.pose import save_pose

    pose = save_pose(both_hands_pose, tmp_path / "clip.pose")
    recognizer = Recognizer.from_pretrained(f"vlm:{tiny_vlms['internvl']}")
    with pytest.raises(InputFileError, match=r"clip\.pose.*reads video or photos, not landmarks"):
        recognizer.predict(pose)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_a_photo_is_ranked_as_a_still_clip(
    architecture: str, tiny_vlms: dict[str, Path], glosses_file: Path, letter_photos: Path
) -> None:
    recognizer = Recognizer.from_pretrained(f"vlm:{tiny_vlms[architecture]}", vlm={"labels": str(glosses_file)})
    photo = letter_photos / "test" / "images" / "V10.jpg"
    (frames,) = recognizer.prepare([photo])
    assert len(frames) == recognizer.loaded.features.frames and (frames == frames[:1]).all()
    predictions = recognizer.predict(photo, top_k=4)
    assert sorted(p.gloss for p in predictions) == sorted(GLOSSES)
    assert sum(p.confidence for p in predictions) == pytest.approx(1.0, abs=1e-5)
