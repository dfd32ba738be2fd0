"""Translation: metrics against sacrebleu and rouge-score, the tokenizer, the model and decoding,
training on real How2Sign clips (memorising a handful of sentences), translate and its CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import sacrebleu
import torch
from rouge_score import rouge_scorer
from sacrebleu.metrics import CHRF
from typer.testing import CliRunner

from signscribe.cli import app
from signscribe.data import open_dataset
from signscribe.errors import InputFileError, SignscribeError
from signscribe.evaluation.translation import GENERATED_COLUMNS, SCORE_COLUMNS, read_lines, translation_scores
from signscribe.inference import Translator
from signscribe.models import create_model
from signscribe.models.families.pose_to_text import GenerationConfig, generate
from signscribe.models.pretrained import ModelFolderError, load_pretrained
from signscribe.models.text import TextTokenizer
from signscribe.pose import HolisticExtractor, PoseCache
from signscribe.training.translation import TranslationConfig, train_translation

REFERENCES = [
    "I call it painting the wall.",
    "And just let those fingers relax.",
    "Le café est très chaud, n'est-ce pas?",
    "Now together you're going to go opposite.",
    "日本語の文も数えます。",
]
HYPOTHESES = [
    "I call it painting the wall.",
    "",  # an empty hypothesis
    "le cafe est tres chaud",
    "Now you are going to go the opposite way.",
    "日本語の文",
]
TINY = {"dim": 64, "depth": 1, "decoder_depth": 1, "heads": 2, "dropout": 0.0}


def _library_scores(hypotheses: list[str], references: list[str], lowercase: bool = False) -> dict[str, float]:
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
    rouge = [scorer.score(r, h) for h, r in zip(hypotheses, references, strict=True)]
    return {
        "bleu": sacrebleu.corpus_bleu(hypotheses, [references], tokenize="13a", lowercase=lowercase).score,
        "chrf": CHRF(lowercase=lowercase).corpus_score(hypotheses, [references]).score,
        **{name: sum(s[name].fmeasure for s in rouge) / len(rouge) for name in ("rouge1", "rouge2", "rougeL")},
    }


@pytest.mark.parametrize("lowercase", [False, True])
def test_scores_equal_sacrebleu_and_rouge_score(lowercase: bool) -> None:
    scores = translation_scores(HYPOTHESES, REFERENCES, lowercase=lowercase)
    expected = _library_scores(HYPOTHESES, REFERENCES, lowercase)
    assert {name: getattr(scores, name) for name in expected} == expected
    assert 0 < scores.bleu < 100 and 0 < scores.rougeL < 1
    assert scores.bleu_signature.startswith("nrefs:1|case:" + ("lc" if lowercase else "mixed") + "|eff:no|tok:13a")
    assert translation_scores(REFERENCES, REFERENCES).bleu == pytest.approx(100.0)


def test_all_empty_hypotheses_score_zero() -> None:
    scores = translation_scores(["", ""], REFERENCES[:2])
    assert (scores.bleu, scores.rouge1, scores.rougeL) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="2 hypotheses but 3 references"):
        translation_scores(["a", "b"], ["a", "b", "c"])


def test_evaluate_translation_cli_on_files_and_on_generated_texts(tmp_path: Path) -> None:
    hyp, ref = tmp_path / "hyp.txt", tmp_path / "ref.txt"
    hyp.write_text("\n".join(HYPOTHESES) + "\n", encoding="utf-8")
    ref.write_text("\r\n".join(REFERENCES) + "\r\n", encoding="utf-8")  # CRLF reads the same
    assert read_lines(hyp) == HYPOTHESES and read_lines(ref) == REFERENCES
    runner = CliRunner()
    result = runner.invoke(
        app, ["evaluate-translation", "--hyp", str(hyp), "--ref", str(ref), "--json", str(tmp_path / "s.json")]
    )
    assert result.exit_code == 0, result.output
    assert "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:" in result.output
    saved = json.loads((tmp_path / "s.json").read_text())
    expected = _library_scores(HYPOTHESES, REFERENCES)
    assert {name: saved[name] for name in expected} == expected and saved["sentences"] == 5
    assert f"{expected['bleu']:.2f}" in result.output

    generated = tmp_path / "generated_texts.csv"
    with generated.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(GENERATED_COLUMNS)
        for epoch, texts in ((1, ["x"] * 5), (2, HYPOTHESES)):
            for i, (text, true) in enumerate(zip(texts, REFERENCES, strict=True)):
                writer.writerow([i, f"clip{i}", text, true, epoch])
    result = runner.invoke(app, ["evaluate-translation", "--hyp", str(generated), "--json", str(tmp_path / "g.json")])
    assert result.exit_code == 0 and "epoch 2" in result.output
    assert json.loads((tmp_path / "g.json").read_text())["bleu"] == expected["bleu"]
    result = runner.invoke(app, ["evaluate-translation", "--hyp", str(generated), "--epoch", "1", "--lowercase"])
    assert result.exit_code == 0 and "epoch 1" in result.output and "case:lc" in result.output

    short = tmp_path / "short.txt"
    short.write_text("one line\n", encoding="utf-8")
    result = runner.invoke(app, ["evaluate-translation", "--hyp", str(short), "--ref", str(ref)])
    assert result.exit_code == 2 and "short.txt: 1 lines but" in result.output
    result = runner.invoke(app, ["evaluate-translation", "--hyp", str(generated), "--epoch", "7"])
    assert result.exit_code == 2 and "no rows for epoch 7" in result.output
    (tmp_path / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    result = runner.invoke(app, ["evaluate-translation", "--hyp", str(tmp_path / "latin1.txt"), "--ref", str(ref)])
    assert result.exit_code == 2 and "latin1.txt: not UTF-8 text" in result.output


def test_generated_texts_with_line_breaks_read_back_whole(tmp_path: Path) -> None:
    """An untrained decoder writes any bytes, carriage returns and line feeds included."""
    from signscribe.evaluation.translation import read_generated_texts
    from signscribe.files import write_csv_atomic

    texts = ["plain", "a\rcarriage return", "a\nline feed", 'tab\tand "quotes", commas', "\r\n"]
    rows = [
        {"id": i, "video_id": f"v{i}", "generated": t, "true": REFERENCES[i], "epoch": 1} for i, t in enumerate(texts)
    ]
    write_csv_atomic(tmp_path / "generated_texts.csv", GENERATED_COLUMNS, rows)
    assert read_generated_texts(tmp_path / "generated_texts.csv") == (texts, REFERENCES, 1)


def test_tokenizer_round_trips_any_text(tmp_path: Path) -> None:
    tokenizer = TextTokenizer.train(REFERENCES, vocab_size=400)
    assert (tokenizer.pad_id, tokenizer.bos_id, tokenizer.eos_id) == (0, 1, 2)
    for text in [*REFERENCES, "Unseen wörds ✓ and emoji 🤟", ""]:
        assert tokenizer.decode(tokenizer.encode(text)) == text
    assert len(tokenizer.encode(REFERENCES[0])) < len(REFERENCES[0])  # merges were learned
    (tmp_path / "tokenizer.json").write_text(tokenizer.to_json())
    assert TextTokenizer.from_file(tmp_path / "tokenizer.json").encode("relax") == tokenizer.encode("relax")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(InputFileError, match=r"bad\.json: not a readable tokenizer"):
        TextTokenizer.from_file(tmp_path / "bad.json")


def _batch(frames: int = 12, batch: int = 2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    points = torch.randn(batch, frames, 67, 2, generator=generator)
    return points, torch.ones(batch, frames, 67, dtype=torch.bool), torch.ones(batch, frames, dtype=torch.bool)


def test_model_shapes_padding_and_decoding_limits() -> None:
    torch.manual_seed(0)
    model = create_model("pose_to_text", 50, **TINY).eval()
    points, present, frames = _batch()
    tokens = torch.tensor([[1, 7, 8, 0], [1, 9, 0, 0]])
    logits = model(points, present, frames, tokens)
    assert logits.shape == (2, 4, 50)
    # padding frames at the end changes nothing for the real ones
    padded = torch.cat([points, torch.zeros(2, 5, 67, 2)], dim=1)
    mask = torch.cat([frames, torch.zeros(2, 5, dtype=torch.bool)], dim=1)
    present_padded = torch.cat([present, torch.zeros(2, 5, 67, dtype=torch.bool)], dim=1)
    assert torch.allclose(model(padded, present_padded, mask, tokens), logits, atol=1e-5)
    # causal: the logits of a position do not depend on later tokens
    changed = tokens.clone()
    changed[0, 2] = 20
    assert torch.allclose(model(points, present, frames, changed)[0, :2], logits[0, :2], atol=1e-5)

    for beam in (1, 3):
        ids = generate(model, points, present, frames, 1, 2, GenerationConfig(max_length=5, beam_size=beam))
        assert len(ids) == 2 and all(len(row) <= 5 and 2 not in row for row in ids)
    greedy = generate(model, points, present, frames, 1, 2, GenerationConfig(max_length=6, beam_size=1))
    one_beam = [generate(model, points[i : i + 1], present[i : i + 1], frames[i : i + 1], 1, 2,
                         GenerationConfig(max_length=6, beam_size=1))[0] for i in range(2)]  # fmt: skip
    assert greedy == one_beam
    with pytest.raises(ValueError, match="max_length and beam_size must be at least 1"):
        GenerationConfig(beam_size=0)


def test_beam_search_finds_a_likelier_sentence_than_greedy() -> None:
    """A decoder whose first greedy choice leads to unlikely continuations: beam search recovers."""

    class Scripted(torch.nn.Module):
        def encode(self, points, present, frames):
            return torch.zeros(len(points), 1, 4)

        def decode(self, memory, frames, tokens):
            logits = torch.full((len(tokens), tokens.shape[1], 6), -20.0)
            for row, ids in enumerate(tokens.tolist()):
                if len(ids) == 1:  # after BOS: token 3 (0.55) or token 4 (0.45)
                    logits[row, -1, 3], logits[row, -1, 4] = 0.55, 0.45
                elif ids[-1] == 3:  # 3 is followed by two equally unlikely tokens
                    logits[row, -1, 4], logits[row, -1, 5] = 0.0, 0.0
                else:  # 4 and 5 end the sentence with certainty
                    logits[row, -1, 2] = 10.0
            return logits

    points, present, frames = _batch(batch=1)
    greedy = generate(Scripted(), points, present, frames, 1, 2, GenerationConfig(max_length=5, beam_size=1))
    beam = generate(Scripted(), points, present, frames, 1, 2, GenerationConfig(max_length=5, beam_size=2))
    assert greedy == [[3, 4]]
    assert beam == [[4]]


@pytest.fixture(scope="module")
def few_sentences(how2sign_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A csv: dataset of the four shortest real How2Sign sentence clips."""
    dataset = open_dataset(f"how2sign:{how2sign_dir / 'how2sign_realigned_val.csv'}")
    chosen = sorted(dataset.samples, key=lambda sample: len(sample.label or ""))[:4]
    path = tmp_path_factory.mktemp("few") / "few.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["path", "label"])
        writer.writerows([sample.path.resolve(), sample.label] for sample in chosen)
    return path


@pytest.fixture(scope="module")
def memorised(few_sentences: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = TranslationConfig(data=f"csv:{few_sentences}", val=f"csv:{few_sentences}", epochs=100, batch=4, lr=3e-3,
                               augment=False, label_smoothing=0.0, warmup_epochs=1, model_config=TINY)  # fmt: skip
    out = tmp_path_factory.mktemp("memorised") / "run"
    train_translation(config, out, extractor=HolisticExtractor(cache=PoseCache()))
    return out


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as file:
        reader = csv.DictReader(file)
        return list(reader.fieldnames or []), list(reader)


@pytest.mark.slow
def test_a_model_memorises_real_sentences_and_logs_like_seed_000(memorised: Path, few_sentences: Path) -> None:
    columns, generated = _read_csv(memorised / "generated_texts.csv")
    assert columns == ["id", "video_id", "generated", "true", "epoch"]
    assert len(generated) == 4 * 100 and [int(row["id"]) for row in generated] == list(range(400))
    last = [row for row in generated if row["epoch"] == "100"]
    assert all(row["generated"] == row["true"] for row in last), last
    columns, scores = _read_csv(memorised / "validation_scores.csv")
    assert columns == list(SCORE_COLUMNS) == ["epoch", "rouge1", "rouge2", "rougeL", "bleu", "chrf"]
    assert float(scores[-1]["bleu"]) == pytest.approx(100.0) and float(scores[-1]["rougeL"]) == pytest.approx(1.0)
    _, history = _read_csv(memorised / "history.csv")
    losses = [float(row["train_loss"]) for row in history]
    assert losses[-1] < losses[0] / 10 and losses[20] < losses[0]
    for name in ("model.safetensors", "config.json", "tokenizer.json", "model_card.md", "curves.png"):
        assert (memorised / name).is_file()
    config = json.loads((memorised / "config.json").read_text())
    assert config["task"] == "translation" and config["generation"]["beam_size"] == 4

    # the saved folder translates the memorised clips with beam search and greedily
    translator = Translator.from_pretrained(memorised)
    _, rows = _read_csv(few_sentences)
    assert translator.translate(rows[0]["path"]) == rows[0]["label"]
    assert translator.translate(rows[1]["path"], beam_size=1) == rows[1]["label"]
    assert len(translator.tokenizer.encode(translator.translate(rows[2]["path"], max_length=2))) <= 2


@pytest.mark.slow
def test_translate_cli_and_folder_kinds(memorised: Path, few_sentences: Path, tmp_path: Path) -> None:
    _, rows = _read_csv(few_sentences)
    runner = CliRunner()
    result = runner.invoke(app, ["translate", rows[0]["path"], "--model", str(memorised)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == rows[0]["label"]
    out = tmp_path / "sentences.txt"
    result = runner.invoke(app, ["translate", rows[0]["path"], rows[3]["path"], "-m", str(memorised), "-o", str(out)])
    assert result.exit_code == 0 and read_lines(out) == [rows[0]["label"], rows[3]["label"]]
    # a recognition folder is refused by translate, and a translation folder by recognize
    result = runner.invoke(app, ["translate", rows[0]["path"], "--model", "default"])
    assert result.exit_code == 2 and "holds a recognition model, not a translation model" in result.output
    with pytest.raises(ModelFolderError, match="holds a translation model, not a recognition model"):
        load_pretrained(memorised, task="recognition")


@pytest.mark.slow
def test_resume_continues_and_refuses_changed_options(memorised: Path, few_sentences: Path, tmp_path: Path) -> None:
    base = {"data": f"csv:{few_sentences}", "val": f"csv:{few_sentences}", "batch": 4, "augment": False,
            "model_config": TINY}  # fmt: skip
    out = tmp_path / "run"
    extractor = HolisticExtractor(cache=PoseCache())
    train_translation(TranslationConfig(**base, epochs=2), out, extractor=extractor)
    with pytest.raises(SignscribeError, match="holds a previous run"):
        train_translation(TranslationConfig(**base, epochs=2), out, extractor=extractor)
    with pytest.raises(SignscribeError, match=r"cannot resume with changed options \['lr'\]"):
        train_translation(TranslationConfig(**base, epochs=3, lr=0.1), out, resume=True, extractor=extractor)
    result = train_translation(TranslationConfig(**base, epochs=3), out, resume=True, extractor=extractor)
    assert [row["epoch"] for row in result.history] == [1, 2, 3]
    _, generated = _read_csv(out / "generated_texts.csv")
    assert [row["epoch"] for row in generated] == ["1"] * 4 + ["2"] * 4 + ["3"] * 4


@pytest.mark.slow
def test_cli_trains_on_all_real_how2sign_clips(how2sign_dir: Path, tmp_path: Path) -> None:
    """The documented command on the 24 real clips: the loss falls over a few epochs."""
    out = tmp_path / "h2s"
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({"model_config": TINY, "val_fraction": 0.2}))
    args = ["train-translation", "--data", f"how2sign:{how2sign_dir / 'how2sign_realigned_val.csv'}",
            "--videos", str(how2sign_dir / "clips"), "--config", str(config), "--epochs", "4", "--batch", "8",
            "--workers", "2", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "epoch 4: train loss" in result.output and "BLEU" in result.output
    _, history = _read_csv(out / "history.csv")
    losses = [float(row["train_loss"]) for row in history]
    assert losses[-1] < losses[0]
    _, generated = _read_csv(out / "generated_texts.csv")
    assert len(generated) == 4 * 5  # 20% of 24 clips validate, every epoch


def test_train_translation_refuses_a_recognition_model_and_bad_options(tmp_path: Path) -> None:
    with pytest.raises(SignscribeError, match="pose_transformer is a recognition model; train it with train"):
        train_translation(TranslationConfig(data="csv:x.csv", model="pose_transformer"), tmp_path / "o")
    with pytest.raises(ValueError, match="max_length at least 2"):
        TranslationConfig(max_length=1)
    result = CliRunner().invoke(app, ["train-translation", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "give --data" in result.output


def test_sentence_split_follows_val_then_the_data(how2sign_dir: Path, few_sentences: Path) -> None:
    from signscribe.training.splits import split_samples

    h2s = f"how2sign:{how2sign_dir / 'how2sign_realigned_val.csv'}"
    clips = str(how2sign_dir / "clips")
    _, train, val = split_samples(TranslationConfig(data=h2s, videos=clips, val=f"csv:{few_sentences}"), False)
    assert len(train) == 24 and len(val) == 4
    _, train, val = split_samples(TranslationConfig(data=f"csv:{few_sentences}", val=h2s, val_videos=clips), False)
    assert len(train) == 4 and len(val) == 24
    _, train, val = split_samples(TranslationConfig(data=h2s, videos=clips, val_fraction=0.25, seed=3), False)
    assert (len(train), len(val)) == (18, 6) and not {s.id for s in train} & {s.id for s in val}
