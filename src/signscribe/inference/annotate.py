"""``transcribe --annotate``: a copy of the video with the landmarks and the current caption drawn.

The landmarks found while transcribing are spooled to a temporary file (never held in memory),
then the video is decoded a second time, drawn on and encoded frame by frame, so the copy has
exactly the source's frames.
"""

from __future__ import annotations

import tempfile
from bisect import bisect_right
from itertools import chain
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from signscribe.errors import VideoReadError
from signscribe.inference.transcribe import Segment, Transcriber, Transcript
from signscribe.io import probe, read_frames
from signscribe.io.encode import video_writer
from signscribe.pose.layout import HAND_LIMBS, UPPER_BODY_LIMBS, Layout
from signscribe.pose.source import LandmarkFrame, media_kind
from signscribe.progress import ProgressCallback

MIN_ANNOTATED_SIDE = 16  # H.264 in yuv420p needs even sizes; below this nothing readable can be drawn

BODY_COLOUR, LEFT_COLOUR, RIGHT_COLOUR = (255, 255, 255), (255, 140, 0), (0, 200, 255)


class LandmarkSpool:
    """Each frame's landmarks appended to a temporary file, read back as a memory map, with the
    video frame index of each (extraction at a lower frame rate skips frames)."""

    def __init__(self) -> None:
        self.points = Layout().num_points
        self._file = tempfile.TemporaryFile()  # noqa: SIM115  (lives as long as the spool; see close)
        self.frames = 0
        self.indices: list[int] = []

    def __enter__(self) -> LandmarkSpool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def add(self, frame: LandmarkFrame) -> None:
        record = np.concatenate([frame.values, frame.confidence[:, None]], axis=1).astype(np.float32)
        self._file.write(record.tobytes())
        self.frames += 1
        self.indices.append(frame.index)

    def read(self) -> np.ndarray:
        """``(frames, points, 4)``: x, y, z, confidence per point, in frame order."""
        self._file.flush()
        if not self.frames:
            return np.zeros((0, self.points, 4), np.float32)
        return np.memmap(self._file, dtype=np.float32, mode="r", shape=(self.frames, self.points, 4))

    def close(self) -> None:
        self._file.close()


def _draw_landmarks(draw: ImageDraw.ImageDraw, points: np.ndarray, scale: float) -> None:
    layout = Layout()
    parts = [
        (0, UPPER_BODY_LIMBS, BODY_COLOUR),
        (layout.slice("left_hand").start, HAND_LIMBS, LEFT_COLOUR),
        (layout.slice("right_hand").start, HAND_LIMBS, RIGHT_COLOUR),
    ]
    width = max(1, round(2 * scale))
    for offset, limbs, colour in parts:
        for a, b in limbs:
            first, second = points[offset + a], points[offset + b]
            if first[3] > 0 and second[3] > 0:
                draw.line([(first[0], first[1]), (second[0], second[1])], fill=colour, width=width)
        radius = 2 * scale
        for x, y, _, confidence in points[offset : offset + max(max(limb) for limb in limbs) + 1]:
            if confidence > 0:
                draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=colour)


def _caption_at(segments: list[Segment], starts: list[float], time: float) -> Segment | None:
    position = bisect_right(starts, time) - 1
    if position >= 0 and time < segments[position].end:
        return segments[position]
    return None


def annotate_video(
    video: str | Path,
    transcript: Transcript,
    spool: LandmarkSpool,
    out: str | Path,
    on_progress: ProgressCallback | None = None,
) -> int:
    """Write the annotated copy of ``video`` (every frame, at its own rate) to ``out``, each frame with
    the latest landmarks read at or before it; returns the number of frames written."""
    starts = [segment.start for segment in transcript.segments]
    landmarks, written = spool.read(), 0
    info = probe(video)
    frames = read_frames(video)
    first = next(frames)
    height, width = (size - size % 2 for size in first.image.shape[:2])  # yuv420p needs even sizes
    scale = max(1.0, max(width, height) / 640)
    font = ImageFont.load_default(size=round(22 * scale))
    with video_writer(out, info.fps, width, height) as write:
        for frame in chain([first], frames):
            image = Image.fromarray(frame.image[:height, :width])
            draw = ImageDraw.Draw(image)
            if (row := bisect_right(spool.indices, frame.index) - 1) >= 0:
                _draw_landmarks(draw, np.asarray(landmarks[row]), scale)
            if (segment := _caption_at(transcript.segments, starts, frame.time)) is not None:
                text = f"{segment.gloss}  {segment.confidence:.0%}"
                left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
                x, y = (width - right - left) / 2, height - bottom - 16 * scale
                pad = 6 * scale
                draw.rectangle([x + left - pad, y + top - pad, x + right + pad, y + bottom + pad], fill=(0, 0, 0))
                draw.text((x, y), text, font=font, fill=(255, 255, 255))
            write(np.asarray(image))
            written += 1
            if on_progress is not None:
                on_progress(written, info.frame_count)
    return written


def transcribe_and_annotate(
    transcriber: Transcriber,
    video: str | Path,
    out: str | Path,
    on_transcribed: ProgressCallback | None = None,
    on_drawn: ProgressCallback | None = None,
) -> Transcript:
    """Transcribe a video and write its annotated copy to ``out``: the landmarks are spooled while
    transcribing, then drawn with the captions in a second pass over the video."""
    if media_kind(video) != "video":
        raise ValueError(f"{video}: annotating draws on the video; give a video, not a .pose file or MP_Data folder")
    info = probe(video)
    if min(info.width, info.height) < MIN_ANNOTATED_SIDE:
        raise VideoReadError(
            video, f"{info.width}x{info.height} is too small to annotate (at least {MIN_ANNOTATED_SIDE} pixels a side)"
        )
    with LandmarkSpool() as spool:
        transcript = transcriber.transcribe(video, on_landmarks=spool.add, on_progress=on_transcribed)
        annotate_video(video, transcript, spool, out, on_drawn)
    return transcript
