"""Video output with PyAV: H.264 in MP4, written to a temporary file and renamed when complete, and
the Y4M file a browser's fake camera reads (to try the web page without a webcam)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from signscribe.io.video import read_frames


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


def write_y4m(clip: str | Path, path: str | Path, seconds: float = 4.0, fps: int = 15) -> Path:
    """The first ``seconds`` of ``clip`` at ``fps`` and 640x360 as a Y4M file, what Chromium plays as its
    camera with ``--use-fake-device-for-media-stream --use-file-for-fake-video-capture=PATH``."""
    path = Path(path)
    with av.open(str(path), "w", format="yuv4mpegpipe") as container:
        stream = container.add_stream("rawvideo", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        next_time = 0.0
        for frame in read_frames(clip, end_time=seconds, max_side=640):
            if frame.time + 1e-6 < next_time:
                continue
            next_time += 1 / fps
            video_frame = av.VideoFrame.from_ndarray(frame.image, format="rgb24").reformat(640, 360, "yuv420p")
            container.mux(stream.encode(video_frame))
        container.mux(stream.encode())
    return path
