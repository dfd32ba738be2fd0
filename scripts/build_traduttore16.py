"""Reproduce the bundled model `traduttore16` (``src/signscribe/models/bundled/traduttore16``) and its card.

The traduttore archive records "no sign" (`-`) with the hands out of the frame, while people in
real use rest with their hands in view, where a model that only saw the former calls a sign. So:

1. Harder idle examples, written as ``.pose`` files that ``runs/traduttore16/data.csv`` lists with the
   archive's sequences: for each signer, two copies of each of its idle sequences with both hands
   resting low in view (``signscribe.pose.resting.rest_hands``: real hand shapes, nearly still), and
   three with the hands held still at chest height, clasped or apart (``hold_hands``), in the relaxed
   shapes of people at rest in the WLASL clips of ``../shared/data/wlasl/clips`` (their landmarks
   are extracted first, into the pose cache).
2. Leave-one-signer-out: for each of the three signers, ``signscribe.train`` on the other two
   (``configs/traduttore16.json``: fixed epochs, the last epoch kept, so the held-out signer never
   chooses the model), then ``signscribe.evaluate`` on the held-out signer's archive sequences and,
   apart, on its harder idle examples (low, and at the chest), with the no-sign detector and
   without it; and on real rest never trained on: the stretches of the How2Sign clips in which the
   signer holds the hands still in view (``signscribe.pose.activity.still_stretches``), cut into
   windows of the model's clip length (``runs/traduttore16/real_rest.csv``).
3. The shipped model: the same options on all three signers (a stratified 20% held out only to
   watch the curves).
4. The model card: leave-one-signer-out accuracy per fold and per class, idle recall on the harder
   examples, the ridge baseline (``benchmarks/ridge_baseline.py``), size and speed.

Run from the repository root: ``.venv/bin/python scripts/build_traduttore16.py`` (about 35
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

from signscribe.data import open_dataset, read_mp_data
from signscribe.evaluation import evaluate
from signscribe.files import write_text_atomic
from signscribe.inference import Recognizer
from signscribe.inference.recognizer import IDLE_LABEL
from signscribe.pose import (
    HolisticExtractor,
    PoseCache,
    load_landmarks,
    load_mp_sequence,
    load_pose,
    save_pose,
    warm_cache,
)
from signscribe.pose.activity import SigningDetector, still_stretches
from signscribe.pose.resting import hand_shapes, hold_hands, rest_hands
from signscribe.pose.source import Clip
from signscribe.training import TrainConfig, train

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "traduttore16.json"
RUNS = ROOT / "runs" / "traduttore16"
DEST = ROOT / "src" / "signscribe" / "models" / "bundled" / "traduttore16"
DATA = ROOT.parent / "shared" / "data"
ARCHIVE = DATA / "keypoints" / "traduttore_asl16_seq0-89.tar.gz"
SIGNERS = ("0", "1", "2")
SEQUENCES_PER_SIGNER = 30
# harder idle examples made of each idle sequence: hands resting low, and held at the chest
COPIES = {"rest": (rest_hands, 2), "hold": (hold_hands, 3)}
ALONE = ("", "_model_alone")  # with the no-sign detector, and the model alone
CLASP_SPEEDS = (0.15, 0.2, 0.25, 0.3, 0.4)  # candidates, shoulder widths a second
STILL = 0.3  # shoulder widths a second: a real stretch slower than this is rest (or a held sign)


def landmarks_of(videos: list[Path]) -> list:
    extractor = HolisticExtractor(cache=PoseCache())
    clips = [Clip(video) for video in videos]
    warm_cache(clips, extractor, workers=2)
    return [load_landmarks(clip, extractor) for clip in clips]


def rest_examples(data_csv: Path) -> None:
    """The harder idle examples and ``data.csv`` (path, label, signer, split) with the archive's sequences."""
    data = read_mp_data(ARCHIVE, sequences_per_signer=SEQUENCES_PER_SIGNER)
    signs = [load_mp_sequence(s.path) for s in data.samples if s.label != IDLE_LABEL][::5]
    at_rest = landmarks_of(sorted((DATA / "wlasl" / "clips").glob("*.mp4")))
    shapes = {"rest": hand_shapes(signs), "hold": hand_shapes(at_rest, resting=True)}
    rows = [(s.path, s.label, s.signer, "archive") for s in data.samples]
    for sample in (s for s in data.samples if s.label == IDLE_LABEL):
        sequence = load_mp_sequence(sample.path)
        for kind, (make, copies) in COPIES.items():
            for copy in range(copies):
                rng = np.random.default_rng([int(sample.id.split("/")[1]), copy, list(COPIES).index(kind)])
                path = RUNS / kind / f"{sample.id.split('/')[1]}-{copy}.pose"
                save_pose(make(sequence, shapes[kind], rng), path)
                rows.append((path, IDLE_LABEL, f"{sample.signer}", kind))
    write_csv(data_csv, rows)


def real_rest(real_csv: Path, frames: int) -> None:
    """``real_rest.csv``: windows of ``frames`` frames (a quarter apart) of the How2Sign clips' still stretches."""
    videos = sorted((DATA / "how2sign" / "clips").glob("*.mp4"))
    rows = []
    for video, sequence in zip(videos, landmarks_of(videos), strict=True):
        for stretch in still_stretches(sequence, STILL, frames):
            for start in range(stretch.start, stretch.stop - frames + 1, max(1, frames // 4)):
                path = RUNS / "real_rest" / f"{video.stem}-{start}.pose"
                save_pose(sequence.select_frames(slice(start, start + frames)), path)
                rows.append((path, IDLE_LABEL, "how2sign", "real_rest"))
    write_csv(real_csv, rows)


def write_csv(path: Path, rows: list[tuple]) -> None:
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["path", "label", "signer", "split"])
        writer.writerows(rows)


def idle_recall(recognizer: Recognizer, spec: str, split: str, signer: str | None = None) -> tuple[float, int]:
    """The share of a split's idle examples recognised as ``-``, and their number."""
    report, _ = evaluate(recognizer, spec, split=split, signer=signer)
    return report.top_k[1], report.samples


def clasp_speed(data_csv: Path, real_csv: Path) -> tuple[float, list[dict]]:
    """The detector's ``clasp_speed``: the highest of ``CLASP_SPEEDS`` that calls no more of the
    archive's signed sequences resting than the rest line alone; each candidate's cost and, apart
    (not used to choose), the real How2Sign rests it calls resting."""
    signs = [s for s in open_dataset(f"csv:{data_csv}").select("archive").samples if s.label != IDLE_LABEL]
    sequences = [load_mp_sequence(s.path) for s in signs]
    rests = [load_pose(s.path) for s in open_dataset(f"csv:{real_csv}").samples]
    rows = []
    for speed in (None, *CLASP_SPEEDS):
        detector = SigningDetector(clasp_speed=speed)
        rows.append({"clasp_speed": speed, "signs_resting": sum(not detector.is_signing(q) for q in sequences),
                     "real_rest_resting": float(np.mean([not detector.is_signing(q) for q in rests]))})  # fmt: skip
    allowed = rows[0]["signs_resting"]
    chosen = max(row["clasp_speed"] for row in rows[1:] if row["signs_resting"] <= allowed)
    for row in rows:
        row["chosen"] = row["clasp_speed"] == chosen
    print(rows, f"clasp_speed {chosen}", flush=True)
    return chosen, rows


def fold(signer: str, config: dict, data: tuple[Path, Path], detector: SigningDetector, reuse: bool) -> dict:
    """Train without ``signer`` (kept with ``reuse``); its archive sequences, its harder idle examples
    (low and at the chest) and the real How2Sign rests, measured apart."""
    data_csv, real_csv = data
    out = RUNS / f"loso-{signer}"
    if not (reuse and (out / "model.safetensors").is_file()):
        shutil.rmtree(out, ignore_errors=True)
        options = {**config, "data": f"csv:{data_csv}", "sequences_per_signer": None}
        train(TrainConfig(**options, split_by="signer", holdout_signer=signer), out, log=print)
    recognizer = Recognizer.from_pretrained(out)
    result: dict = {}
    for suffix, chosen in zip(ALONE, (detector, None), strict=True):
        recognizer.detector = chosen
        archive, _ = evaluate(recognizer, f"csv:{data_csv}", split="archive", signer=signer)
        result.update(archive.to_dict() if chosen is not None else {"top1_model_alone": archive.top_k[1]})
        for kind in COPIES:
            result[f"{kind}_idle_recall{suffix}"], result[f"{kind}_samples"] = idle_recall(
                recognizer, f"csv:{data_csv}", kind, signer
            )
        result[f"real_rest_idle_recall{suffix}"], result["real_rest_samples"] = idle_recall(
            recognizer, f"csv:{real_csv}", "real_rest"
        )
    (out / "heldout.json").write_text(json.dumps(result, indent=1))
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


def card(
    folds: dict[str, dict], ridge: dict[str, float], final: Path, speed: float, config: dict, clasp_rows: list[dict]
) -> str:
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
        f"| {s} | {folds[s]['rest_samples']} + {folds[s]['hold_samples']} | "
        + " | ".join(f"{folds[s][f'{kind}_idle_recall{alone}']:.1%}" for kind in COPIES for alone in ALONE)
        + f" | {folds[s]['real_rest_idle_recall']:.1%} | {folds[s]['real_rest_idle_recall_model_alone']:.1%} |"
        for s in SIGNERS
    )
    rest_mean = " | ".join(
        f"{np.mean([folds[s][f'{kind}_idle_recall{alone}'] for s in SIGNERS]):.1%}"
        for kind in (*COPIES, "real_rest")
        for alone in ALONE
    )
    real_samples = folds[SIGNERS[0]]["real_rest_samples"]
    clasp_table = "\n".join(
        f"| {row['clasp_speed'] or 'none (the rest line alone)'}{' **(chosen)**' if row['chosen'] else ''} "
        f"| {row['signs_resting']} | {row['real_rest_resting']:.0%} |"
        for row in clasp_rows
    )
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
real use keep them in view, low or held in front of the chest, where signing happens. Training
therefore also sees, of each idle sequence, {COPIES["rest"][1]} copies with both hands resting low in view
(`signscribe.pose.resting.rest_hands`: real hand shapes turned to hang, below the rest line, nearly
still) and {COPIES["hold"][1]} with the hands held still at chest height (`hold_hands`: clasped near the
middle or held apart, a hand at times out of view, in the relaxed shapes of the people at rest in
the WLASL clips). And every prediction goes through the no-sign detector
(`signscribe.pose.activity`): a clip in which no hand is raised above the rest line (1.0 shoulder
widths below the shoulders) in a quarter of the frames is idle. The detector does not take a still
hand for rest in this model: `a`, `i` and `no` are held as still as a resting hand (median hand
speed 0.16-0.19 shoulder widths a second). It does take two hands that touch (clasped) and are both
slower than `clasp_speed` for rest, wherever they are (`config.json` `detector`): the highest speed
that calls no more of the archive's {int(confusion[signs].sum())} signed sequences resting than the rest line alone
(the How2Sign column, real rest at the chest, was not used to choose):

| clasp_speed | signed sequences called resting | real How2Sign rests called resting |
| --- | ---: | ---: |
{clasp_table}

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

The share recognised as `-` of the held-out signer's harder idle examples (its own idle sequences
with the hands resting low, and held at the chest), and of real rest no fold trained on: the
{real_samples} windows of the How2Sign clips in which the signer holds the hands still in view (clasped at
the chest; `still_stretches`, slower than {STILL} shoulder widths a second), each with the no-sign
detector and with the model alone:

| held-out signer | examples (low + chest) | low | model alone | chest | model alone | How2Sign | model alone |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
{rest_rows}
| **mean** | | {rest_mean} |

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
    data_csv, real_csv = RUNS / "data.csv", RUNS / "real_rest.csv"
    if not (reuse and data_csv.is_file() and real_csv.is_file()):
        RUNS.mkdir(parents=True, exist_ok=True)
        rest_examples(data_csv)
        real_rest(real_csv, frames=20)  # the archive's clip length
    clasp, clasp_rows = clasp_speed(data_csv, real_csv)
    detector = SigningDetector(clasp_speed=clasp)
    folds = {signer: fold(signer, config, (data_csv, real_csv), detector, reuse) for signer in SIGNERS}
    final = RUNS / "final"
    if not (reuse and (final / "model.safetensors").is_file()):
        shutil.rmtree(final, ignore_errors=True)
        options = {**config, "data": f"csv:{data_csv}", "sequences_per_signer": None}
        train(TrainConfig(**options, split_by="random"), final, log=print)
    ridge = runpy.run_path(str(ROOT / "benchmarks" / "ridge_baseline.py"))["leave_one_signer_out"]()
    frames = json.loads((final / "config.json").read_text())["input"]["frames"]
    speed = model_speed(final, int(frames))
    DEST.mkdir(parents=True, exist_ok=True)
    for name in ("model.safetensors", "labels.json"):
        shutil.copyfile(final / name, DEST / name)
    final_config = json.loads((final / "config.json").read_text())
    write_text_atomic(
        DEST / "config.json", json.dumps({**final_config, "detector": detector.settings()}, indent=2) + "\n"
    )
    (DEST / "model_card.md").write_text(card(folds, ridge, final, speed, config, clasp_rows), encoding="utf-8")
    top1 = np.mean([folds[s]["top_k"]["top1"] for s in SIGNERS])
    recall = {kind: np.mean([folds[s][f"{kind}_idle_recall"] for s in SIGNERS]) for kind in (*COPIES, "real_rest")}
    print(f"leave-one-signer-out top-1 {top1:.1%}, idle recall {recall}; wrote {DEST}")


if __name__ == "__main__":
    main()
