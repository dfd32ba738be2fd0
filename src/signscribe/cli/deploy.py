"""Deployment: ``signscribe export`` (leave PyTorch) and ``signscribe web-assets`` (the browser's runtimes)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from signscribe.cli import terminal
from signscribe.cli.base import command, wrote
from signscribe.cli.terminal import bar, console


@command()
def export(
    model: Annotated[str, typer.Argument(help="A bundled model, a model folder or a hub id.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The .onnx (or .tflite) file to write.")],
    clip: Annotated[
        list[Path] | None,
        typer.Option(help="A real clip to trace and verify with (repeat it; default: two made-up examples)."),
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="onnx, or tflite (the [tflite] extra).")] = "onnx",
    int8: Annotated[
        bool, typer.Option(help="Quantise the weights to int8 (dynamic: onnxruntime, or litert-torch's PT2E).")
    ] = False,
) -> None:
    """Export a recognition model to ONNX (dynamic batch and time axes) or TFLite (one clip, padded).

    Runs it with onnxruntime (or the LiteRT interpreter) on each --clip (or two made-up examples of
    its input) and compares with PyTorch: the
    largest difference of the outputs and how often the best gloss agrees. An ONNX file carries the
    model's config and labels: --model FILE.onnx runs it with onnxruntime in recognize, evaluate,
    transcribe and serve (a TFLite file has them in FILE.tflite.json)."""
    from signscribe.export.run import export_model

    with terminal.progress() as bars:
        report = export_model(model, list(clip or []), out, int8, bar(bars, "loading clips"), output_format)
    checked = report.verification
    examples = "made-up examples (give --clip to check real ones)" if report.made_up else "clip(s)"
    console.print(
        f"{out}: {report.bytes / 1e6:.2f} MB{' (int8)' if int8 else ''}; against PyTorch on {checked.clips} "
        f"{examples}: max |difference| {checked.max_abs_difference:.2e}, top-1 agreement {checked.top1_agreement:.0%}",
        highlight=False,
    )
    wrote(out)


@command(name="web-assets")
def web_assets() -> None:
    """Fetch the browser's runtimes from the npm registry into the package.

    Each is checked against its published integrity: MediaPipe Holistic (@mediapipe/holistic) and
    onnxruntime-web, so that serve offers the web page's privacy modes (landmarks found in the browser;
    or the model run there too, nothing sent)."""
    from signscribe.serving.web_assets import PACKAGES

    for package in PACKAGES:
        folder = package.fetch()
        console.print(f"{package.name} {package.version} in {folder}", highlight=False)
