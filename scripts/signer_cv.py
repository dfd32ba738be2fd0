"""Signer-disjoint k-fold cross-validation of the default model's recipe on WLASL100 train+val: how well
it recognises people it never saw.

The 1,780 clips of ``wlasl100.csv`` (96 signers) are split into ``--folds`` folds of signers
(``signscribe.training.splits.signer_folds``: about the same number of clips each, no signer in two
folds). For each fold, ``configs/wlasl100.json`` (one member of the shipped ensemble) trains on the other
folds for its fixed epochs and keeps the **last** epoch, so the held-out signers never choose the
model; then ``signscribe.evaluate`` measures it on them. The mean and standard deviation of top-1
over the folds go into the card with ``--card``.

Each fold's run is kept in ``runs/signer_cv/fold-K``: an interrupted one resumes from its checkpoint.
A measured fold is recorded in ``scripts/results/signer_cv.json``, which is part of the repository, so
that the folds can run in different sessions or on other machines (a fold's ``result.json`` from one
counts too); a record holds the recipe it measured, and one of another recipe, fold count or seed is not
reused. A fold takes about 24 minutes on 2 CPU cores, once the landmarks of the
1,780 clips are in the pose cache (``signscribe extract --data csv:...``). ``--data`` takes a copy of
``wlasl100.csv`` whose paths are the clips' ``.pose`` files (``signscribe extract --out``), for a
machine without the videos.

    .venv/bin/python scripts/signer_cv.py                 # all folds, then the table
    .venv/bin/python scripts/signer_cv.py --only 0 1      # some folds now, the rest later
    .venv/bin/python scripts/signer_cv.py --card          # the table into the default model's card
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import signscribe
from signscribe.data import open_dataset
from signscribe.files import write_csv_atomic, write_section, write_text_atomic
from signscribe.training import TrainConfig
from signscribe.training.splits import signer_folds

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "wlasl100" / "wlasl100.csv"
CONFIG = ROOT / "configs" / "wlasl100.json"
RUNS = ROOT / "runs" / "signer_cv"
RESULTS = ROOT / "scripts" / "results" / "signer_cv.json"
CARD = ROOT / "src" / "signscribe" / "models" / "bundled" / "wlasl100" / "model_card.md"
BEGIN, END = "<!-- signer cv: begin -->", "<!-- signer cv: end -->"
COLUMNS = ("path", "label", "split", "signer")


def fold_tables(data: Path, folds: int, seed: int) -> list[tuple[Path, Path, set[str]]]:
    """Per fold: the CSV of its training clips, that of its held-out signers' clips, and those signers."""
    samples = open_dataset(f"csv:{data}").samples
    tables = []
    for index, held in enumerate(signer_folds(samples, folds, seed)):
        paths = []
        for name, is_held in (("train", False), ("held", True)):
            rows = [{"path": s.path.resolve(), "label": s.label, "split": name, "signer": s.signer}
                    for s in samples if (s.signer in held) == is_held]  # fmt: skip
            paths.append(RUNS / f"fold-{index}" / f"{name}.csv")
            write_csv_atomic(paths[-1], COLUMNS, rows)
        tables.append((paths[0], paths[1], held))
    return tables


def recorded(folds: int, seed: int, recipe: dict) -> dict[int, dict]:
    """The folds of this split and recipe measured before, by fold."""
    records = json.loads(RESULTS.read_text()) if RESULTS.is_file() else []
    return {r["fold"]: r for r in records if (r["folds"], r["seed"], r["recipe"]) == (folds, seed, recipe)}


def record(result: dict) -> None:
    """Keep ``result`` in the results file, in place of an earlier record of the same fold, split and recipe."""
    records = json.loads(RESULTS.read_text()) if RESULTS.is_file() else []
    same = ("fold", "folds", "seed", "recipe")
    records = [r for r in records if any(r[key] != result[key] for key in same)] + [result]
    records.sort(key=lambda r: (r["folds"], r["seed"], r["fold"]))
    write_text_atomic(RESULTS, json.dumps(records, indent=1) + "\n")


def run_fold(index: int, folds: int, seed: int, train_csv: Path, held_csv: Path) -> dict:
    """Fold ``index``'s result: recorded before, or trained (resumed when interrupted) and measured on its
    held-out signers, then recorded."""
    recipe = json.loads(CONFIG.read_text())
    if (earlier := recorded(folds, seed, recipe).get(index)) is not None:
        return earlier
    out = RUNS / f"fold-{index}" / "model"
    result_path = RUNS / f"fold-{index}" / "result.json"
    if result_path.is_file():  # written once the fold is measured, before it is recorded
        result = json.loads(result_path.read_text())
        if result.get("recipe") != recipe:
            raise SystemExit(f"{result_path}: measures another recipe than {CONFIG}; remove {result_path.parent}")
    else:
        config = TrainConfig(**recipe, data=f"csv:{train_csv}", val=f"csv:{held_csv}", select_best=False)
        signscribe.train(config, out, resume=(out / "checkpoint" / "state.json").is_file(), workers=2, log=print)
        report, failed = signscribe.evaluate(signscribe.Recognizer.from_pretrained(out), f"csv:{held_csv}")
        result = {"fold": index, "clips": report.samples, "failed": len(failed),
                  "top1": report.top_k[1], "top5": report.top_k.get(5), "recipe": recipe}  # fmt: skip
        write_text_atomic(result_path, json.dumps(result, indent=1) + "\n")
    result = {**result, "folds": folds, "seed": seed}
    record(result)
    return result


def card_section(results: list[dict], signers: list[int], epochs: int) -> str:
    top1 = [r["top1"] for r in results]
    rows = [f"| {r['fold']} | {n} | {r['clips']} | {r['top1']:.1%} | {r['top5'] or 0:.1%} |"
            for r, n in zip(results, signers, strict=True)]  # fmt: skip
    return "\n".join([
        BEGIN,
        "## New signers: signer-disjoint cross-validation",
        "",
        f"WLASL100 train+val ({sum(r['clips'] for r in results):,} clips, {sum(signers)} signers) in "
        f"{len(results)} folds of signers; each fold trains one member",
        f"(`configs/wlasl100.json`, {epochs} epochs, the last kept) on the others and is measured on its own signers,",
        "whom training never saw (`scripts/signer_cv.py`). Val above shares signers with train; this does not.",
        "",
        f"**top-1 {statistics.mean(top1):.1%} ± {statistics.stdev(top1):.1%}** (mean ± sd over the folds)",
        "",
        "| fold | signers | clips | top-1 | top-5 |",
        "| ---: | ---: | ---: | ---: | ---: |",
        *rows,
        END,
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0, help="the order of signers with as many clips")
    parser.add_argument("--only", type=int, nargs="+", help="run only these folds (the table needs all)")
    parser.add_argument("--card", action="store_true", help="write the table into the default model's card")
    parser.add_argument("--data", type=Path, default=DATA, help="wlasl100.csv, or a copy of it (videos or .pose files)")
    args = parser.parse_args()
    tables = fold_tables(args.data, args.folds, args.seed)
    chosen = args.only if args.only is not None else range(args.folds)
    results = [run_fold(index, args.folds, args.seed, *tables[index][:2]) for index in chosen]
    for result in results:
        print({key: value for key, value in result.items() if key != "recipe"}, flush=True)
    if len(results) < args.folds:
        done = sorted(recorded(args.folds, args.seed, json.loads(CONFIG.read_text())))
        print(f"folds recorded: {done} of {args.folds}; run the others (--only) for the table")
        return
    epochs = json.loads(CONFIG.read_text())["epochs"]
    section = card_section(results, [len(held) for _, _, held in tables], epochs)
    print(section)
    if args.card:
        write_section(CARD, section, BEGIN, END, before="## What helped: ablation on val")
        print(f"wrote {CARD}")


if __name__ == "__main__":
    main()
