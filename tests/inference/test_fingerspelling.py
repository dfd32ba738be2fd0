"""Fingerspelling on real data: photos of letters and digits through the bundled ``fingerspelling``
model, the label sets that keep V and 2 apart, the command line, and a letter model that recognises a
signer it never saw."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from signscribe.cli import app
from signscribe.inference import Recognizer
from signscribe.inference.clips import only_photos
from spelled_words import cab_book, spelled_word

# one photo of each of six letters of the shared test folder, of distinct hand shapes
TEST_PHOTOS = ("B14.jpg", "C17.jpg", "I17.jpg", "V10.jpg", "W16.jpg", "Y25.jpg")


@pytest.fixture(scope="module")
def fingerspelling() -> Recognizer:
    return Recognizer.from_pretrained("fingerspelling")


def _run(*args: object):
    return CliRunner().invoke(app, [str(arg) for arg in args])


def test_a_photo_of_each_of_a_few_letters_gets_its_letter(fingerspelling: Recognizer, letter_photos: Path) -> None:
    said = {name: fingerspelling.predict(letter_photos / "test" / "images" / name, top_k=3)[0].gloss
            for name in TEST_PHOTOS}  # fmt: skip
    assert said == {name: name[0] for name in TEST_PHOTOS}


def test_a_set_of_labels_keeps_digits_and_letters_apart(fingerspelling: Recognizer, digit_photos: Path) -> None:
    assert set(fingerspelling.label_sets) == {"letters", "digits"}
    photo = digit_photos / "2" / sorted(p.name for p in (digit_photos / "2").iterdir())[0]
    digits, _ = fingerspelling.answer(photo, top_k=10, labels="digits")
    letters, _ = fingerspelling.answer(photo, top_k=3, labels="letters")
    assert [p.gloss for p in digits] and all(p.gloss.isdigit() for p in digits) and len(digits) == 10
    assert all(p.gloss.isalpha() for p in letters)
    assert sum(p.confidence for p in digits) == pytest.approx(1.0, abs=1e-4)
    assert fingerspelling.allowed is None  # a call's labels do not stay


def test_recognize_reads_photos_with_the_fingerspelling_model_by_default(letter_photos: Path, tmp_path: Path) -> None:
    wall = tmp_path / "wall.png"
    Image.fromarray(np.full((120, 160, 3), 200, np.uint8)).save(wall)
    photo = tmp_path / "V10.jpg"
    photo.write_bytes((letter_photos / "test" / "images" / "V10.jpg").read_bytes())
    result = _run("recognize", photo, wall, "--format", "json", "--labels", "letters")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["results"][0]["predictions"][0]["gloss"] == "V"
    assert all(p["gloss"].isalpha() for p in answer["results"][0]["predictions"])
    [failed] = answer["failed"]
    assert failed["video"] == "wall.png" and failed["reason"].endswith("wall.png: no hand found in this photo")


def test_only_photos_are_told_from_a_mix_and_from_missing_files(letter_photos: Path, tmp_path: Path) -> None:
    photos = letter_photos / "test" / "images"
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    assert only_photos([photos]) and only_photos([photos / "V10.jpg"])
    assert not only_photos([photos / "V10.jpg", clip])
    assert not only_photos([tmp_path / "missing.jpg"])


def test_a_model_of_signs_in_motion_refuses_a_photo_and_names_the_one_that_reads_it(letter_photos: Path) -> None:
    result = _run("recognize", letter_photos / "test" / "images" / "V10.jpg", "-m", "traduttore16")
    assert result.exit_code == 1
    assert "a photo holds one hand shape" in result.output and "--model fingerspelling" in result.output


def test_unknown_labels_are_refused_with_the_sets_the_model_names(letter_photos: Path) -> None:
    result = _run("recognize", letter_photos / "test" / "images" / "V10.jpg", "--labels", "vowels")
    assert result.exit_code == 2 and "its sets: letters, digits" in result.output


def test_a_letter_model_recognises_sequences_of_a_signer_it_never_saw(letter_sequences: Path, tmp_path: Path) -> None:
    """Trained for seconds on two signers' webcam sequences of five letters, measured on the third's."""
    from signscribe.data.mp_data import find_root, unpack_archive
    from signscribe.evaluation import evaluate
    from signscribe.training import TrainConfig, train

    folder = unpack_archive(letter_sequences)
    with (folder / "signers.csv").open(newline="") as file:
        authors = {(row["letter"], row["seq"]): row["author"] for row in csv.DictReader(file)}
    root, letters = find_root(folder), ("a", "i", "m", "o", "r")
    rows = [(root / letter / seq, letter, "val" if author == "Alex" else "train", author)
            for (letter, seq), author in authors.items() if letter in letters]  # fmt: skip
    data = tmp_path / "letters.csv"
    with data.open("w", newline="") as file:
        csv.writer(file).writerows([("path", "label", "split", "signer"), *rows])
    options = {"model": "hand_shape", "model_config": {"dim": 64}, "features": {"max_frames": 12}}
    train(TrainConfig(data=f"csv:{data}", epochs=8, batch=32, patience=0, select_best=False, **options), tmp_path / "m")
    report, _ = evaluate(Recognizer.from_pretrained(tmp_path / "m"), f"csv:{data}", split="val")
    assert report.samples == sum(row[2] == "val" for row in rows) and report.top_k[1] >= 0.8, report.top_k


def test_words_spelled_from_real_letter_sequences_are_read_back(letter_sequences: Path, tmp_path: Path) -> None:
    from signscribe.inference.fingerspell import Fingerspeller
    from signscribe.pose import save_pose
    from signscribe.serving.work import transcribe_upload

    speller = Fingerspeller.from_pretrained()
    spelled = cab_book(letter_sequences)
    transcript = speller.transcribe(spelled)
    assert transcript.text == "CAB BOOK", transcript.segments
    assert [s.gloss for s in transcript.segments] == list("CABBOOK")
    assert all(0 <= a.end <= b.start for a, b in zip(transcript.segments[:-1], transcript.segments[1:], strict=True))
    held_in_place = speller.transcribe(spelled_word(letter_sequences, "BOOK", False))
    assert held_in_place.text == "BOK"  # one O held twice as long is one O
    save_pose(spelled, tmp_path / "spelled.pose")
    result = _run("transcribe", tmp_path / "spelled.pose", "--fingerspell", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["text"] == "CAB BOOK"
    served = transcribe_upload(speller.recognizer, tmp_path / "spelled.pose", "cab.mp4", {"fingerspell": True})
    assert served.text == "CAB BOOK" and served.source == "cab.mp4"  # what POST /v1/transcribe?fingerspell=true gives


def test_a_photo_is_not_transcribed(letter_photos: Path) -> None:
    for extra in ((), ("--fingerspell",)):
        result = _run("transcribe", letter_photos / "test" / "images" / "V10.jpg", *extra)
        assert result.exit_code == 2 and "a photo is one moment, nothing to transcribe" in result.output


def test_models_names_the_label_sets() -> None:
    result = CliRunner().invoke(app, ["models", "fingerspelling"], env={"COLUMNS": "120"})
    assert result.exit_code == 0 and "letters (26), digits (10)" in result.output and "hand_shape" in result.output
