"""Landmark extraction for the default model: val top-1 against the time to extract one clip, in one
pass or cut into one part per core on a pool of warm graphs (``signscribe.pose.parts``), at every frame
and at lower frame rates.

Each setting's val top-1 is the bundled default's forced choice on the 338 WLASL100 val clips, their
landmarks extracted with that setting (each setting has its own pose cache entries). Its time is the
mean over ``--clips`` val clips (no cache, after one warm-up clip), in this process and, for parts,
its pool. With ``--card`` the table goes into the default model's card.

    .venv/bin/python benchmarks/extraction_speed.py [--rates 12.5 8.34] [--clips 40] [--card]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import signscribe
from signscribe.data import open_dataset
from signscribe.files import write_section
from signscribe.io import probe
from signscribe.pose import ExtractionSettings, HolisticExtractor

ROOT = Path(__file__).resolve().parents[1]
DATA = f"csv:{ROOT.parent / 'shared' / 'data' / 'wlasl100' / 'wlasl100.csv'}"
CARD = ROOT / "src" / "signscribe" / "models" / "bundled" / "wlasl100" / "model_card.md"
BEGIN, END = "<!-- extraction speed: begin -->", "<!-- extraction speed: end -->"
CORES = os.cpu_count() or 1


def val_top1(rate: float | None, workers: int) -> float:
    """The default's val top-1 with landmarks extracted at ``rate`` in ``workers`` parts (1: one pass,
    the clips then extracted side by side)."""
    recognizer = signscribe.Recognizer.from_pretrained("default", frame_rate=rate, extraction_workers=workers)
    with recognizer.extractor:
        report, failed = signscribe.evaluate(recognizer, DATA, split="val", workers=CORES if workers == 1 else 1)
    if failed:
        raise SystemExit(f"{len(failed)} val clips failed to load, e.g. {failed[0][0].id}: {failed[0][1]}")
    return report.top_k[1]


def milliseconds_per_clip(rate: float | None, workers: int, clips: list[Path]) -> float:
    with HolisticExtractor(ExtractionSettings(frame_rate=rate), workers=workers) as extractor:
        extractor.extract(clips[0])  # starts the pool and its graphs
        start = time.perf_counter()
        for clip in clips:
            extractor.extract(clip)
        return (time.perf_counter() - start) / len(clips) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", type=float, nargs="*", default=[12.5], help="frame rates besides every frame")
    parser.add_argument("--clips", type=int, default=40, help="val clips timed")
    parser.add_argument("--card", action="store_true", help="write the table into the default model's card")
    args = parser.parse_args()
    samples = open_dataset(DATA).select("val").samples
    timed = [s.path for s in samples[:: max(1, len(samples) // args.clips)]][: args.clips]
    infos = [probe(path) for path in timed]
    frames = statistics.mean(info.frames_at(ExtractionSettings().rate_for(info.fps)) for info in infos)
    rows = []
    for rate in [None, *args.rates]:
        for workers in sorted({1, CORES}):
            row = {"rate": rate, "parts": workers, "top1": val_top1(rate, workers),
                   "ms": milliseconds_per_clip(rate, workers, timed)}  # fmt: skip
            print(row, flush=True)
            rows.append(row)
    lines = [
        "| frames a second | parts | val top-1 | extraction per clip |",
        "| --- | ---: | ---: | ---: |",
        *(f"| {r['rate'] or 'every frame (25)'} | {r['parts']} | {r['top1']:.1%} | {r['ms']:.0f} ms |" for r in rows),
    ]
    print("\n".join(lines))
    if args.card:
        clips = len(samples)
        spread = round((max(r["top1"] for r in rows) - min(r["top1"] for r in rows)) * clips)
        section = f"""{BEGIN}
## Speed of extraction

Landmark extraction is nearly all of the time from a video to a gloss. Val top-1 of the shipped
model and the extraction time per clip (mean of {len(timed)} val clips of {frames:.0f} frames on average,
on this machine's {CORES} cores), at lower frame rates, and with each clip cut into one part per core
extracted at once on warm graphs (`signscribe recognize --workers`, `extraction_workers=` of
`Recognizer.from_pretrained`; each part starts its tracking afresh, so its landmarks differ slightly
from one pass's). Measured by `benchmarks/extraction_speed.py`:

{chr(10).join(lines)}

Val has {clips} clips: these settings lie within {spread} clips of one another, the size of the
noise that re-encoding alone makes (see "Other cameras"). The model extracts at the rate in its
`config.json` `extraction` (every frame unless it says otherwise); `--fps` changes it.
{END}"""
        write_section(CARD, section, BEGIN, END, "## Per class")
        print(f"wrote {CARD}")


if __name__ == "__main__":
    main()
