"""Recordings of one sign hold rest before and after it; pre-trimmed training clips (WLASL) hardly do.
This measures what that rest costs the default model on WLASL100 val, with and without the signing span
(``features.trim_rest``: the frames before and after it cut away, ``signscribe.pose.activity.signing_span``).

Each val clip's landmarks get ``--seconds`` of rest on each side: its first and last frame held, with
both hands resting low in view (``signscribe.pose.resting.rest_around``, real relaxed hand shapes from
the val clips themselves, nearly still). For each length the table gives the forced choice's top-1, the
share of clips the no-sign detector calls resting, and the share a user is answered right (no "no
sign" nor "not a sign I know", and the right gloss).

    .venv/bin/python benchmarks/rest_around_signs.py [--seconds 0 0.5 1 2] [--card]

The landmarks come from the pose cache (extracted first if missing: about 8 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np

from signscribe.data import open_dataset
from signscribe.files import write_section
from signscribe.inference import Recognizer
from signscribe.inference.recognizer import softmax
from signscribe.pose import PoseSequence, warm_cache
from signscribe.pose.resting import hand_shapes, rest_around

ROOT = Path(__file__).resolve().parents[1]
DATA = f"csv:{ROOT.parent / 'shared' / 'data' / 'wlasl100' / 'wlasl100.csv'}"
BEGIN, END = "<!-- rest around signs: begin -->", "<!-- rest around signs: end -->"
SHIPPED = " **(shipped)**"


def measure(recognizer: Recognizer, clips: list[PoseSequence], labels: list[str]) -> dict[str, float]:
    """Forced top-1, the share called resting and the share answered right."""
    right = resting = answered_right = 0
    for clip, label in zip(clips, labels, strict=True):
        prepared = recognizer.prepare([clip])
        best = recognizer.ranked(softmax(recognizer.logits(prepared))[0], 1)[0]
        no_gloss = recognizer.no_gloss(best, prepared[0])
        right += best.gloss == label
        resting += no_gloss is not None and no_gloss.code == "resting"
        answered_right += no_gloss is None and best.gloss == label
    return {"top1": right / len(clips), "resting": resting / len(clips), "answered": answered_right / len(clips)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, nargs="+", default=[0.0, 0.5, 1.0, 2.0])
    parser.add_argument("--workers", type=int, default=2, help="extraction processes, for clips not cached")
    parser.add_argument("--card", action="store_true", help="write the table into the default model's card")
    args = parser.parse_args()
    shipped = Recognizer.from_pretrained("default")
    samples = open_dataset(DATA).select("val").samples
    warm_cache([s.clip for s in samples], shipped.extractor, args.workers)
    sequences = [shipped.landmarks(s.clip) for s in samples]
    labels = [s.label for s in samples]
    shapes = hand_shapes(sequences, resting=True)
    features = shipped.loaded.features
    recognizers = {
        trim: Recognizer(replace(shipped.loaded, features=replace(features, trim_rest=trim)), shipped.extractor)
        for trim in (False, True)
    }
    rows = []
    for seconds in args.seconds:
        rng = np.random.default_rng(0)
        clips = [rest_around(sequence, seconds, shapes, rng) for sequence in sequences]
        for trim, recognizer in recognizers.items():
            rows.append({"seconds": seconds, "trim": trim, **measure(recognizer, clips, labels)})
            print(rows[-1], flush=True)
    lines = [
        "| rest each side | signing span | val top-1 | called resting | answered right |",
        "| ---: | :---: | ---: | ---: | ---: |",
        *(f"| {r['seconds']:g} s | {'yes' if r['trim'] else 'no'}{SHIPPED if r['trim'] == features.trim_rest else ''}"
          f" | {r['top1']:.1%} | {r['resting']:.1%} | {r['answered']:.1%} |" for r in rows),
    ]  # fmt: skip
    print("\n".join(lines))
    if args.card:
        section = "\n".join([
            BEGIN,
            "## Rest before and after the sign",
            "",
            f"A recording of one sign holds rest around it; the {len(samples)} pre-trimmed val clips hardly do.",
            "Each val clip with rest added each side (its end frames held, both hands resting low in view, real",
            "relaxed hand shapes), with and without the signing span (`features.trim_rest`: the frames before the",
            "first and after the last wrist raised 0.1 shoulder widths above the rest line for 0.2 s cut away,",
            "0.2 s of them kept). \"Answered right\" is what a user sees:",
            "no \"no sign\" nor \"not a sign I know\", and the right gloss. Measured by",
            "`benchmarks/rest_around_signs.py`:",
            "",
            *lines,
            END,
        ])  # fmt: skip
        card = shipped.loaded.path / "model_card.md"
        write_section(card, section, BEGIN, END, before="## Per class")
        print(f"wrote {card}")


if __name__ == "__main__":
    main()
