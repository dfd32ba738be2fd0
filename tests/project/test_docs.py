"""What a newcomer reads first: a short README whose quickstart runs as written on a fresh clone (with
nothing but what ships in the package), and links in the README and ARCHITECTURE.md that lead to files.
The documentation site itself is checked by ``mkdocs build --strict`` in CI (its links and anchors)."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
README = ROOT / "README.md"


def _bash_block(text: str, heading: str) -> list[str]:
    """The commands of the first ```bash block under ``heading``, comments cut off."""
    section = text.split(f"\n{heading}\n", 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]


def test_the_readme_is_short_and_keeps_the_test_command() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200
    assert _bash_block(text, "## Tests") == [".venv/bin/python -m pytest -n 2 --dist loadfile"]


def test_the_quickstart_runs_as_written(tmp_path: Path) -> None:
    """Each quickstart command, in an empty folder, with the venv's ``signscribe`` on the PATH."""
    commands = _bash_block(README.read_text(encoding="utf-8"), "## Quickstart")
    assert commands[0].startswith("signscribe samples")
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    outputs = []
    for command in commands:
        result = subprocess.run(command, shell=True, cwd=tmp_path, env=environment, capture_output=True, text=True)
        assert result.returncode == 0, f"{command}: {result.stderr}"
        outputs.append(result.stdout)
    assert re.search(r"│\s+1 │ hello\s", outputs[1])  # the bundled model's top gloss of the sample
    assert (tmp_path / "runs" / "mine" / "model.safetensors").is_file()
    rows = list(csv.DictReader(io.StringIO(outputs[3])))
    assert len({row["video"] for row in rows}) == 12 and {row["gloss"] for row in rows} == {
        "hello", "thank-you", "coffee", "tea"}  # fmt: skip


@pytest.mark.parametrize("document", ["README.md", "ARCHITECTURE.md"])
def test_every_link_leads_to_a_file(document: str) -> None:
    text = (ROOT / document).read_text(encoding="utf-8")
    targets = [target.split("#", 1)[0] for target in re.findall(r"\]\(([^)\s]+)\)", text)]
    local = [target for target in targets if target and not re.match(r"[a-z]+:", target)]
    assert [target for target in local if not (ROOT / target).exists()] == []
