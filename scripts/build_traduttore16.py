"""Reproduce the bundled model `traduttore16` (``src/signscribe/models/bundled/traduttore16``) and its card.

The traduttore archive records "no sign" (`-`) with the hands out of the frame, while people in
real use rest with their hands in view, where a model that only saw the former calls a sign. So:

1. Harder idle examples: for each signer, two copies of each of its idle sequences with both hands
   resting in view (``signscribe.pose.resting.rest_hands``: real hand shapes, low in the frame,
   nearly still), written as ``.pose`` files; ``runs/traduttore16/data.csv`` lists them with the
   archive's sequences.
2. Leave-one-signer-out: for each of the three signers, ``signscribe.train`` on the other two
   (``configs/traduttore16.json``: fixed epochs, the last epoch kept, so the held-out signer never
   chooses the model), then ``signscribe.evaluate`` on the held-out signer's archive sequences and,
   apart, on its harder idle examples, with the no-sign detector and without it.
3. The shipped model: the same options on all three signers (a stratified 20% held out only to
   watch the curves).
4. The model card: leave-one-signer-out accuracy per fold and per class, idle recall on the harder
   examples, the ridge baseline (``benchmarks/ridge_baseline.py``), size and speed.

Run from the repository root: ``.venv/bin/python scripts/build_traduttore16.py`` (about 25
minutes on 2 CPU cores). Runs are kept in ``runs/traduttore16``; ``--reuse-runs`` keeps the
finished ones and only redoes what is missing (then copies the model and rewrites the card).
"""

from __future__ import annotations

import argparse
import csv
import json
import runpy
import shutil
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

from signscribe.data import read_mp_data
from signscribe.evaluation import evaluate
from signscribe.inference import Recognizer
from signscribe.inference.recognizer import IDLE_LABEL
from signscribe.pose import load_mp_sequence, save_pose
from signscribe.pose.resting import hand_shapes, rest_hands
from signscribe.training import TrainConfig, train

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "traduttore16.json"
RUNS = ROOT / "runs" / "traduttore16"
DEST = ROOT / "src" / "signscribe" / "models" / "bundled" / "traduttore16"
ARCHIVE = ROOT.parent / "shared" / "data" / "keypoints" / "traduttore_asl16_seq0-89.tar.gz"
SIGNERS = ("0", "1", "2")
SEQUENCES_PER_SIGNER = 30
REST_COPIES = 2  # harder idle examples made of each idle sequence


def rest_examples(data_csv: Path) -> None:
    """The harder idle examples and ``data.csv`` (path, label, signer) with the archive's sequences."""
    data = read_mp_data(ARCHIVE, sequences_per_signer=SEQUENCES_PER_SIGNER)
    signs = [load_mp_sequence(s.path) for s in data.samples if s.label != IDLE_LABEL][::5]
    shapes = hand_shapes(signs)
    rows = [(s.path, s.label, s.signer) for s in data.samples]
    for sample in (s for s in data.samples if s.label == IDLE_LABEL):
        sequence = load_mp_sequence(sample.path)
        for copy in range(REST_COPIES):
            rng = np.random.default_rng([int(sample.id.split("/")[1]), copy])
            path = RUNS / "rest" / f"{sample.id.split('/')[1]}-{copy}.pose"
            save_pose(rest_hands(sequence, shapes, rng), path)
            rows.append((path, IDLE_LABEL, f"{sample.signer}"))
    with data_csv.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["path", "label", "signer", "split"])
        writer.writerows([path, label, signer, "rest" if path.suffix == ".pose" else "archive"]
                         for path, label, signer in rows)  # fmt: skip


def fold(signer: str, config: dict, data_csv: Path, reuse: bool) -> dict:
    """Train without ``signer``; its archive sequences and its harder idle examples, measured apart."""
    out = RUNS / f"loso-{signer}"
    report = out / "heldout.json"
    if reuse and report.is_file():
        return json.loads(report.read_text())
    shutil.rmtree(out, ignore_errors=True)
    options = {**config, "data": f"csv:{data_csv}", "sequences_per_signer": None}
    train(TrainConfig(**options, split_by="signer", holdout_signer=signer), out, log=print)
    recognizer = Recognizer.from_pretrained(out)
    archive, _ = evaluate(recognizer, f"csv:{data_csv}", split="archive", signer=signer)
    rest, _ = evaluate(recognizer, f"csv:{data_csv}", split="rest", signer=signer)
    recognizer.detector = None  # the model alone
    rest_alone, _ = evaluate(recognizer, f"csv:{data_csv}", split="rest", signer=signer)
    archive_alone, _ = evaluate(recognizer, f"csv:{data_csv}", split="archive", signer=signer)
    result = {
        **archive.to_dict(),
        "rest_idle_recall": rest.top_k[1],
        "rest_samples": rest.samples,
        "rest_idle_recall_model_alone": rest_alone.top_k[1],
        "top1_model_alone": archive_alone.top_k[1],
    }
    report.write_text(json.dumps(result, indent=1))
    return result


def model_speed(folder: Path, frames: int) -> float:
    """Median milliseconds for the model alone on one clip of ``frames`` frames (batch 1, CPU)."""
    recognizer = Recognizer.from_pretrained(folder)
    points = recognizer.loaded.features.num_points
    inputs = (
        torch.randn(1, frames, points, 2),
        torch.ones(1, frames, points, dtype=torch.bool),
        torch.ones(1, frames, dtype=torch.bool),
    )
    timings = []
    with torch.no_grad():
        for _ in range(20):
            recognizer.loaded.model(*inputs)
        for _ in range(200):
            start = time.perf_counter()
            recognizer.loaded.model(*inputs)
            timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def card(folds: dict[str, dict], ridge: dict[str, float], final: Path, speed: float, config: dict) -> str:
    labels = folds[SIGNERS[0]]["labels"]
    confusion = sum(np.array(report["confusion_matrix"]) for report in folds.values())
    recall = confusion.diagonal() / confusion.sum(axis=1)
    precision = confusion.diagonal() / np.maximum(confusion.sum(axis=0), 1)
    top1 = [folds[s]["top_k"]["top1"] for s in SIGNERS]
    top5 = [folds[s]["top_k"]["top5"] for s in SIGNERS]
    params = sum(t.numel() for t in load_file(final / "model.safetensors").values())
    size_mb = (final / "model.safetensors").stat().st_size / 1e6
    frames = json.loads((final / "config.json").read_text())["input"]["frames"]
    rows = "\n".join(
        f"| {s} | sequences {int(s) * 30}-{int(s) * 30 + 29} | {folds[s]['samples']} | {folds[s]['top_k']['top1']:.1%} "
        f"| {folds[s]['top_k']['top5']:.1%} | {folds[s]['top1_model_alone']:.1%} | {ridge[s]:.1%} |"
        for s in SIGNERS
    )
    rest_rows = "\n".join(
        f"| {s} | {folds[s]['rest_samples']} | {folds[s]['rest_idle_recall']:.1%} "
        f"| {folds[s]['rest_idle_recall_model_alone']:.1%} |"
        for s in SIGNERS
    )
    rest = [folds[s]["rest_idle_recall"] for s in SIGNERS]
    rest_alone = [folds[s]["rest_idle_recall_model_alone"] for s in SIGNERS]
    alone = [folds[s]["top1_model_alone"] for s in SIGNERS]
    ridge_mean = np.mean(list(ridge.values()))
    signs = [i for i, label in enumerate(labels) if label != IDLE_LABEL]
    signs_top1 = confusion.diagonal()[signs].sum() / confusion[signs].sum()
    signs_as_idle = confusion[signs, labels.index(IDLE_LABEL)].sum()
    per_class = "\n".join(
        f"| `{label}` | {int(confusion[i].sum())} | {recall[i]:.1%} | {precision[i]:.1%} |"
        for i, label in enumerate(labels)
    )
    return f"""# signscribe traduttore16: 16 ASL signs from MediaPipe landmarks

A `{config["model"]}` (1D-convolution blocks + transformer encoder over normalised MediaPipe
Holistic landmarks: upper body and both hands) that recognises 16 isolated ASL signs:
{", ".join(f"`{label}`" for label in labels)} (`-` is the idle label: no sign).

## Data and licence

Trained on the traduttore MP_Data landmark archive (`traduttore_asl16_seq0-89.tar.gz`):
16 labels x 90 sequences x 20 frames, three signers recorded with a webcam (sequences
0-29, 30-59, 60-89). The landmarks are © 2022 traduttore, MIT licence; this model is
distributed under the same terms, with thanks to the traduttore authors.

## Idle with the hands in view

The archive's idle sequences show no hands at all (they are out of the frame); people at rest in
real use keep them in view. Training therefore also sees {REST_COPIES} copies of each idle sequence with
both hands resting in view (`signscribe.pose.resting.rest_hands`: real hand shapes turned to hang,
placed below the rest line and above the bottom of the frame, nearly still). And every prediction
goes through the no-sign detector (`signscribe.pose.activity`): a clip in which no hand is raised
above the rest line (1.0 shoulder widths below the shoulders) in a quarter of the frames is idle.

## Leave-one-signer-out accuracy

Each fold trains on two signers for {config["epochs"]} epochs and keeps the last epoch (the
held-out signer never chooses the model), then evaluates on the third. The linear baseline is
ridge regression on pooled normalised landmarks (`benchmarks/ridge_baseline.py`).

| held-out signer | sequences | samples | top-1 | top-5 | top-1, model alone | ridge baseline top-1 |
| --- | --- | ---: | ---: | ---: | ---: | ---: |
{rows}
| **mean** | | | **{np.mean(top1):.1%}** | {np.mean(top5):.1%} | {np.mean(alone):.1%} | {ridge_mean:.1%} |

On the 15 signs alone (idle sequences left out), top-1 over the three folds is **{signs_top1:.1%}**;
{signs_as_idle} of {int(confusion[signs].sum())} signed sequences were called idle.

On the held-out signer's harder idle examples (its own idle sequences with the hands resting in
view), the share recognised as `-`:

| held-out signer | examples | with the no-sign detector | model alone |
| --- | ---: | ---: | ---: |
{rest_rows}
| **mean** | | **{np.mean(rest):.1%}** | {np.mean(rest_alone):.1%} |

Per class (archive sequences), over the three held-out folds together:

| label | sequences | recall (top-1) | precision |
| --- | ---: | ---: | ---: |
{per_class}

## The shipped model

The same options, trained on all three signers (a stratified 20% held out to watch the curves:
`history.csv`, `curves.png` in `runs/traduttore16/final`).

- Parameters: {params:,}; `model.safetensors` {size_mb:.1f} MB
- Model alone, one {frames:g}-frame clip, batch 1, this 2-core CPU: {speed:.2f} ms (median of 200)
- Input: MediaPipe Holistic landmarks (`model_complexity=1`), normalised on the shoulders, hands
  relative to their wrist, x and y only; see `config.json`.

Limits: 16 signs by three signers in one recording setting; other signs are forced into one of
these 16 (use the `-` probability and the confidence to reject).

## Reproduce

```bash
.venv/bin/python scripts/build_traduttore16.py
```
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reuse-runs", action="store_true", help="keep finished runs in runs/traduttore16")
    reuse = parser.parse_args().reuse_runs
    config = json.loads(CONFIG.read_text())
    data_csv = RUNS / "data.csv"
    if not (reuse and data_csv.is_file()):
        RUNS.mkdir(parents=True, exist_ok=True)
        rest_examples(data_csv)
    folds = {signer: fold(signer, config, data_csv, reuse) for signer in SIGNERS}
    final = RUNS / "final"
    if not (reuse and (final / "model.safetensors").is_file()):
        shutil.rmtree(final, ignore_errors=True)
        options = {**config, "data": f"csv:{data_csv}", "sequences_per_signer": None}
        train(TrainConfig(**options, split_by="random"), final, log=print)
    ridge = runpy.run_path(str(ROOT / "benchmarks" / "ridge_baseline.py"))["leave_one_signer_out"]()
    frames = json.loads((final / "config.json").read_text())["input"]["frames"]
    speed = model_speed(final, int(frames))
    DEST.mkdir(parents=True, exist_ok=True)
    for name in ("model.safetensors", "config.json", "labels.json"):
        shutil.copyfile(final / name, DEST / name)
    (DEST / "model_card.md").write_text(card(folds, ridge, final, speed, config), encoding="utf-8")
    top1 = np.mean([folds[s]["top_k"]["top1"] for s in SIGNERS])
    rest = np.mean([folds[s]["rest_idle_recall"] for s in SIGNERS])
    print(f"leave-one-signer-out top-1 {top1:.1%}, idle recall with the hands in view {rest:.1%}; wrote {DEST}")


if __name__ == "__main__":
    main()
