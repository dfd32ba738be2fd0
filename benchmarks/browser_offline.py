"""The web page's offline mode: what one live prediction costs in the browser, against the server.

Starts ``signscribe serve`` (``serve_load.running_server``), opens the page in Debian's headless
Chromium and, for each bundled model, times what the page does for every prediction: the
JavaScript input pipeline (``static/landmarks.js``: normalise, fill gaps, mirror, resample, select),
the no-sign detector and onnxruntime-web (WebAssembly, one thread), on windows of the model's
training length cut from real WLASL100 val clips (the last frames of each; landmarks from the pose
cache, as the page's Holistic would send them). Then the same windows through the server's Python
path (``SigningDetector`` and ``Recognizer.scores`` on PyTorch, 2 threads). Prints the median and
95th percentile milliseconds per prediction. Holistic's own cost in the browser is not included.

Run from the repository root: ``.venv/bin/python benchmarks/browser_offline.py [--clips 40]``
(after ``signscribe web-assets``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from playwright.sync_api import sync_playwright

from signscribe.data import open_dataset
from signscribe.inference import Recognizer
from signscribe.pose.activity import SigningDetector
from signscribe.serving.stream.messages import landmarks_message

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: benchmarks.* as a package
from benchmarks.serve_load import running_server

WLASL100 = Path(__file__).resolve().parents[2] / "shared" / "data" / "wlasl100" / "wlasl100.csv"
REPEATS = 3  # each window is timed this many times; the first pass warms up and is left out

IN_THE_PAGE = """async ([model, windows, repeats]) => {
  const recognizer = await OfflineRecognizer.create(model, {});
  const times = [];
  for (let round = 0; round <= repeats; round++) {
    for (const messages of windows) {
      const begin = performance.now();
      const sequence = Landmarks.sequenceOf(messages.map(Landmarks.frameOf), messages[0].width, messages[0].height);
      Landmarks.isSigning(sequence);
      await recognizer.probabilities(sequence);
      if (round > 0) times.push(performance.now() - begin);
    }
  }
  return times;
}"""


def percentiles(times: list[float]) -> str:
    return f"median {statistics.median(times):.2f} ms, p95 {float(np.percentile(times, 95)):.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=40, help="WLASL100 val clips to cut windows from")
    args = parser.parse_args()
    torch.set_num_threads(2)
    samples = open_dataset(f"csv:{WLASL100}").select("val").samples[: args.clips]
    with running_server() as (base, _), sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.goto(base)
        page.wait_for_function("typeof OfflineRecognizer === 'function'")
        offered = {m["id"]: m for m in page.evaluate("fetch('/v1/models').then((r) => r.json())")["models"]}
        for name in ("wlasl100", "traduttore16"):
            recognizer = Recognizer.from_pretrained(name, device="cpu")
            length = int(offered[name]["input"]["frames"])
            windows = []
            for sample in samples:
                clip = recognizer.landmarks(sample.clip)
                windows.append(clip.select_frames(slice(max(clip.num_frames - length, 0), clip.num_frames)))
            messages = [[landmarks_message(w, i) for i in range(w.num_frames)] for w in windows]
            in_browser = page.evaluate(IN_THE_PAGE, [offered[name], messages, REPEATS])
            detector, in_python = SigningDetector(), []
            for round_ in range(REPEATS + 1):
                for window in windows:
                    begin = time.perf_counter()
                    detector.is_signing(window)
                    recognizer.scores([window])
                    if round_:
                        in_python.append((time.perf_counter() - begin) * 1000)
            print(f"{name}: windows of up to {length} frames, {len(windows)} windows x {REPEATS}")
            print(f"  in the browser (landmarks.js + onnxruntime-web): {percentiles(in_browser)}")
            print(f"  on the server (Python pipeline + PyTorch):         {percentiles(in_python)}")
        browser.close()


if __name__ == "__main__":
    main()
