"""Rebuild the bundled model `wlasl100` (the default) and its model card from ../shared/data/wlasl100.

1. Ablation (``--ablation``): each step of ``configs/wlasl100_ablation.json`` adds its options to the
   previous one, starting from ``signscribe train``'s defaults; each is trained on the train split
   and measured on val. The table goes into the card.
2. Members: ``configs/wlasl100.json`` trained once per seed of ``--seeds`` on the train split (the
   epoch with the best val top-1 kept). They read each clip's signing span (``features.trim_rest``:
   the rest before and after the sign cut away), in training as in recognition.
3. The shipped model: the members combined into one ``ensemble`` folder (mean of their
   probabilities), measured on val: top-1, top-5, per-class recall, the confusable pairs.
4. Extraction: val top-1 and the extraction time per clip at lower frame rates and in parts
   (``benchmarks/extraction_speed.py``); the chosen rate (``--frame-rate``) is saved as the model's
   extraction default.
5. The card, with size, CPU latency, the data licence and the published WLASL100 results.
6. The "not one of the signs I know" threshold, calibrated by ``scripts/calibrate_rejection.py``, and
   what rest around a sign costs, with and without the signing span (``benchmarks/rest_around_signs.py``).
7. With ``--cameras``, val under other cameras (``benchmarks/camera_views.py --every 2``, about 70
   minutes), and with ``--signer-cv``, signer-disjoint cross-validation (``scripts/signer_cv.py``, about
   an hour), each into its section of the card.

Every training run is deterministic for its seed. Runs are kept in ``runs/wlasl100``;
``--reuse-runs`` keeps finished ones. ``--remeasure`` trains nothing: it measures the bundled model as
it is again (its val and per-class sections, then steps 4 and 6, and 7 when asked), after a change in
how it reads clips. Run from the repository root:
``.venv/bin/python scripts/build_wlasl100.py --ablation`` (about two hours on 2 CPU cores, after the
landmarks of the 1,780 clips are in the pose cache: ``signscribe extract --data csv:...`` first).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

import signscribe
from signscribe.files import write_section, write_text_atomic
from signscribe.models.families.ensemble import combine
from signscribe.training import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
DATA = "csv:../shared/data/wlasl100/wlasl100.csv"
CONFIG = ROOT / "configs" / "wlasl100.json"
ABLATION = ROOT / "configs" / "wlasl100_ablation.json"
ABLATION_RESULTS = ROOT / "scripts" / "results" / "wlasl100_ablation.json"
RUNS = ROOT / "runs" / "wlasl100"
DEST = ROOT / "src" / "signscribe" / "models" / "bundled" / "wlasl100"
VALIDATION = ("<!-- validation: begin -->", "<!-- validation: end -->")
EARLIER_BUILD = "*These figures were measured on the model and recipe built before this one;*"
# Sections that measurements run only when asked write into the card (marker name, the heading it goes
# before, the command): a build that does not run one keeps its section from the card before, marked.
OPTIONAL_SECTIONS = (
    ("signer cv", "## What helped: ablation on val", "scripts/signer_cv.py --card"),
    ("camera views", "## Per class", "benchmarks/camera_views.py --every 2 --card"),
)
PER_CLASS = ("<!-- per class: begin -->", "<!-- per class: end -->")
PUBLISHED = (
    ("Pose-TGCN (WLASL paper)", "pose", 55.43),
    ("I3D (WLASL paper)", "RGB", 65.89),
    ("SPOTER", "pose", 63.18),
    ("MoViNet-A3 (the SLR thesis system)", "RGB", 63.18),
    ("I3D (the SLR thesis system)", "RGB", 48.45),
    ("Siformer", "pose", 86.50),
)


def trained(name: str, config: TrainConfig, reuse: bool) -> tuple[Path, float]:
    """The run folder of ``config`` and its training minutes: with ``reuse``, a finished run in ``RUNS`` of
    the same training config (under any name: an ablation step may be a member's recipe), else trained
    now as ``name`` (with ``reuse``, an interrupted run of it resumes from its checkpoint; the minutes
    are then those since the resumption)."""
    finished = [path.parent for path in RUNS.glob("*/minutes.txt") if (path.parent / "model.safetensors").is_file()]
    for out in finished if reuse else []:
        if json.loads((out / "train_config.json").read_text()) == config.to_dict():
            return out, float((out / "minutes.txt").read_text())
    out = RUNS / name
    resume = reuse and (out / "checkpoint" / "state.json").is_file()
    if not resume:
        shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    result = signscribe.train(config, out, resume=resume, workers=2, log=print)
    minutes = (time.perf_counter() - start) / 60
    (out / "minutes.txt").write_text(f"{minutes:.2f}\n")
    print(result.summary, flush=True)
    return out, minutes


def val_report(folder: Path) -> tuple[dict, int]:
    recognizer = signscribe.Recognizer.from_pretrained(folder)
    report, failed = signscribe.evaluate(recognizer, DATA, split="val")
    return report.to_dict(), len(failed)


def ablation(reuse: bool) -> list[dict]:
    """Each step adds its options to the kept steps before it; a step not kept is measured, then dropped.
    A step measured before with the same options (``ABLATION_RESULTS``, part of the repository) is not
    trained again, so that a new step costs one run."""
    steps = json.loads(ABLATION.read_text())
    results = recorded_ablation()
    options: dict = {"data": DATA}
    rows = []
    for step in steps:
        tried = {**options, **step["options"]}
        if step["kept"]:
            options = tried
        known = [r for r in results if r["options"] == tried]
        if known:
            rows.append({**known[0], "step": step["name"], "kept": step["kept"]})
            continue
        folder, minutes = trained(f"ablation-{len(rows)}", TrainConfig(**tried), reuse)
        report, _ = val_report(folder)
        rows.append({"step": step["name"], "kept": step["kept"], "top1": report["top_k"]["top1"],
                     "top5": report["top_k"]["top5"], "minutes": minutes, "options": tried})  # fmt: skip
        print(rows[-1], flush=True)
        measured = [row["options"] for row in rows]
        later = [r for r in results if r["options"] not in measured]  # kept until their steps come
        write_text_atomic(ABLATION_RESULTS, json.dumps(rows + later, indent=1) + "\n")
    write_text_atomic(ABLATION_RESULTS, json.dumps(rows, indent=1) + "\n")
    return rows


def recorded_ablation() -> list[dict]:
    """The ablation steps as last measured (``ABLATION_RESULTS``)."""
    return json.loads(ABLATION_RESULTS.read_text()) if ABLATION_RESULTS.is_file() else []


def model_latency(folder: Path, frames: int = 64) -> float:
    """Median milliseconds for the model alone on one clip (features + forward, batch 1)."""
    recognizer = signscribe.Recognizer.from_pretrained(folder)
    points = recognizer.loaded.features.num_points
    inputs = (torch.randn(1, frames, points, 2), torch.ones(1, frames, points, dtype=torch.bool),
              torch.ones(1, frames, dtype=torch.bool))  # fmt: skip
    timings = []
    with torch.no_grad():
        for repeat in range(120):
            start = time.perf_counter()
            recognizer.loaded.model(*inputs)
            if repeat >= 20:
                timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def confusable(report: dict, count: int = 12) -> list[tuple[str, str, int]]:
    matrix = np.array(report["confusion_matrix"])
    labels = report["labels"]
    np.fill_diagonal(matrix, 0)
    pairs = [(labels[i], labels[j], int(matrix[i, j])) for i, j in zip(*np.nonzero(matrix), strict=True)]
    return sorted(pairs, key=lambda pair: -pair[2])[:count]


def validation_section(report: dict) -> str:
    """The shipped model's val top-1 and top-5, between the markers ``VALIDATION``."""
    top1, top5 = report["top_k"]["top1"], report["top_k"]["top5"]
    return f"""{VALIDATION[0]}
## Validation (WLASL100 val, 338 clips)

| | top-1 | top-5 |
| --- | ---: | ---: |
| **the shipped ensemble** | **{top1:.1%}** | **{top5:.1%}** |
{VALIDATION[1]}"""


def per_class_section(report: dict) -> str:
    """The shipped model's hardest glosses, confusions and per-gloss table, between the markers ``PER_CLASS``."""
    per_class = sorted(report["per_class"], key=lambda row: row["recall"])
    worst = ", ".join(f"`{row['label']}` {row['recall']:.0%}" for row in per_class[:15])
    recall_rows = "\n".join(f"| `{r['label']}` | {r['support']} | {r['recall']:.0%} | {r['precision']:.0%} |"
                            for r in sorted(report["per_class"], key=lambda row: row["label"]))  # fmt: skip
    pairs = "\n".join(f"| `{a}` | `{b}` | {n} |" for a, b, n in confusable(report))
    return f"""{PER_CLASS[0]}
## Per class

The 15 hardest glosses on val (top-1 recall): {worst}.

The most frequent confusions on val (true gloss, predicted gloss, clips):

| true | predicted | clips |
| --- | --- | ---: |
{pairs}

<details><summary>Recall and precision of every gloss on val</summary>

| gloss | val clips | recall | precision |
| --- | ---: | ---: | ---: |
{recall_rows}

</details>
{PER_CLASS[1]}"""


def card(report: dict, members: list[dict], ablation_rows: list[dict],
         latency: float, folder: Path, config: dict) -> str:  # fmt: skip
    params = sum(t.numel() for t in signscribe.load_pretrained(folder).model.parameters())
    size_mb = (folder / "model.safetensors").stat().st_size / 1e6
    member_rows = "\n".join(
        f"| {m['seed']} | {m['top1']:.1%} | {m['top5']:.1%} | {m['minutes']:.0f} |" for m in members
    )
    ablation_table = (
        "\n".join(
            f"| {r['step']} | {'yes' if r['kept'] else 'no'} | {r['top1']:.1%} | {r['top5']:.1%} | {r['minutes']:.0f} |"
            for r in ablation_rows
        )
        or "| (run the script with `--ablation`) | | | | |"
    )
    published = "\n".join(f"| {name} | {kind} | {score:.2f} |" for name, kind, score in PUBLISHED)
    return f"""# signscribe wlasl100: the 100 glosses of WLASL100 from MediaPipe landmarks

An ensemble of {len(members)} `{config["model"]}` models (1D-convolution blocks + transformer encoder over
normalised MediaPipe Holistic landmarks: upper body and both hands) that recognises the 100 glosses of
WLASL100, the standard word-level ASL benchmark (`nslt_100.json` of WLASL). It is signscribe's
default model (`--model default` or `--model wlasl100`). It reads each clip's signing span, in training
as in recognition: the rest before and after the sign is cut away (`features.trim_rest`; see "Rest
before and after the sign").

## Data and licence

Trained on the WLASL100 **train** split (1,442 clips) and selected on **val** (338 clips), 96 signers,
the pre-trimmed 256x256 copies (`../shared/data/wlasl100`). WLASL is distributed under the
**C-UDA 1.0** licence (Computational Use of Data Agreement): academic and computational use only,
no commercial use. This model carries the same terms. The official test split (258 clips) was never
seen here; it is measured outside the project.

{validation_section(report)}

Each member, on its own (`configs/wlasl100.json`, the seed changes):

| seed | val top-1 | val top-5 | training minutes (2 CPU cores) |
| --- | ---: | ---: | ---: |
{member_rows}

Published top-1 on the WLASL100 **test** split, for comparison (not the same split as the val
figures above):

| system | input | test top-1 |
| --- | --- | ---: |
{published}

## What helped: ablation on val

Each step adds its options to the kept steps above it (`configs/wlasl100_ablation.json`), one seed
each; a step that did not help on val was not kept, but for the signing span, which moves val by
about a clip and is kept so that training reads clips as recognition does. Val has 338 clips: one
clip is 0.3 points.

| step | kept | val top-1 | val top-5 | minutes |
| --- | :---: | ---: | ---: | ---: |
{ablation_table}

{per_class_section(report)}

## Size and speed

- Parameters: {params:,}; `model.safetensors` {size_mb:.1f} MB
- Model alone, one 64-frame clip, batch 1, this 2-core CPU: {latency:.1f} ms (median of 100)
- Input: MediaPipe Holistic landmarks (`model_complexity=1`), short hand gaps interpolated, clips led
  by the left hand mirrored, normalised on the shoulders, hands relative to their wrist; see `config.json`.

## Reproduce

```bash
signscribe extract --data csv:../shared/data/wlasl100/wlasl100.csv --out runs/wlasl100-poses --workers 2
.venv/bin/python scripts/build_wlasl100.py --ablation
```
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--ablation", action="store_true", help="also train the ablation steps")
    parser.add_argument("--frame-rates", type=float, nargs="*", default=[12.5, 8.34], help="besides every frame")
    parser.add_argument("--frame-rate", type=float, default=None, help="the shipped model's extraction rate")
    parser.add_argument("--reuse-runs", action="store_true", help="keep finished runs in runs/wlasl100")
    parser.add_argument("--cameras", action="store_true", help="also measure val under other cameras")
    parser.add_argument("--signer-cv", action="store_true", help="also cross-validate by signer")
    parser.add_argument(
        "--remeasure", action="store_true", help="no training: the bundled model's val figures and measurements again"
    )
    args = parser.parse_args()
    if args.remeasure:
        remeasure()
    else:
        build(args)
    # The measurements of the model that write their own card sections: the "not one of the signs I know"
    # threshold, the speed of extraction and rest around signs always, other cameras and new signers
    # when asked.
    rates = [str(rate) for rate in args.frame_rates]
    measures = [("scripts/calibrate_rejection.py",), ("benchmarks/extraction_speed.py", "--rates", *rates, "--card")]
    measures += [("benchmarks/rest_around_signs.py", "--card")]
    measures += [("benchmarks/camera_views.py", "--every", "2", "--card")] if args.cameras else []
    measures += [("scripts/signer_cv.py", "--card")] if args.signer_cv else []
    for script, *options in measures:
        subprocess.run([sys.executable, str(ROOT / script), *options], check=True)


def remeasure() -> None:
    """The bundled model's val sections of the card measured again, in place: after a change in how it
    reads clips that needs no training (the members and the ablation stay as they were built)."""
    report, failed = val_report(DEST)
    for section, (begin, end) in ((validation_section(report), VALIDATION), (per_class_section(report), PER_CLASS)):
        write_section(DEST / "model_card.md", section, begin, end, before="## Size and speed")
    print(f"val top-1 {report['top_k']['top1']:.1%} ({failed} clips failed to load); wrote {DEST / 'model_card.md'}")


def keep_earlier_sections(earlier_card: str, card_path: Path) -> None:
    """The ``OPTIONAL_SECTIONS`` of the card before the build, put back into the new card, each marked as
    measured on the model (or recipe) built before, until its command measures this one."""
    for name, before, command in OPTIONAL_SECTIONS:
        begin, end = f"<!-- {name}: begin -->", f"<!-- {name}: end -->"
        if begin not in earlier_card or end not in earlier_card:
            continue
        section = earlier_card[earlier_card.index(begin) : earlier_card.index(end)].rstrip("\n")
        if EARLIER_BUILD not in section:
            section += f"\n\n{EARLIER_BUILD} `{command}` measures this one."
        write_section(card_path, f"{section}\n{end}", begin, end, before=before)


def build(args: argparse.Namespace) -> None:
    """Train the ablation and the members, combine them and write the bundled model and its card."""
    RUNS.mkdir(parents=True, exist_ok=True)
    config = {"data": DATA, **json.loads(CONFIG.read_text())}
    ablation_rows = ablation(args.reuse_runs) if args.ablation else recorded_ablation()
    members = []
    for seed in args.seeds:
        folder, minutes = trained(f"member-{seed}", TrainConfig(**{**config, "seed": seed}), args.reuse_runs)
        report, _ = val_report(folder)
        members.append({"seed": seed, "folder": folder, "top1": report["top_k"]["top1"],
                        "top5": report["top_k"]["top5"], "minutes": minutes})  # fmt: skip
    ensemble = RUNS / "ensemble"
    folders = [m["folder"] for m in members]
    combine(folders, ensemble, "# wlasl100 (card below)\n", args.frame_rate)
    report, failed = val_report(ensemble)
    latency = model_latency(ensemble)
    earlier_card = (DEST / "model_card.md").read_text(encoding="utf-8") if (DEST / "model_card.md").is_file() else ""
    shutil.rmtree(DEST, ignore_errors=True)
    shutil.copytree(ensemble, DEST)
    (DEST / "model_card.md").write_text(
        card(report, members, ablation_rows, latency, ensemble, config), encoding="utf-8"
    )
    keep_earlier_sections(earlier_card, DEST / "model_card.md")
    print(f"val top-1 {report['top_k']['top1']:.1%} ({failed} clips failed to load); wrote {DEST}")


if __name__ == "__main__":
    main()
