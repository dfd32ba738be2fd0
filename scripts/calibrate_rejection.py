"""Calibrate the bundled ``wlasl100`` model's "no sign" and "not one of the signs I know" answers from
../shared/data.

First the no-sign detector's motion (``config.json`` ``detector``): hands raised above the rest line
but still, slower than ``still_speed`` shoulder widths a second, are resting. For each candidate
speed, the share of val clips called resting and the share of real rests with the hands held still
at chest height (stretches of How2Sign clips, chosen by eye and named in ``REAL_RESTS``, in windows
of ``REST_WINDOW`` frames); the chosen speed is the highest that calls at most ``--extra-resting``
(1%) more val clips resting than the rest line alone.

In the vocabulary: the WLASL100 val clips (338). Outside it: the WLASL clips in ``wlasl/clips`` whose
gloss is not a WLASL100 gloss, the How2Sign sentence clips, and the traduttore MP_Data words that are
not WLASL100 glosses (idle left out). For each clip the model's best probability and the no-sign
detector's call are computed once; the operating point is the highest confidence threshold that
still answers at least ``--keep`` (90%) of the val clips, resting ones counted as lost. The threshold
is written into the model's ``config.json`` (``rejection``) and the trade-off table into its card,
between the markers of the section "Signs outside the vocabulary".

Run from the repository root: ``.venv/bin/python scripts/calibrate_rejection.py`` (the landmarks of
the val clips come from the pose cache; about 15 minutes on 2 cores when it is empty).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from signscribe.data import open_dataset, read_mp_data
from signscribe.evaluation.rejection import ScoredClips, curve, operating_point
from signscribe.files import write_section, write_text_atomic
from signscribe.inference import Recognizer
from signscribe.inference.recognizer import softmax
from signscribe.pose.activity import SigningDetector
from signscribe.pose.source import Clip

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
MODEL = ROOT / "src" / "signscribe" / "models" / "bundled" / "wlasl100"
BEGIN, END = "<!-- rejection: begin -->", "<!-- rejection: end -->"
# stretches of How2Sign clips in which the signer rests with the hands clasped at the chest, still
# (looked at frame by frame): clip name and frame range
REAL_RESTS = {"-d5dN54tH2E_3-1-rgb_front": (136, 168), "-f1_kdl050s_10-1-rgb_front": (30, 56)}
REST_WINDOW, REST_STRIDE = 16, 4
STILL_SPEEDS = (None, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6)


def real_rests(recognizer: Recognizer) -> list:
    """Windows of the real rests at the chest, as landmarks."""
    windows = []
    for name, (start, stop) in REAL_RESTS.items():
        sequence = recognizer.loaded.features.load(
            Clip(DATA / "how2sign" / "clips" / f"{name}.mp4"), recognizer.extractor
        )
        windows += [sequence.select_frames(slice(first, first + REST_WINDOW))
                    for first in range(start, stop - REST_WINDOW + 1, REST_STRIDE)]  # fmt: skip
    return windows


def detector_table(
    recognizer: Recognizer, val: list, rest_windows: list, extra_resting: float
) -> tuple[SigningDetector, list[dict]]:
    """The share of val clips and of ``rest_windows`` (``real_rests``) called resting at each candidate
    ``still_speed``; the chosen detector: the highest speed within ``extra_resting`` of the rest line
    alone on val."""
    prepared = recognizer.prepare(val)
    rests = recognizer.prepare(rest_windows)
    rows = []
    for speed in STILL_SPEEDS:
        detector = SigningDetector(still_speed=speed)
        resting = [[not detector.is_signing(item) for item in items] for items in (prepared, rests)]
        rows.append({"still_speed": speed, "val_resting": float(np.mean(resting[0])),
                     "real_rest_resting": float(np.mean(resting[1]))})  # fmt: skip
        print(rows[-1], flush=True)
    allowed = rows[0]["val_resting"] + extra_resting
    chosen = max((row for row in rows if row["val_resting"] <= allowed), key=lambda row: row["still_speed"] or 0.0)
    for row in rows:
        row["chosen"] = row is chosen
    return SigningDetector(still_speed=chosen["still_speed"]), rows


def scored(recognizer: Recognizer, name: str, clips: list, labels: list[str] | None = None) -> ScoredClips:
    """The best probability, the detector's call and (with ``labels``) the correctness of each clip."""
    recognizer.loaded.features.prefetch([c for c in clips if isinstance(c, Clip)], recognizer.extractor, workers=2)
    best, signing, correct = [], [], []
    for start in range(0, len(clips), 32):
        prepared = recognizer.prepare(clips[start : start + 32])
        probabilities = softmax(recognizer.logits(prepared))
        best += probabilities.max(axis=1).tolist()
        signing += [recognizer.detector.is_signing(item) for item in prepared]
        if labels is not None:
            correct += [recognizer.labels[i] == label for i, label in
                        zip(probabilities.argmax(axis=1), labels[start : start + 32], strict=True)]  # fmt: skip
        print(f"{name}: {min(start + 32, len(clips))}/{len(clips)}", flush=True)
    return ScoredClips(name, np.array(best), np.array(signing), np.array(correct) if labels is not None else None)


def outside_sets(recognizer: Recognizer) -> list[ScoredClips]:
    vocabulary = set(recognizer.labels)
    metadata = json.loads((DATA / "wlasl" / "WLASL_v0.3.json").read_text())
    gloss_of = {instance["video_id"]: entry["gloss"] for entry in metadata for instance in entry["instances"]}
    wlasl = [
        Clip(p) for p in sorted((DATA / "wlasl" / "clips").glob("*.mp4")) if gloss_of.get(p.stem) not in vocabulary
    ]
    how2sign = [Clip(p) for p in sorted((DATA / "how2sign" / "clips").glob("*.mp4"))]
    words = read_mp_data(DATA / "keypoints" / "traduttore_asl16_seq0-89.tar.gz", sequences_per_signer=30)
    traduttore = [s.clip for s in words.samples if s.label != "-" and s.label.replace("-", " ") not in vocabulary]
    return [
        scored(recognizer, f"WLASL clips of other glosses ({len(wlasl)})", wlasl),
        scored(recognizer, f"How2Sign sentences ({len(how2sign)})", how2sign),
        scored(recognizer, f"traduttore words not in WLASL100 ({len(traduttore)})", traduttore),
    ]


def card_section(points: list, chosen: float, inside: ScoredClips, detector_rows: list[dict], windows: int) -> str:
    names = list(points[0].rejected)
    header = "| threshold | val answered | val top-1 of those | val answered right | " + " | ".join(
        f"rejected: {name}" for name in names
    )
    rows = [
        f"| {p.threshold:.2f}{' **(chosen)**' if abs(p.threshold - chosen) < 1e-9 else ''} | {p.kept:.1%} | "
        f"{p.kept_top1:.1%} | {p.answered_right:.1%} | " + " | ".join(f"{p.rejected[n]:.1%}" for n in names) + " |"
        for p in points
    ]
    speeds = [
        f"| {row['still_speed'] or 'none (the rest line alone)'}{' **(chosen)**' if row['chosen'] else ''} | "
        f"{row['val_resting']:.1%} | {row['real_rest_resting']:.1%} |"
        for row in detector_rows
    ]
    return "\n".join([
        BEGIN,
        "## No sign: hands at rest",
        "",
        "A clip gets no gloss when no hand is raised above the rest line (1.0 shoulder widths below the",
        "shoulders) in a quarter of its frames, or when the raised hands move in fewer than a quarter of",
        "those: still hands, held or clasped at the chest, are resting. Still means slower than `still_speed`",
        "shoulder widths a second (`config.json` `detector`), the highest speed that calls at most one val",
        "clip in a hundred more resting than the rest line alone. Real rests:",
        f"{windows} windows of {REST_WINDOW} frames of How2Sign clips in which the signer holds the hands clasped at",
        "the chest (`REAL_RESTS` in the script, looked at frame by frame):",
        "",
        "| still_speed | val clips called resting | real rests at the chest called resting |",
        "| --- | ---: | ---: |",
        *speeds,
        "",
        "## Signs outside the vocabulary",
        "",
        "A clip gets no gloss when the signer rests (the no-sign detector) or when the best gloss's probability",
        f"is below **{chosen:.2f}** (`config.json` `rejection`): the highest threshold that still answers at",
        "least 90% of the val clips. The detector alone calls "
        f"{1 - inside.signing.mean():.1%} of the val clips resting. `recognize --no-reject` keeps the forced choice.",
        "Calibrated on val (the same clips as the figures above, so slightly optimistic) against clips of other",
        "signs; from `scripts/calibrate_rejection.py`:",
        "",
        header + " |",
        "| " + " | ".join(["---:"] * (4 + len(names))) + " |",
        *rows,
        END,
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=float, default=0.9, help="share of val clips the operating point answers")
    parser.add_argument("--extra-resting", type=float, default=0.01, help="val clips the motion may call resting")
    args = parser.parse_args()
    recognizer = Recognizer.from_pretrained(MODEL)
    val = open_dataset(f"csv:{DATA / 'wlasl100' / 'wlasl100.csv'}").select("val").samples
    recognizer.loaded.features.prefetch([s.clip for s in val], recognizer.extractor, workers=2)
    rest_windows = real_rests(recognizer)
    recognizer.detector, detector_rows = detector_table(
        recognizer, [s.clip for s in val], rest_windows, args.extra_resting
    )
    inside = scored(recognizer, "WLASL100 val", [s.clip for s in val], [s.label for s in val])
    outside = outside_sets(recognizer)
    chosen = operating_point(inside, args.keep)
    points = curve(inside, outside, [*np.round(np.arange(0.0, 0.61, 0.05), 2).tolist(), chosen])
    points = sorted({p.threshold: p for p in points}.values(), key=lambda p: p.threshold)
    section = card_section(points, chosen, inside, detector_rows, len(rest_windows))
    print(section)
    config_path = MODEL / "config.json"
    config = json.loads(config_path.read_text())
    config["detector"] = recognizer.detector.settings()
    config["rejection"] = {"min_confidence": chosen, "keeps_of_val": args.keep}
    write_text_atomic(config_path, json.dumps(config, indent=2) + "\n")
    card_path = MODEL / "model_card.md"
    write_section(card_path, section, BEGIN, END, before="## Size and speed")
    speed = recognizer.detector.still_speed
    print(f"still_speed {speed}, min_confidence {chosen:.2f}; wrote {config_path} and {card_path}")


if __name__ == "__main__":
    main()
