"""Reproduce the default model shipped in ``src/signscribe/models/default`` and its model card.

1. Leave-one-signer-out: for each of the three traduttore signers, ``signscribe train`` on the
   other two (``configs/default_model.json``: fixed epochs, the last epoch kept, so the held-out
   signer never chooses the model), then ``signscribe evaluate`` on the held-out signer.
2. The shipped model: ``signscribe train`` with the same options on all three signers (a
   stratified 20% is held out only to watch the curves).
3. The model card: leave-one-signer-out accuracy per fold and per class, the ridge baseline
   (``benchmarks/ridge_baseline.py``), size and speed.

Run from the repository root: ``.venv/bin/python scripts/build_default_model.py`` (about 20
minutes on 2 CPU cores). Runs are kept in ``runs/default_model``; ``--reuse-runs`` keeps the
finished ones and only redoes what is missing (then copies the model and rewrites the card).
"""

from __future__ import annotations

import argparse
import json
import runpy
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "default_model.json"
RUNS = ROOT / "runs" / "default_model"
DEST = ROOT / "src" / "signscribe" / "models" / "default"
SIGNERS = ("0", "1", "2")
SEQUENCES_PER_SIGNER = 30


def signscribe(*arguments: str) -> None:
    command = [sys.executable, "-m", "signscribe", *arguments]
    print("$ signscribe", " ".join(arguments), flush=True)
    subprocess.run(command, check=True, cwd=ROOT)


def fold(signer: str, data: str, reuse: bool) -> dict:
    out = RUNS / f"loso-{signer}"
    report = out / "heldout.json"
    if reuse and report.is_file():
        return json.loads(report.read_text())
    shutil.rmtree(out, ignore_errors=True)
    signscribe("train", "--config", str(CONFIG), "--split-by", "signer", "--holdout-signer", signer, "--out", str(out))
    held_out = ("--sequences-per-signer", str(SEQUENCES_PER_SIGNER), "--signer", signer)
    signscribe("evaluate", "--model", str(out), "--data", data, *held_out, "--json", str(report))
    return json.loads(report.read_text())


def model_speed(folder: Path, frames: int) -> float:
    """Median milliseconds for the model alone on one clip of ``frames`` frames (batch 1, CPU)."""
    from signscribe.inference import Recognizer

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
        f"| {folds[s]['top_k']['top5']:.1%} | {ridge[s]:.1%} |"
        for s in SIGNERS
    )
    per_class = "\n".join(
        f"| `{label}` | {int(confusion[i].sum())} | {recall[i]:.1%} | {precision[i]:.1%} |"
        for i, label in enumerate(labels)
    )
    return f"""# signscribe default model: 16 ASL signs from MediaPipe landmarks

A `{config["model"]}` (1D-convolution blocks + transformer encoder over normalised MediaPipe
Holistic landmarks: upper body and both hands) that recognises 16 isolated ASL signs:
{", ".join(f"`{label}`" for label in labels)} (`-` is the idle label: no sign).

## Data and licence

Trained on the traduttore MP_Data landmark archive (`traduttore_asl16_seq0-89.tar.gz`):
16 labels x 90 sequences x 20 frames, three signers recorded with a webcam (sequences
0-29, 30-59, 60-89). The landmarks are © 2022 traduttore, MIT licence; this model is
distributed under the same terms, with thanks to the traduttore authors.

## Leave-one-signer-out accuracy

Each fold trains on two signers for {config["epochs"]} epochs and keeps the last epoch (the
held-out signer never chooses the model), then evaluates on the third. The linear baseline is
ridge regression on pooled normalised landmarks (`benchmarks/ridge_baseline.py`).

| held-out signer | sequences | samples | top-1 | top-5 | ridge baseline top-1 |
| --- | --- | ---: | ---: | ---: | ---: |
{rows}
| **mean** | | | **{np.mean(top1):.1%}** | {np.mean(top5):.1%} | {np.mean(list(ridge.values())):.1%} |

Per class, over the three held-out folds together:

| label | sequences | recall (top-1) | precision |
| --- | ---: | ---: | ---: |
{per_class}

## The shipped model

The same options, trained on all three signers (a stratified 20% held out to watch the curves:
`history.csv`, `curves.png` in `runs/default_model/final`).

- Parameters: {params:,}; `model.safetensors` {size_mb:.1f} MB
- Model alone, one {frames:g}-frame clip, batch 1, this 2-core CPU: {speed:.2f} ms (median of 200)
- Input: MediaPipe Holistic landmarks (`model_complexity=1`), normalised on the shoulders, hands
  relative to their wrist, x and y only; see `config.json`.

Limits: 16 signs by three signers in one recording setting; other signs are forced into one of
these 16 (use the `-` probability and the confidence to reject).

## Reproduce

```bash
.venv/bin/python scripts/build_default_model.py
```
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reuse-runs", action="store_true", help="keep finished runs in runs/default_model")
    reuse = parser.parse_args().reuse_runs
    config = json.loads(CONFIG.read_text())
    data = config["data"]
    folds = {signer: fold(signer, data, reuse) for signer in SIGNERS}
    final = RUNS / "final"
    if not (reuse and (final / "model.safetensors").is_file()):
        shutil.rmtree(final, ignore_errors=True)
        signscribe("train", "--config", str(CONFIG), "--split-by", "random", "--out", str(final))
    ridge = runpy.run_path(str(ROOT / "benchmarks" / "ridge_baseline.py"))["leave_one_signer_out"]()
    frames = json.loads((final / "config.json").read_text())["input"]["frames"]
    speed = model_speed(final, int(frames))
    DEST.mkdir(parents=True, exist_ok=True)
    for name in ("model.safetensors", "config.json", "labels.json"):
        shutil.copyfile(final / name, DEST / name)
    (DEST / "model_card.md").write_text(card(folds, ridge, final, speed, config), encoding="utf-8")
    top1 = np.mean([folds[s]["top_k"]["top1"] for s in SIGNERS])
    print(f"leave-one-signer-out top-1 {top1:.1%}; ridge {np.mean(list(ridge.values())):.1%}; wrote {DEST}")


if __name__ == "__main__":
    main()
