from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from signscribe.data import read_mp_data
from signscribe.errors import SignscribeError
from signscribe.inference import Recognizer
from signscribe.models import FeatureConfig, create_model, list_models, sequence_features
from signscribe.models.bundled import bundled_path
from signscribe.models.families.ensemble import combine
from signscribe.models.families.pose_transformer import displacements
from signscribe.models.pretrained import (
    LABELS,
    ModelFolderError,
    labels_json,
    load_pretrained,
    model_config_json,
    resolve_model_path,
    save_model_folder,
)
from signscribe.pose import ExtractionSettings, HolisticExtractor, load_mp_sequence

TINY = {
    "pose_transformer": {"dim": 32, "depth": 1, "heads": 2},
    "stgcn": {"widths": [16, 16]},
    "hand_shape": {"dim": 16, "depth": 1},
}


def _inputs(batch: int, frames: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    points = torch.randn(batch, frames, 67, 2, generator=generator)
    present = torch.rand(batch, frames, 67, generator=generator) > 0.3
    return points, present, torch.ones(batch, frames, dtype=torch.bool)


def test_registry_lists_and_builds_both_families() -> None:
    assert {"pose_transformer", "stgcn"} <= set(list_models("recognition"))
    assert "pose_to_text" in list_models("translation") and "pose_to_text" not in list_models("recognition")
    with pytest.raises(ValueError, match="unknown model 'c3d'; available: ensemble, gloss_classifier, hand_shape, "):
        create_model("c3d", 10)
    with pytest.raises(ValueError, match="bad configuration for model 'stgcn'"):
        create_model("stgcn", 10, colour="red")


@pytest.mark.parametrize("name", ["pose_transformer", "stgcn", "pose_transformer+motion"])
def test_models_take_any_length_and_ignore_padding(name: str) -> None:
    family, _, motion = name.partition("+")
    model = create_model(family, 7, **TINY[family], **({"motion": 2} if motion else {})).eval()
    points, present, frames = _inputs(3, 40)
    assert model(points, present, frames).shape == (3, 7)
    assert model(*_inputs(2, 5)).shape == (2, 7)
    short = model(points[:1, :25], present[:1, :25], frames[:1, :25])
    padded_frames = frames[:1].clone()
    padded_frames[:, 25:] = False
    padded = model(points[:1], present[:1], padded_frames)
    torch.testing.assert_close(short, padded, atol=1e-5, rtol=1e-5)


def test_motion_is_each_points_move_to_the_frames_ahead_where_both_ends_are_seen() -> None:
    points = torch.tensor([0.0, 1.0, 3.0, 6.0])[None, :, None, None].expand(1, 4, 2, 2).clone()
    present = torch.ones(1, 4, 2, dtype=torch.bool)
    present[0, 2, 1] = False  # the second point is lost in frame 2
    moves, known = displacements(points, present, lags=2)
    assert moves.shape == (1, 4, 2, 4) and known.shape == (1, 4, 2, 2)
    torch.testing.assert_close(moves[0, :, 0, 0], torch.tensor([1.0, 2.0, 3.0, 0.0]))  # to the next frame
    torch.testing.assert_close(moves[0, :, 0, 2], torch.tensor([3.0, 5.0, 0.0, 0.0]))  # two frames ahead
    torch.testing.assert_close(moves[0, :, 1, 0], torch.tensor([1.0, 0.0, 0.0, 0.0]))  # 1 -> 2 and 2 -> 3 unseen
    assert known[0, :, 1, 1].tolist() == [False, True, False, False]
    with pytest.raises(ValueError, match="motion must be 0 or more"):
        create_model("pose_transformer", 3, motion=-1)


def test_face_points_are_read_only_by_a_pipeline_that_asks_for_them(both_hands_clip: Path) -> None:
    """``face=True`` adds the lips, nose and eyes (76 mesh points) after the hands, body-normalised like
    the rest, and asks the extractor for the face; landmarks without a face are refused by name."""
    raw = HolisticExtractor(ExtractionSettings(include_face=True)).extract(both_hands_clip, end_frame=12)
    plain, with_face = FeatureConfig(), FeatureConfig(face=True)
    assert (plain.num_points, with_face.num_points) == (67, 143)
    assert not plain.needs_face and with_face.needs_face
    values, present = with_face.example(with_face.prepare(raw))
    plain_values, _ = plain.example(plain.prepare(raw))
    np.testing.assert_array_equal(values[:, :67], plain_values)
    lips = values[:, 67:107][present[:, 67:107]]
    nose_tip = values[:, 0][present[:, 0]]  # pose row 0, in shoulder widths
    assert present[:, 67:].mean() > 0.9 and np.abs(lips.mean(axis=0) - nose_tip.mean(axis=0)).max() < 0.5
    with pytest.raises(SignscribeError, match="reads the face, and these landmarks have none"):
        with_face.prepare(raw.without_face())


def test_model_folder_round_trip_and_errors(tmp_path: Path) -> None:
    model = create_model("stgcn", 3, **TINY["stgcn"]).eval()
    features = FeatureConfig()
    config = model_config_json("stgcn", TINY["stgcn"], features, 3, {"fps": 30, "frames": 20})
    folder = save_model_folder(model, tmp_path / "m", config, {LABELS: labels_json(["a", "b", "c"])}, "# card\n")
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json",
        "labels.json",
        "model.safetensors",
        "model_card.md",
    ]
    loaded = load_pretrained(folder)
    inputs = _inputs(2, 12)
    torch.testing.assert_close(loaded.model(*inputs), model(*inputs))
    assert loaded.labels == ["a", "b", "c"] and loaded.features == features

    for missing in ("model.safetensors", "labels.json", "config.json"):
        broken = Path(shutil.copytree(folder, tmp_path / f"without-{missing}"))
        (broken / missing).unlink()
        with pytest.raises(ModelFolderError, match=f"model folder lacks {missing}"):
            load_pretrained(broken)
    wrong = Path(shutil.copytree(folder, tmp_path / "wrong-labels"))
    (wrong / "labels.json").write_text(json.dumps(["a", "b"]))
    with pytest.raises(ModelFolderError, match=r"has 2 labels but config\.json says 3"):
        load_pretrained(wrong)
    pickled = Path(shutil.copytree(folder, tmp_path / "pickled"))
    torch.save(model.state_dict(), pickled / "model.safetensors")  # a pickle under the expected name
    with pytest.raises(ModelFolderError, match="weights do not load"):
        load_pretrained(pickled)
    with pytest.raises(ModelFolderError, match="no such"):
        resolve_model_path(tmp_path / "nowhere")
    with pytest.raises(ModelFolderError, match="no such folder"):
        resolve_model_path("someone/some-model")  # a hub id: not installed or offline here


def _tiny_folder(family: str, folder: Path, labels: list[str], seed: int, features: FeatureConfig) -> Path:
    torch.manual_seed(seed)
    model = create_model(family, len(labels), **TINY[family]).eval()
    config = model_config_json(family, TINY[family], features, len(labels), {"fps": 30, "frames": 20})
    return save_model_folder(model, folder, config, {LABELS: labels_json(labels)}, "# card\n")


def test_an_ensemble_averages_its_members_probabilities(tmp_path: Path) -> None:
    labels = ["a", "b", "c"]
    members = [
        _tiny_folder("stgcn", tmp_path / "one", labels, 0, FeatureConfig()),
        _tiny_folder("pose_transformer", tmp_path / "two", labels, 1, FeatureConfig()),
    ]
    folder = combine(members, tmp_path / "both", "# both\n", frame_rate=12.5)
    ensemble, alone = load_pretrained(folder), [load_pretrained(m) for m in members]
    assert ensemble.architecture == "ensemble" and ensemble.labels == labels
    inputs = _inputs(2, 12)
    mean = torch.stack([m.model(*inputs).softmax(dim=-1) for m in alone]).mean(dim=0)
    torch.testing.assert_close(ensemble.model(*inputs).softmax(dim=-1), mean)
    assert ensemble.extraction.frame_rate == 12.5  # saved in config.json, used by the recognizer's extractor
    assert Recognizer.from_pretrained(folder).extractor.settings.frame_rate == 12.5
    assert Recognizer.from_pretrained(members[0]).extractor.settings.frame_rate is None
    assert ensemble.features == alone[0].features  # the members' input settings
    other = _tiny_folder("stgcn", tmp_path / "other", labels, 2, FeatureConfig(fill_gaps=2))
    with pytest.raises(SignscribeError, match="its labels or input settings differ"):
        combine([members[0], other], tmp_path / "mixed", "# mixed\n")


def test_default_model_ships_in_the_package() -> None:
    loaded = load_pretrained(None)
    assert loaded.path == bundled_path("default") == bundled_path("wlasl100")
    assert len(loaded.labels) == 100 and {"book", "drink", "computer", "mother"} <= set(loaded.labels)
    card = (loaded.path / "model_card.md").read_text()
    val = re.search(r"\| \*\*the shipped ensemble\*\* \| \*\*([\d.]+)%\*\* \| \*\*([\d.]+)%\*\* \|", card)
    assert val is not None, "the card reports val top-1 and top-5 of the shipped model"
    assert 60 <= float(val.group(1)) <= float(val.group(2))
    assert "C-UDA" in card and "Siformer" in card and "ablation" in card


def test_traduttore16_ships_beside_the_default() -> None:
    loaded = load_pretrained("traduttore16")
    assert len(loaded.labels) == 16 and "-" in loaded.labels and "thank-you" in loaded.labels
    card = (loaded.path / "model_card.md").read_text()
    mean = re.search(r"\| \*\*mean\*\* \| \| \| \*\*([\d.]+)%\*\* \| [\d.]+% \| [\d.]+% \| ([\d.]+)% \|", card)
    assert mean is not None, "the card reports leave-one-signer-out accuracy beside the ridge baseline"
    assert float(mean.group(1)) >= 95.0 and float(mean.group(2)) > 0
    # idle recall, with the detector and with the model alone: hands low, held at the chest, real How2Sign rest
    idle = re.search(r"\| \*\*mean\*\* \| \|" + r" ([\d.]+)% \|" * 6, card)
    assert idle is not None, "the card reports idle recall with the hands in view"
    low, _, chest, _, real, _ = (float(share) for share in idle.groups())
    assert low >= 95.0 and chest >= 95.0 and real >= 95.0, "idle recall with the hands in view"
    assert "MIT" in card and "traduttore" in card


def test_default_model_recognises_real_landmarks(keypoints_archive: Path) -> None:
    data = read_mp_data(keypoints_archive, sequences_per_signer=30)
    recognizer = Recognizer.from_pretrained("traduttore16")
    samples = [s for s in data.samples if int(s.id.split("/")[1]) % 15 == 0]
    sequences = [load_mp_sequence(s.path) for s in samples]
    predicted = recognizer.scores(sequences).argmax(axis=1).tolist()
    accuracy = np.mean([recognizer.labels[p] == s.label for p, s in zip(predicted, samples, strict=True)])
    assert accuracy > 0.9


def test_extractor_and_mp_data_reach_the_model_alike(keypoints_archive: Path, both_hands_pose) -> None:
    """No video of the traduttore signers exists here, so compare layout, ranges and statistics."""
    features = FeatureConfig()
    mp_values, mp_present = sequence_features(
        load_mp_sequence(read_mp_data(keypoints_archive).samples[700].path), features
    )
    our_values, our_present = sequence_features(both_hands_pose, features)
    assert mp_values.shape[1:] == our_values.shape[1:] == (67, 2)
    for values, present in ((mp_values, mp_present), (our_values, our_present)):
        body = values[:, :25][present[:, :25]]
        assert np.all(np.isfinite(values))
        np.testing.assert_allclose(np.median(values[:, [11, 12], 0], axis=0), [0.5, -0.5], atol=0.1)
        assert np.abs(body).max() < 6
        hands = values[:, 25:][present[:, 25:]]
        assert np.abs(hands).max() < 1.5  # wrist-relative hands within a shoulder width or so


def test_a_pose_transformer_with_attention_pooling_shows_where_it_looked(both_hands_pose, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from signscribe.cli import app

    config = {**TINY["pose_transformer"], "pooling": "attention"}
    model = create_model("pose_transformer", 3, **config).eval()
    points, present, frames = _inputs(2, 30)
    frames[1, 20:] = False
    logits, weights = model.explain(points, present, frames)
    torch.testing.assert_close(logits, model(points, present, frames))
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(2))
    assert torch.all(weights[1, 20:] == 0)  # padding gets no attention

    torch.manual_seed(0)
    folder = save_model_folder(
        model,
        tmp_path / "attention",
        model_config_json("pose_transformer", config, FeatureConfig(), 3, {"fps": 30, "frames": 20}),
        {LABELS: labels_json(["a", "b", "c"])},
        "# card\n",
    )
    pose = tmp_path / "clip.pose"
    from signscribe.pose import save_pose

    save_pose(both_hands_pose, pose)
    runner = CliRunner()
    result = runner.invoke(app, ["recognize", str(pose), "--model", str(folder), "--explain", "--format", "json",
                                 "--heatmaps", str(tmp_path / "maps")])  # fmt: skip
    assert result.exit_code == 0, result.output
    attention = json.loads(result.stdout)["results"][0]["attention"]
    frames_kept = min(both_hands_pose.num_frames, FeatureConfig().max_frames)
    assert len(attention["weights"]) == len(attention["times"]) == frames_kept
    assert sum(attention["weights"]) == pytest.approx(1, abs=1e-4)
    assert attention["times"][-1] == pytest.approx((both_hands_pose.num_frames - 1) / both_hands_pose.fps, abs=1e-3)
    heatmap = tmp_path / "maps" / "clip_attention.png"
    assert heatmap.read_bytes().startswith(b"\x89PNG")
    unexplained = runner.invoke(app, ["recognize", str(pose), "--explain", "--format", "json"])  # a mean pools
    assert unexplained.exit_code == 0 and "has no attention to show; --explain is left out" in unexplained.stderr
    assert "attention" not in json.loads(unexplained.stdout)["results"][0]


def test_a_measured_section_goes_into_a_card_once_and_is_replaced(tmp_path: Path) -> None:
    from signscribe.files import write_section

    card = tmp_path / "model_card.md"
    card.write_text("# m\n\n## Validation\n\nv\n\n## Per class\n\np\n")
    write_section(card, "<!-- a -->\n## Other cameras\n\n1%\n<!-- /a -->", "<!-- a -->", "<!-- /a -->", "## Per class")
    write_section(card, "<!-- a -->\n## Other cameras\n\n2%\n<!-- /a -->", "<!-- a -->", "<!-- /a -->", "## Per class")
    assert card.read_text() == (
        "# m\n\n## Validation\n\nv\n\n<!-- a -->\n## Other cameras\n\n2%\n<!-- /a -->\n\n## Per class\n\np\n"
    )
    write_section(card, "<!-- b -->\nx\n<!-- /b -->", "<!-- b -->", "<!-- /b -->", "## Not there")
    assert card.read_text().endswith("p\n\n<!-- b -->\nx\n<!-- /b -->\n")
    # a heading that opens a marked section of its own: the new section goes before its marker
    card.write_text("# m\n\n<!-- p: begin -->\n## Per class\n\np\n<!-- p: end -->\n")
    write_section(card, "<!-- a -->\n## Other cameras\n<!-- /a -->", "<!-- a -->", "<!-- /a -->", "## Per class")
    assert card.read_text() == (
        "# m\n\n<!-- a -->\n## Other cameras\n<!-- /a -->\n\n<!-- p: begin -->\n## Per class\n\np\n<!-- p: end -->\n"
    )


def test_an_ensemble_of_hand_shape_models_reads_hands(tmp_path: Path, letter_photos: Path) -> None:
    """The ensemble keeps its members' input kind (``hand``: photos), not the family's default."""
    from signscribe.models.inputs.hand import HandConfig

    labels = ["B", "C", "V"]
    members = [_tiny_folder("hand_shape", tmp_path / f"m{seed}", labels, seed, HandConfig()) for seed in (0, 1)]
    folder = combine(members, tmp_path / "both", "# both\n")
    recognizer = Recognizer.from_pretrained(folder)
    assert recognizer.loaded.input_kind == "hand" and recognizer.loaded.features == HandConfig()
    predictions = recognizer.predict(letter_photos / "test" / "images" / "V10.jpg", top_k=3)
    assert sorted(p.gloss for p in predictions) == labels
