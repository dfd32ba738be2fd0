"""How long a clip may be before anything decodes it: a bound on the work one file can cause.

The container's header says how long a video lasts and how many frames it stores; a file that
declares more than the limits is refused from its header alone (``ClipLimits.check``). How many of
the stored frames MediaPipe sees is bounded separately: extraction samples by timestamps at no more
than ``ExtractionSettings.max_frame_rate`` (30 a second), whatever rate the container declares.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from signscribe.errors import InputFileError
from signscribe.io.video import VideoInfo, probe

DEFAULT_MAX_SECONDS = 600.0
# A browser recording converted to mp4 may declare 1000 frames a second, each frame repeated: a
# minute of it stores 60,000 frames, which decode in seconds when sampled at 30 a second.
DEFAULT_MAX_FRAMES = 100_000


class ClipTooLongError(InputFileError):
    """A video longer (in seconds or stored frames) than the limits allow."""


@dataclass(frozen=True)
class ClipLimits:
    """The longest clip accepted: ``max_seconds`` of video and ``max_frames`` stored frames (``None``
    lifts a limit). ``lift`` says how to lift them, for the error's message."""

    max_seconds: float | None = DEFAULT_MAX_SECONDS
    max_frames: int | None = DEFAULT_MAX_FRAMES
    lift: str = ""

    def check(self, info: VideoInfo) -> None:
        """Raise ``ClipTooLongError`` naming the file when ``info`` (a probed header) passes a limit."""
        hint = f"; {self.lift}" if self.lift else ""
        if self.max_seconds is not None and info.duration > self.max_seconds:
            raise ClipTooLongError(
                info.path, f"lasts {info.duration:.0f} s, more than the {self.max_seconds:g} s allowed{hint}"
            )
        if self.max_frames is not None and info.frame_count > self.max_frames:
            raise ClipTooLongError(
                info.path, f"stores {info.frame_count} frames, more than the {self.max_frames} allowed{hint}"
            )

    def check_file(self, path: str | Path) -> VideoInfo:
        """Probe ``path`` (no frame is decoded) and ``check`` it; the header, for the caller's use."""
        info = probe(path)
        self.check(info)
        return info
