"""Translation metrics as the sign-language translation literature reports them: corpus BLEU and
chrF from sacrebleu (0-100), ROUGE-1/2/L F1 from rouge-score (0-1, mean over sentences), and the
per-epoch files of the LLaVA-NeXT-Video / Video-LLaVA How2Sign fine-tuning scripts:
``generated_texts.csv`` (``id, video_id, generated, true, epoch``) and ``validation_scores.csv``.

The numbers are those libraries' own; nothing is re-implemented here.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path

from rouge_score import rouge_scorer
from sacrebleu.metrics import BLEU, CHRF

from signscribe.errors import InputFileError

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
GENERATED_COLUMNS = ("id", "video_id", "generated", "true", "epoch")
SCORE_COLUMNS = ("epoch", "rouge1", "rouge2", "rougeL", "bleu", "chrf")


@dataclass(frozen=True)
class TranslationScores:
    bleu: float
    chrf: float
    rouge1: float
    rouge2: float
    rougeL: float
    sentences: int
    bleu_signature: str
    chrf_signature: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def translation_scores(hypotheses: list[str], references: list[str], lowercase: bool = False) -> TranslationScores:
    """Corpus BLEU (13a tokenisation, cased unless ``lowercase``), chrF, and mean ROUGE F1."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    if not references:
        raise ValueError("no sentences to score")
    bleu = BLEU(tokenize="13a", lowercase=lowercase)
    chrf = CHRF(lowercase=lowercase)
    bleu_score = bleu.corpus_score(hypotheses, [references])
    chrf_score = chrf.corpus_score(hypotheses, [references])
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES))
    totals = dict.fromkeys(ROUGE_TYPES, 0.0)
    for hypothesis, reference in zip(hypotheses, references, strict=True):
        for name, score in scorer.score(reference, hypothesis).items():
            totals[name] += score.fmeasure
    return TranslationScores(
        bleu=bleu_score.score,
        chrf=chrf_score.score,
        **{name: total / len(references) for name, total in totals.items()},
        sentences=len(references),
        bleu_signature=str(bleu.get_signature()),
        chrf_signature=str(chrf.get_signature()),
    )


def read_lines(path: str | Path) -> list[str]:
    """One sentence per line (UTF-8); a trailing newline does not add an empty sentence."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputFileError(path, f"not UTF-8 text ({error.reason} at byte {error.start})") from error
    return text.replace("\r\n", "\n").removesuffix("\n").split("\n") if text else []


def read_generated_texts(path: str | Path, epoch: int | None = None) -> tuple[list[str], list[str], int]:
    """Hypotheses, references and the epoch chosen from a ``generated_texts.csv`` (the last epoch
    unless ``epoch`` is given)."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found")
    with path.open(encoding="utf-8", newline="") as file:
        reader = csv.DictReader(file)
        if reader.fieldnames is None or not set(GENERATED_COLUMNS) <= set(reader.fieldnames):
            raise InputFileError(path, f"line 1: expected the columns {', '.join(GENERATED_COLUMNS)}")
        rows = list(reader)
    try:
        epochs = sorted({int(row["epoch"]) for row in rows})
    except (TypeError, ValueError) as error:
        raise InputFileError(path, f"the epoch column holds a non-integer ({error})") from error
    if not epochs:
        raise InputFileError(path, "no rows")
    chosen = epochs[-1] if epoch is None else epoch
    if chosen not in epochs:
        raise InputFileError(path, f"no rows for epoch {chosen}; epochs present: {epochs[0]}-{epochs[-1]}")
    selected = [row for row in rows if int(row["epoch"]) == chosen]
    return [row["generated"] for row in selected], [row["true"] for row in selected], chosen


def read_pairs(
    hyp: str | Path, ref: str | Path | None = None, epoch: int | None = None
) -> tuple[list[str], list[str], int | None]:
    """Hypotheses and references to score: a ``generated_texts.csv`` (which holds both; ``epoch``
    picks one, the last by default, and is returned), or two files of one sentence a line."""
    hyp = Path(hyp)
    if hyp.suffix == ".csv":
        if ref is not None:
            raise ValueError("a generated_texts.csv holds its references; leave out --ref")
        return read_generated_texts(hyp, epoch)
    if ref is None:
        raise ValueError("give --ref with the reference sentences")
    hypotheses, references = read_lines(hyp), read_lines(ref)
    if len(hypotheses) != len(references):
        raise InputFileError(hyp, f"{len(hypotheses)} lines but {ref} has {len(references)}")
    return hypotheses, references, None
