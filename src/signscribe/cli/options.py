"""The options that several ``signscribe`` commands share, declared once: those of a dataset come from
the fields of ``DatasetOptions`` (and the training configs' ``DataOptions``) through ``offers``."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, get_type_hints

import typer

from signscribe.data.kinds import dataset_kinds, kinds_taking

if TYPE_CHECKING:
    from signscribe.data.dataset import Sample
    from signscribe.io.limits import ClipLimits

Command = TypeVar("Command", bound=Callable[..., None])
KINDS_HELP = f"A dataset as KIND:PATH ({', '.join(dataset_kinds())})."
DatasetSpec = Annotated[str, typer.Argument(help=KINDS_HELP, metavar="KIND:PATH")]
Data = Annotated[str | None, typer.Option("--data", help=KINDS_HELP, metavar="KIND:PATH")]


def offers(options: type) -> Callable[[Command], Command]:
    """Give a command an option for each field of the dataclass ``options`` that is ``described``
    (``--videos``, ``--subset``, ... of ``DatasetOptions``), and hand those given to its ``data_options``
    parameter as a dict: a field added there reaches every command that reads a dataset. The help of a
    dataset option names the kinds that take it, from the registry."""
    hints = get_type_hints(options)
    added = []
    for item in fields(options):
        if "help" not in item.metadata:
            continue
        takers = kinds_taking(item.name)
        kinds = f" Kinds: {', '.join(takers)}." if takers and len(takers) < len(dataset_kinds()) else ""
        flags = [item.metadata["flag"]] if item.metadata["flag"] else []
        declared = typer.Option(*flags, help=item.metadata["help"] + kinds, metavar=item.metadata["metavar"])
        added.append(
            inspect.Parameter(
                item.name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=None,
                annotation=Annotated[hints[item.name] | None, declared],
            )
        )

    def decorate(function: Command) -> Command:
        own = [p for p in inspect.signature(function, eval_str=True).parameters.values() if p.name != "data_options"]
        after = next((i + 1 for i, p in enumerate(own) if p.name in ("data", "spec")), len(own))
        parameters = [*own[:after], *added, *own[after:]]

        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> None:
            given = {p.name: value for p in added if (value := kwargs.pop(p.name, None)) is not None}
            function(*args, data_options=given, **kwargs)

        run.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in parameters}
        return run  # type: ignore[return-value]

    return decorate


def dataset_samples(spec: str, data_options: dict[str, Any], split: str | None = None) -> list[Sample]:
    """The samples (of ``split``, if given) of a dataset a command reads, saying on stderr how many
    have no media and what the reader noted."""
    from signscribe.cli.terminal import errors
    from signscribe.data import open_dataset

    chosen = open_dataset(spec, **data_options)
    chosen = chosen.select(split) if split else chosen
    if chosen.missing:
        errors.print(f"{len(chosen.missing)} instances have no media and are left out")
    for note in chosen.notes:
        errors.print(note)
    return chosen.samples


FrameRate = Annotated[
    float | None,
    typer.Option("--fps", min=0.1, help="Frames a second to extract (default: every frame, or the model's)."),
]
Config = Annotated[Path | None, typer.Option(help="JSON or TOML file with any of these options.")]
Family = Annotated[str | None, typer.Option(help="Model family (see `signscribe models`).")]
PositiveInt = Annotated[int | None, typer.Option(min=1)]
Lr = Annotated[float | None, typer.Option(min=0.0)]
Resume = Annotated[bool, typer.Option(help="Continue the run whose checkpoint is in --out.")]
Workers = Annotated[int, typer.Option(min=1, help="Processes extracting landmarks in parallel (with --ray: actors).")]
Nproc = Annotated[
    int, typer.Option(min=1, help="Training processes on this machine, data-parallel (DDP; or start them by torchrun).")
]
Ray = Annotated[
    str | None,
    typer.Option(
        "--ray",
        metavar="auto|local|ADDRESS",
        help="Run on a Ray cluster: auto (the one `ray start` runs here), local (start one on this machine) or its "
        "address; needs the [ray] extra.",
    ),
]
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


def result_format(given: str | None, out: Path | None, choices: tuple[str, ...]) -> str:
    """The format of a command's results: ``--format`` when given, else the extension of ``--out``
    when it names one of ``choices`` (``book.json``), else ``table``. An ``--out`` named for another
    of the choices than ``--format`` is refused: a ``book.json`` of tab-separated rows is a trap."""
    named = out.suffix.lower().lstrip(".") if out is not None else ""
    if given is None:
        return named if named in choices else "table"
    check_choice(given, choices)
    if named in choices and named != given:
        raise ValueError(f"--out {out} is named .{named} but --format is {given}: drop --format, or rename --out")
    return given


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
    typer.Option(
        help="The answers to rank: a set the model names (fingerspelling: letters, digits) or a file of its "
        "labels, one a line; for vlm: models, any answers (a file, or wlasl100 / wlasl300)."
    ),
]
LoadIn4bit = Annotated[bool | None, typer.Option("--load-in-4bit/--no-load-in-4bit", help="vlm: 4-bit NF4 weights.")]
LoadIn8bit = Annotated[bool | None, typer.Option("--load-in-8bit/--no-load-in-8bit", help="vlm: 8-bit weights.")]
Dtype = Annotated[str | None, typer.Option(help="vlm: auto, fp32, bf16 or fp16 (default: bf16 on a GPU).")]


def is_vlm(model: str | None) -> bool:
    """Whether ``--model`` names a video language model (``vlm:<id or folder>``)."""
    return (model or "").startswith("vlm:")


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
