"""The clips of the paths a command is given."""

from __future__ import annotations

from pathlib import Path

import pytest

from signscribe.errors import InputFileError
from signscribe.io.inputs import VIDEO_SUFFIXES, gather_inputs


def test_an_empty_folder_is_an_error_even_after_a_folder_with_something_passed_over(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "hand.jpg").write_bytes(b"\xff\xd8\xff")
    (tmp_path / "empty").mkdir()
    assert gather_inputs([tmp_path / "photos"], VIDEO_SUFFIXES, "videos").skipped[0][0].name == "hand.jpg"
    with pytest.raises(InputFileError, match=r"empty: no videos in this folder"):
        gather_inputs([tmp_path / "photos", tmp_path / "empty"], VIDEO_SUFFIXES, "videos")
