"""The one Typer app of the ``signscribe`` command line, and how a command is registered on it: bad
input (a ``SignscribeError`` or ``ValueError``) is one red line and exit code 2, a failure of the
system (a read-only folder, a full disk: an ``OSError``) one red line and exit code 1. Every other
module of ``signscribe.cli`` adds its commands to it."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape

from signscribe.cli.terminal import console, errors
from signscribe.errors import SignscribeError
from signscribe.version import __version__

Command = TypeVar("Command", bound=Callable[..., None])
# Plain help (click's): Rich's tables cut long option names at 80 columns and show <bool> for flags.
app = typer.Typer(
    name="signscribe",
    help="Sign-language video to text.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"max_content_width": 120},  # a wide terminal gets wider help, up to 120 columns
)


def command(name: str | None = None, group: typer.Typer | None = None) -> Callable[[Command], Command]:
    """Register a command (on the app, or on a ``group`` of it) whose bad input (a ``SignscribeError``
    or ``ValueError``) prints one red line and exits with 2."""

    def register(function: Command) -> Command:
        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> None:
            try:
                function(*args, **kwargs)
            except (SignscribeError, ValueError) as error:
                errors.print(f"[red]error:[/red] {escape(str(error))}", highlight=False)
                raise typer.Exit(code=2) from None
            except OSError as error:
                where = f"{error.filename}: " if error.filename else ""
                errors.print(f"[red]error:[/red] {escape(where + str(error.strerror or error))}", highlight=False)
                raise typer.Exit(code=1) from None

        (group or app).command(name, short_help=_first_sentence(function.__doc__ or ""))(run)
        return function

    return register


def _first_sentence(doc: str) -> str:
    """A command's line in the list of commands: its docstring's first sentence, whole."""
    paragraph = " ".join(doc.strip().split("\n\n")[0].split())
    return re.split(r"(?<=\.)\s", paragraph, maxsplit=1)[0].rstrip(".")


def _version(value: bool) -> None:
    if value:
        console.print(f"signscribe {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Sign-language video to text: landmarks, datasets, training, recognition, transcription, translation."""


def wrote(*paths: Path | None) -> None:
    """Status on stderr: stdout holds only the requested output."""
    for path in paths:
        if path is not None:
            errors.print(f"wrote {escape(str(path))}", highlight=False)
