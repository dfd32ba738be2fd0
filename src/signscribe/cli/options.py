"""The options that several ``signscribe`` commands share, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from signscribe.io.limits import ClipLimits

KINDS_HELP = "A dataset as KIND:PATH (wlasl, how2sign, mp_data, asl_signs, csv, poses, embeddings)."
DatasetSpec = Annotated[str, typer.Argument(help=KINDS_HELP)]
Data = Annotated[str | None, typer.Option("--data", help=KINDS_HELP)]
Videos = Annotated[Path | None, typer.Option(help="Video folder for wlasl: and how2sign: datasets.")]
Subset = Annotated[int | None, typer.Option(help="WLASL subset: 100, 300, 1000 or 2000.")]
Trimmed = Annotated[
    bool | None, typer.Option("--trimmed/--untrimmed", help="WLASL clips cut to the sign (default: detected).")
]
FrameRate = Annotated[
    float | None,
    typer.Option("--fps", min=0.1, help="Frames a second to extract (default: every frame, or the model's)."),
]
Glosses = Annotated[str | None, typer.Option(help="Only these glosses: a file (one a line), or wlasl100 / wlasl300.")]
SignerBlock = Annotated[int | None, typer.Option(help="mp_data: sequence numbers each signer recorded.")]
Val = Annotated[str | None, typer.Option(help="Validation data as KIND:PATH (default: a split of --data).")]
Config = Annotated[Path | None, typer.Option(help="JSON or TOML file with any of these options.")]
Family = Annotated[str | None, typer.Option(help="Model family (see `signscribe models`).")]
PositiveInt = Annotated[int | None, typer.Option(min=1)]
Lr = Annotated[float | None, typer.Option(min=0.0)]
Seed = Annotated[int | None, typer.Option()]
Resume = Annotated[bool, typer.Option(help="Continue the run whose checkpoint is in --out.")]
Workers = Annotated[int, typer.Option(min=1, help="Processes extracting landmarks in parallel.")]
OutFolder = Annotated[Path, typer.Option("--out", "-o", help="Folder for the model and the training logs.")]
OutFile = Annotated[Path | None, typer.Option("--out", "-o", help="Write the results here, not to stdout.")]
Model = Annotated[
    str | None,
    typer.Option("--model", "-m", help="A bundled model (`signscribe models`), a model folder or a hub id."),
]


NoLimits = Annotated[
    bool,
    typer.Option(
        "--no-limits",
        help="Read a video of any length: by default one over 10 minutes or 100,000 stored frames is refused.",
    ),
]


def clip_limits(no_limits: bool) -> ClipLimits | None:
    """The limits a command puts on the length of its videos, unless ``--no-limits`` lifts them."""
    from signscribe.io.limits import ClipLimits

    return None if no_limits else ClipLimits(lift="pass --no-limits to read it whole")


def check_choice(value: str, choices: tuple[str, ...], name: str = "--format") -> None:
    """A ``ValueError`` naming the choices unless ``value`` is one of them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, not {value!r}")


Device = Annotated[str | None, typer.Option(help="auto, cpu, cuda (cuda:N) or mps (default: auto).")]
Runtime = Annotated[
    str,
    typer.Option(
        help="auto (onnxruntime for an .onnx file, else PyTorch), torch, or onnx "
        "(a PyTorch model exported once into the cache, then run by onnxruntime)."
    ),
]


PromptConfig = Annotated[
    Path | None, typer.Option(help="vlm: models: the prompt and generation config (YAML or TOML).")
]
Labels = Annotated[
    str | None,
    typer.Option(help="vlm: models: the answers to rank, a file (one a line) or wlasl100 / wlasl300."),
]
LoadIn4bit = Annotated[bool | None, typer.Option("--load-in-4bit/--no-load-in-4bit", help="vlm: 4-bit NF4 weights.")]
LoadIn8bit = Annotated[bool | None, typer.Option("--load-in-8bit/--no-load-in-8bit", help="vlm: 8-bit weights.")]
Dtype = Annotated[str | None, typer.Option(help="vlm: auto, fp32, bf16 or fp16 (default: bf16 on a GPU).")]


def vlm_options(
    prompt_config: Path | None = None,
    labels: str | None = None,
    load_in_4bit: bool | None = None,
    load_in_8bit: bool | None = None,
    dtype: str | None = None,
) -> dict[str, object]:
    """The options given for a ``vlm:`` model (none for other models)."""
    given = {"prompt_config": prompt_config, "labels": labels, "load_in_4bit": load_in_4bit,
             "load_in_8bit": load_in_8bit, "dtype": dtype}  # fmt: skip
    return {name: value for name, value in given.items() if value is not None}
