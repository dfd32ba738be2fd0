"""The sign bank on real signing: signs taught from a few real MP_Data sequences (three signers) with
the pose encoder of a bundled model, recognised, rejected when they are unlike any, listed, removed,
and stored as a plain folder (JSON plus safetensors)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors.numpy import load_file
from typer.testing import CliRunner

from signscribe.cli import app
from signscribe.data import read_mp_data
from signscribe.errors import InputFileError
from signscribe.inference.bank import SignBank


@pytest.fixture(scope="module")
def sequences(keypoints_archive: Path) -> dict[str, Path]:
    """Real MP_Data sequences by id (``label/number``; 0-29, 30-59 and 60-89 are three signers)."""
    return {sample.id: sample.path for sample in read_mp_data(keypoints_archive).samples}


def test_a_bank_learns_signs_from_a_few_examples_and_rejects_the_rest(
    sequences: dict[str, Path], tmp_path: Path
) -> None:
    bank = tmp_path / "bank"
    runner = CliRunner()
    for gloss in ("hello", "water", "coffee"):  # two examples each, from the first two signers
        examples = [str(sequences[f"{gloss}/{number}"]) for number in (3, 33)]
        added = runner.invoke(app, ["bank", "add", gloss, *examples, "--bank", str(bank), "--encoder", "traduttore16"])
        assert added.exit_code == 0, added.output
    assert "coffee: 2 example(s); the bank knows 3 sign(s)" in added.output
    state = json.loads((bank / "bank.json").read_text())
    assert state["encoder"] == "traduttore16" and [e["gloss"] for e in state["examples"]].count("water") == 2
    assert load_file(bank / "embeddings.safetensors")["vectors"].shape[0] == 6

    for gloss in ("hello", "water", "coffee"):  # the third signer, never seen by the bank
        answer = runner.invoke(app, ["bank", "recognize", str(sequences[f"{gloss}/75"]), "--bank", str(bank),
                                     "--format", "json"])  # fmt: skip
        assert answer.exit_code == 0, answer.output
        (result,) = json.loads(answer.stdout)["results"]
        assert result["sign"] == gloss, result
        assert result["nearest"][0]["gloss"] == gloss and len(result["nearest"]) == 3
    several = runner.invoke(app, ["bank", "recognize", str(sequences["hello/76"]), str(sequences["water/76"]),
                                  "--bank", str(bank), "--format", "json"])  # fmt: skip
    assert [answer["sign"] for answer in json.loads(several.stdout)["results"]] == ["hello", "water"]
    strict = runner.invoke(app, ["bank", "recognize", str(sequences["tea/75"]), "--bank", str(bank), "--threshold",
                                 "0.9999"])  # fmt: skip
    assert strict.exit_code == 0 and "not a sign I know" in strict.stdout

    listed = runner.invoke(app, ["bank", "list", "--bank", str(bank)])
    assert listed.exit_code == 0 and "hello" in listed.output and "traduttore16" in listed.output
    removed = runner.invoke(app, ["bank", "remove", "water", "--bank", str(bank)])
    assert removed.exit_code == 0 and "removed water (2 example(s)); 2 sign(s) left" in removed.output
    assert SignBank.open(bank).signs() == {"hello": 2, "coffee": 2}
    unknown = runner.invoke(app, ["bank", "remove", "water", "--bank", str(bank)])
    assert unknown.exit_code == 2 and "no sign 'water'" in unknown.output


def test_a_bank_refuses_what_it_cannot_use(sequences: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="no sign bank here"):
        SignBank.open(tmp_path / "none")
    bank = SignBank.open(tmp_path / "bank", "traduttore16", create=True)
    bank.add("hello", [sequences["hello/1"]])
    bank.save()
    with pytest.raises(InputFileError, match="compares clips with 'traduttore16', not 'wlasl100'"):
        SignBank.open(tmp_path / "bank", "wlasl100")
    (tmp_path / "bank" / "embeddings.safetensors").write_bytes(b"broken")
    with pytest.raises(InputFileError, match="not a readable sign bank"):
        SignBank.open(tmp_path / "bank")


def test_training_starts_from_a_bundled_models_encoder_with_a_new_head(keypoints_archive: Path, tmp_path: Path) -> None:
    """``--init-from traduttore16 --freeze-encoder``: the encoder's weights come from the bundled model
    and stay as they were; only the new head (for these labels) trains."""
    import torch

    from signscribe.models.pretrained import load_pretrained
    from signscribe.models.weights import encoder_of

    out = tmp_path / "started"
    result = CliRunner().invoke(app, ["train", "--data", f"mp_data:{keypoints_archive}", "--sequences-per-signer", "4",
                                      "--init-from", "traduttore16", "--freeze-encoder", "--epochs", "3",
                                      "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (
        "started from traduttore16 (pose_transformer); head.1.weight, head.1.bias new, the rest frozen" in result.output
    )
    start_architecture, _, start = encoder_of(load_pretrained("traduttore16"))
    trained = load_pretrained(out)
    assert trained.architecture == start_architecture
    weights = trained.model.state_dict()
    assert all(torch.equal(weights[key], value) for key, value in start.items() if not key.startswith("head."))
    assert not torch.equal(weights["head.1.weight"], start["head.1.weight"])
    assert trained.features == load_pretrained("traduttore16").features  # the start's input settings


def test_the_bank_over_rest_is_each_keys_own(make_client, wlasl_dir: Path, tmp_path: Path) -> None:
    clips = {gloss: (wlasl_dir / "clips" / f"{name}.mp4").read_bytes() for gloss, name in
             (("agreement", "01586"), ("basketball", "65145"))}  # fmt: skip
    client = make_client(api_keys=frozenset({"alice", "bob"}))
    alice, bob = {"X-API-Key": "alice"}, {"X-API-Key": "bob"}
    assert (
        client.post("/v1/bank/recognize", files={"file": ("a.mp4", clips["agreement"])}, headers=alice).status_code
        == 409
    )
    for gloss, data in clips.items():
        added = client.post(f"/v1/bank/signs?gloss={gloss}", files={"file": (f"{gloss}.mp4", data)}, headers=alice)
        assert added.status_code == 200, added.text
    assert added.json()["signs"] == {"agreement": 1, "basketball": 1}
    assert added.json()["encoder"] == "traduttore16"  # the server's default model
    answer = client.post("/v1/bank/recognize", files={"file": ("again.mp4", clips["agreement"])}, headers=alice)
    assert answer.status_code == 200 and answer.json()["sign"] == "agreement"
    assert answer.json()["similarity"] == pytest.approx(1.0, abs=1e-4)  # the very clip it was taught
    assert client.get("/v1/bank", headers=bob).json()["signs"] == {}  # bob's bank is his own
    assert client.delete("/v1/bank/signs/agreement", headers=bob).status_code == 404
    removed = client.delete("/v1/bank/signs/agreement", headers=alice)
    assert removed.status_code == 200 and removed.json()["signs"] == {"basketball": 1}
    bad = client.post("/v1/bank/signs?gloss=x", files={"file": ("x.mp4", b"not a video")}, headers=alice)
    assert bad.status_code == 415 and client.get("/v1/bank", headers=alice).json()["signs"] == {"basketball": 1}
