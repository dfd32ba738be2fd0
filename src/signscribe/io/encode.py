"""Video output with PyAV: H.264 in MP4, written to a temporary file and renamed when complete."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


@contextmanager
def video_writer(
    path: str | Path, fps: float, width: int, height: int, faststart: bool = False
) -> Iterator[Callable[[np.ndarray], None]]:
    """Yield ``write(image)`` for RGB uint8 frames of ``width`` x ``height`` (even numbers for
    yuv420p); the file appears at ``path`` only when the block finishes without an error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix or ".mp4")
    os.close(handle)
    try:
        with av.open(temporary, "w", options={"movflags": "faststart"} if faststart else {}) as container:
            stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
            stream.width, stream.height = width, height
            stream.pix_fmt = "yuv420p"

            def write(image: np.ndarray) -> None:
                container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")))

            yield write
            container.mux(stream.encode())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
