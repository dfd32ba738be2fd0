"""Deployment: ``signscribe export`` (leave PyTorch) and ``signscribe web-assets`` (the browser's Holistic)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from signscribe import cli_options as option
from signscribe import terminal
from signscribe.cli_app import command, wrote
from signscribe.terminal import bar, console


@command()
def export(
    model: Annotated[str, typer.Argument(help="A bundled model, a model folder or a hub id.")],
    clip: Annotated[
        list[Path], typer.Option(help="A real clip to trace and verify with (repeat it; two or more are best).")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="The .onnx file to write.")],
    output_format: Annotated[str, typer.Option("--format", help="onnx, or tflite (the [tflite] extra).")] = "onnx",
    int8: Annotated[bool, typer.Option(help="Quantise the weights to int8 (onnxruntime, dynamic).")] = False,
) -> None:
    """Export a recognition model to ONNX (dynamic batch and time axes), run it with onnxruntime on
    each --clip and compare with PyTorch: the largest difference of the outputs and how often the
    best gloss agrees. The file carries the model's config and labels: --model FILE.onnx runs it
    with onnxruntime in recognize, evaluate, transcribe and serve."""
    from signscribe.export.run import FORMATS, export_model

    option.check_choice(output_format, FORMATS)
    if out.suffix != f".{output_format}":
        raise ValueError(f"--out must end in .{output_format}, got {out}")
    with terminal.progress() as bars:
        report = export_model(model, list(clip), out, int8, bar(bars, "loading clips"), output_format)
    checked = report.verification
    console.print(
        f"{out}: {report.bytes / 1e6:.2f} MB{' (int8)' if int8 else ''}; against PyTorch on {checked.clips} clip(s): "
        f"max |difference| {checked.max_abs_difference:.2e}, top-1 agreement {checked.top1_agreement:.0%}",
        highlight=False,
    )
    wrote(out)


@command(name="web-assets")
def web_assets() -> None:
    """Fetch MediaPipe Holistic for the browser (@mediapipe/holistic from the npm registry, checked
    against its published integrity) into the package, so that serve offers the web page's privacy
    mode: landmarks found in the browser, the video never sent."""
    from signscribe.serving.web_assets import HOLISTIC_VERSION, fetch_holistic

    folder = fetch_holistic()
    console.print(f"@mediapipe/holistic {HOLISTIC_VERSION} in {folder}", highlight=False)
