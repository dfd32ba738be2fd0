"""PyTorch, onnxruntime (fp32, int8) and TFLite (fp32, int8) for the default model on WLASL100 val.

Exports the bundled default model (``signscribe export`` does the same) to ONNX and to int8, and,
where litert-torch is installed (the ``[tflite]`` extra, ``.venv-tflite``), to TFLite and int8
TFLite (one clip padded to 64 frames), then runs each on every WLASL100 val clip alone (batch 1,
landmarks already extracted: ``signscribe extract --data csv:../shared/data/wlasl100/wlasl100.csv``
fills the pose cache), and prints the median milliseconds per clip, the file size, top-1 accuracy
against the labels and the share of clips whose best gloss equals PyTorch's; then how long the
server's first ``GET /v1/browser-model`` takes to export the model for the page.

Run from the repository root: ``.venv/bin/python benchmarks/export_speed.py [--limit N]`` (or
``.venv-tflite/bin/python`` for the TFLite rows too).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import tempfile
import time
from pathlib import Path

import torch

from signscribe.data import open_dataset
from signscribe.export import export_onnx, quantize_int8
from signscribe.export.browser import browser_onnx
from signscribe.inference import Recognizer
from signscribe.models.onnx_model import OnnxModel

WLASL100 = Path(__file__).resolve().parents[2] / "shared" / "data" / "wlasl100" / "wlasl100.csv"


def run(model: torch.nn.Module, inputs: list[tuple[torch.Tensor, ...]]) -> tuple[float, list[int]]:
    """Median milliseconds per clip and each clip's best class."""
    times, best = [], []
    with torch.no_grad():
        for clip in inputs:
            start = time.perf_counter()
            logits = model(*clip)
            times.append((time.perf_counter() - start) * 1000)
            best.append(int(logits.argmax(-1)[0]))
    return statistics.median(times), best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N val clips")
    args = parser.parse_args()
    torch.set_num_threads(2)
    recognizer = Recognizer.from_pretrained("default", device="cpu")
    samples = open_dataset(f"csv:{WLASL100}").select("val").samples[: args.limit]
    prepared = recognizer.prepare([sample.clip for sample in samples])
    inputs = [recognizer.model_inputs([item]) for item in prepared]
    truth = [recognizer.labels.index(sample.label) for sample in samples]
    with tempfile.TemporaryDirectory() as folder:
        fp32 = export_onnx(recognizer.loaded, recognizer.model_inputs(prepared[:2]), Path(folder) / "fp32.onnx")
        int8 = quantize_int8(fp32, Path(folder) / "int8.onnx")
        sizes = {"torch": sum(p.numel() * p.element_size() for p in recognizer.loaded.model.parameters())}
        sizes |= {"onnxruntime fp32": fp32.stat().st_size, "onnxruntime int8": int8.stat().st_size}
        models = {
            "torch": recognizer.loaded.model,
            "onnxruntime fp32": OnnxModel(fp32),
            "onnxruntime int8": OnnxModel(int8),
        }
        if importlib.util.find_spec("litert_torch"):
            from signscribe.export.tflite import TfliteModel, export_tflite

            for precision in ("fp32", "int8"):
                out = Path(folder) / f"{precision}.tflite"
                export_tflite(recognizer.loaded, recognizer.model_inputs(prepared[:2]), out, precision == "int8")
                models[f"tflite {precision}"] = TfliteModel(out, recognizer.loaded.features)
                sizes[f"tflite {precision}"] = out.stat().st_size
        results = {name: run(model, inputs) for name, model in models.items()}
    reference = results["torch"][1]
    print(f"WLASL100 val, {len(samples)} clips, default model, batch 1, 2 threads")
    print("| runtime | ms per clip (median) | size | top-1 | same best gloss as torch |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, (milliseconds, best) in results.items():
        top1 = sum(b == t for b, t in zip(best, truth, strict=True)) / len(truth)
        same = sum(b == r for b, r in zip(best, reference, strict=True)) / len(reference)
        print(f"| {name} | {milliseconds:.2f} | {sizes[name] / 1e6:.1f} MB | {top1:.4f} | {same:.1%} |")
    started = time.perf_counter()
    browser = browser_onnx(recognizer.loaded)
    seconds = time.perf_counter() - started
    print(
        f"the browser model (the first GET /v1/browser-model exports it): {seconds:.1f} s, {len(browser) / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    main()
