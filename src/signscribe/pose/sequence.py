"""``PoseSequence``: landmarks of one signer over time, in the layout of ``signscribe.pose.layout``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from signscribe.pose.layout import Layout


@dataclass(frozen=True, eq=False)
class PoseSequence:
    """Landmarks over time.

    ``data`` is ``(frames, points, 3)`` float32 (x, y in pixels, z relative depth) and
    ``confidence`` is ``(frames, points)`` float32 in [0, 1], 0 where a point is missing.
    ``width`` and ``height`` are those of the frames the landmarks come from; ``source``
    names where they came from (a video path, a ``.pose`` file, an MP_Data sequence).
    After ``signscribe.pose.normalize`` the coordinates are in shoulder widths around the
    shoulder centre and ``normalized`` is true.
    """

    data: np.ndarray
    confidence: np.ndarray
    fps: float
    width: int
    height: int
    include_face: bool = False
    source: str = ""
    normalized: bool = False

    def __post_init__(self) -> None:
        points = self.layout.num_points
        if self.data.ndim != 3 or self.data.shape[1:] != (points, 3):
            raise ValueError(f"data must be (frames, {points}, 3) for {self.layout}, got {self.data.shape}")
        if self.confidence.shape != self.data.shape[:2]:
            raise ValueError(f"confidence must be {self.data.shape[:2]}, got {self.confidence.shape}")
        if self.fps <= 0:
            raise ValueError(f"fps must be positive, got {self.fps}")

    @property
    def layout(self) -> Layout:
        return Layout(include_face=self.include_face)

    @property
    def num_frames(self) -> int:
        return self.data.shape[0]

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps

    def component(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(data, confidence)`` of one component (``pose``, ``left_hand``, ``right_hand``, ``face``)."""
        rows = self.layout.slice(name)
        return self.data[:, rows], self.confidence[:, rows]

    def detected(self, name: str) -> np.ndarray:
        """``(frames,)`` bool: whether the component was found in each frame."""
        return (self.component(name)[1] > 0).any(axis=1)

    def detection_rates(self) -> dict[str, float]:
        """Share of frames in which each component was found."""
        if self.num_frames == 0:
            return {name: 0.0 for name in self.layout.components}
        return {name: float(self.detected(name).mean()) for name in self.layout.components}

    def replace(self, **changes: object) -> PoseSequence:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def without_face(self) -> PoseSequence:
        """The same sequence in the layout without the face."""
        if not self.include_face:
            return self
        rows = slice(0, Layout(include_face=False).num_points)
        return self.replace(data=self.data[:, rows], confidence=self.confidence[:, rows], include_face=False)

    def select_frames(self, indices: np.ndarray | slice) -> PoseSequence:
        """The frames at ``indices`` (an index array or a slice)."""
        return self.replace(data=self.data[indices], confidence=self.confidence[indices])

    def followed_by(self, *others: PoseSequence) -> PoseSequence:
        """This sequence's frames, then those of ``others`` (the same layout, frame rate and frame size)."""
        for other in others:
            same = (other.include_face, other.fps, other.width, other.height, other.normalized)
            if same != (self.include_face, self.fps, self.width, self.height, self.normalized):
                raise ValueError(f"cannot join {other.source or 'a sequence'}: its layout, rate or frame size differs")
        parts = (self, *others)
        return self.replace(
            data=np.concatenate([p.data for p in parts]), confidence=np.concatenate([p.confidence for p in parts])
        )
