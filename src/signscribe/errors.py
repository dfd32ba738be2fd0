"""Exceptions raised for bad input. Every message names the file and what is wrong with it."""

from __future__ import annotations

from pathlib import Path


class SignscribeError(Exception):
    """Base class of every error signscribe raises on purpose."""


class InputFileError(SignscribeError):
    """A file given to signscribe cannot be used; ``path`` and ``reason`` say which and why."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class VideoReadError(InputFileError):
    """A video is missing, empty, truncated, not a video, has no video stream or an unsupported codec."""


class PoseFileError(InputFileError):
    """A landmark file (``.pose`` or ``.npy``) is unreadable or has an unexpected layout."""


class DatasetError(InputFileError):
    """A dataset file is malformed; the reason names the line or key."""


class NoSignerError(InputFileError):
    """A clip in which no person is found: there is nothing to recognise (a reason, never a label)."""
