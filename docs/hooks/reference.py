"""MkDocs hook: the reference pages written from the code itself, so they cannot drift from it.

``<!-- generated: cli -->`` becomes every command's help, read from the Typer app, and
``<!-- generated: http -->`` every endpoint of the service's OpenAPI schema.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any


def on_page_markdown(markdown: str, **_: Any) -> str:
    if "<!-- generated: cli -->" in markdown:
        markdown = markdown.replace("<!-- generated: cli -->", command_reference())
    if "<!-- generated: http -->" in markdown:
        markdown = markdown.replace("<!-- generated: http -->", http_reference())
    return markdown


def command_reference() -> str:
    """Every command's usage, arguments and options, as ``typer signscribe.cli utils docs`` writes them."""
    import typer
    from typer.cli import get_docs_for_click

    from signscribe.cli import app

    command = typer.main.get_command(app)
    context = typer.Context(command)
    text = get_docs_for_click(obj=command, ctx=context, name="signscribe", title="signscribe")
    return text.split("\n", 1)[1]  # the page has its own title


def http_reference() -> str:
    """A table of the endpoints, then each one's description, from ``create_app().openapi()``."""
    from signscribe.serving import ServerSettings, create_app

    with tempfile.TemporaryDirectory() as data_dir:
        schema = create_app(ServerSettings(data_dir=Path(data_dir))).openapi()
    rows, sections = ["| method | path | what it does |", "| --- | --- | --- |"], []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method == "head":
                continue
            description = operation.get("description", "").strip()
            summary = " ".join(description.split("\n\n", 1)[0].split()).split(": ", 1)[0].split(". ", 1)[0]
            rows.append(f"| `{method.upper()}` | `{path}` | {summary or operation.get('summary', '')} |")
            if description:
                sections.append(f"### `{method.upper()} {path}`\n\n{description}\n")
    return "\n".join(rows) + "\n\n" + "\n".join(sections)
