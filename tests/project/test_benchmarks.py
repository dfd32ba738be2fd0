"""Every benchmark and build script starts and parses its options (``--help``), so that none breaks
unseen: they import most of the package, and CI never runs them whole (minutes to hours each)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
SCRIPTS = sorted(
    p for folder in ("benchmarks", "scripts") for p in (ROOT / folder).glob("*.py") if p.stem != "__init__"
)


def test_the_scripts_are_found() -> None:
    assert {"serve_attack", "recording_rates", "build_wlasl100"} <= {script.stem for script in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda script: f"{script.parent.name}/{script.name}")
def test_the_script_starts(script: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(script), "--help"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:")
