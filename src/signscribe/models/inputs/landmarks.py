"""The ``landmarks`` input kind: MediaPipe landmarks as ``(frames, points, channels)`` tensors and masks.

``FeatureConfig`` owns every step from landmarks to model input: normalise (shoulder-centred,
in shoulder widths, hands relative to their wrist; ``signscribe.pose.normalize``), then per
example resample to at most ``max_frames`` and select the points (the upper body, MediaPipe pose
rows 0-24: face, arms, hips, without the legs, and both hands, 67 in all; with ``face``, also 76
points of the face mesh: lips, nose and eyes) and the channels.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from signscribe.errors import InputFileError, NoSignerError
from signscribe.models.inputs.base import InputPipeline, register_input_kind
from signscribe.pose.activity import signing_span
from signscribe.pose.augment import Augmenter, mirror, resample
from signscribe.pose.batch import warm_cache
from signscribe.pose.extract import HolisticExtractor
from signscribe.pose.layout import BODY_POINTS, FACE_FEATURE_POINTS, UPPER_BODY_POINTS, Layout
from signscribe.pose.normalize import fill_gaps, normalize
from signscribe.pose.sequence import PoseSequence
from signscribe.pose.source import Clip, ClipSource, load_landmarks
from signscribe.progress import ProgressCallback

if TYPE_CHECKING:
    import torch


@dataclass
class Batch:
    """Padded landmark examples: the model is called as ``model(*batch.inputs)``."""

    points: torch.Tensor  # (batch, frames, points, channels)
    present: torch.Tensor  # (batch, frames, points) bool
    frames: torch.Tensor  # (batch, frames) bool, False on padding
    labels: torch.Tensor  # (batch,) long

    @property
    def inputs(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.points, self.present, self.frames


class PointPipeline(InputPipeline):
    """What the kinds of landmark points share: a ``PoseSequence`` prepared once a clip, examples of
    at most ``max_frames`` frames of ``num_points`` points with ``channels`` values and a presence
    mask, padded into the tensors ``points``, ``present`` and ``frames``."""

    tensor_names: ClassVar[tuple[str, ...]] = ("points", "present", "frames")
    time_axes: ClassVar[tuple[int, ...]] = (1, 1, 1)
    channels: int
    max_frames: int

    def __post_init__(self) -> None:  # the subclasses are dataclasses, which call it
        if self.channels not in (2, 3):
            raise ValueError(f"channels must be 2 (x, y) or 3 (x, y, z), got {self.channels}")
        if self.max_frames < 1:
            raise ValueError(f"max_frames must be positive, got {self.max_frames}")

    @property
    def num_points(self) -> int:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def load(
        self, clip: ClipSource, extractor: HolisticExtractor, on_progress: ProgressCallback | None = None
    ) -> PoseSequence:
        return load_landmarks(clip, extractor, on_progress)

    def longest_example(self) -> int:
        return self.max_frames

    def example_length(self, prepared: PoseSequence) -> int:
        return min(prepared.num_frames, self.max_frames)

    def made_up_example(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        shape = (self.max_frames, self.num_points, self.channels)
        return rng.standard_normal(shape).astype(np.float32), np.ones(shape[:2], bool)

    def row_times(self, prepared: PoseSequence, rows: int) -> np.ndarray:
        """The frames an example keeps (all, or ``max_frames`` spread evenly), in seconds."""
        return np.linspace(0, (prepared.num_frames - 1) / prepared.fps, rows)

    def collate(self, examples: list[tuple[np.ndarray, np.ndarray]], targets: list[int]) -> Batch:
        return collate([(values, present, target) for (values, present), target in zip(examples, targets, strict=True)])

    def arrays(self, examples: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return padded(examples)


@register_input_kind("landmarks")
@dataclass(frozen=True)
class FeatureConfig(PointPipeline):
    """How a ``PoseSequence`` becomes model input; saved in a model's ``config.json``."""

    channels: int = 2  # x, y (2) or x, y, z (3)
    hands_relative: bool = True
    max_frames: int = 64  # longer sequences are resampled down to this many frames
    fill_gaps: int = 0  # interpolate a hand lost for at most this many frames between two detections
    dominant_hand: bool = False  # mirror clips whose left wrist moves more, so the dominant hand is the right
    face: bool = False  # also the lips, nose and eyes of the face mesh (extracted with the face)
    trim_rest: bool = False  # keep the signing span: the rest before and after the sign cut away

    @property
    def rows(self) -> np.ndarray:
        layout = Layout(include_face=self.face)
        hands = np.arange(layout.slice("left_hand").start, layout.slice("right_hand").stop)
        face = layout.slice("face").start + np.array(FACE_FEATURE_POINTS) if self.face else np.arange(0)
        return np.concatenate([np.arange(UPPER_BODY_POINTS), hands, face])

    @property
    def needs_face(self) -> bool:
        return self.face

    @property
    def num_points(self) -> int:
        return len(self.rows)

    def describe(self) -> dict[str, Any]:
        return {
            "layout": {
                "components": ["pose", "left_hand", "right_hand", *(["face"] if self.face else [])],
                "points": "MediaPipe pose rows 0-24 (upper body), then left hand 21, then right hand 21"
                + (f", then face mesh points {list(FACE_FEATURE_POINTS)}" if self.face else ""),
                "channels": [*["x", "y", "z"][: self.channels], "present"],
            },
            "normalization": {
                "centre": "midpoint of the shoulders, per frame",
                "scale": "median shoulder width of the sequence",
                "hands": "relative to their wrist" if self.hands_relative else "body-normalised",
                **(
                    {"gaps": f"a hand lost for up to {self.fill_gaps} frames is interpolated"} if self.fill_gaps else {}
                ),
                **({"rest": "the frames before and after the signing span are cut away"} if self.trim_rest else {}),
                **({"dominant hand": "clips led by the left wrist are mirrored"} if self.dominant_hand else {}),
            },
        }

    def model_config(self) -> dict[str, Any]:
        return {"num_points": self.num_points, "channels": self.channels}

    def clip_statistics(self, prepared: list[PoseSequence]) -> dict[str, Any]:
        """The median frame rate and frame count of the training clips."""
        return {
            "fps": statistics.median(s.fps for s in prepared),
            "frames": statistics.median(s.num_frames for s in prepared),
        }

    def prepare(self, raw: PoseSequence) -> PoseSequence:
        """Normalised landmarks, without the face unless ``face`` (as given when already normalised):
        short hand gaps filled, the rest around the sign cut away (``trim_rest``), the dominant hand made
        the right one. Landmarks in which no person was
        found in any frame are refused: there is no signer to recognise."""
        name = raw.source or "<landmarks>"
        if raw.num_frames == 0:
            raise InputFileError(name, "no frames in the landmarks")
        if raw.normalized:
            return raw
        if not any(raw.detected(component).any() for component in ("pose", "left_hand", "right_hand")):
            raise NoSignerError(name, f"no signer found: no person detected in any of {raw.num_frames} frames")
        if self.face and not raw.include_face:
            raise InputFileError(name, "this model reads the face, and these landmarks have none")
        sequence = raw if self.face else raw.without_face()
        if self.fill_gaps:
            for hand in ("left_hand", "right_hand"):
                sequence = fill_gaps(sequence, hand, self.fill_gaps)
        sequence = normalize(sequence, hands_relative=self.hands_relative)
        if self.trim_rest:
            sequence = sequence.select_frames(signing_span(sequence))
        return mirror(sequence) if self.dominant_hand and left_handed(sequence) else sequence

    def example(self, prepared: PoseSequence) -> tuple[np.ndarray, np.ndarray]:
        return sequence_features(prepared, self)

    def summary(self) -> str:
        return "MediaPipe Holistic landmarks, normalised on the shoulders (see `config.json`)"

    def augmenter(self, mirror_probability: float = 0.0, **options: Any) -> Augmenter:
        """``Augmenter`` with ``options`` named like its fields."""
        return Augmenter(mirror_probability=mirror_probability, **options)

    def prefetch(
        self,
        clips: Sequence[Clip],
        extractor: HolisticExtractor,
        workers: int,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        """Extract the videos among ``clips`` into the extractor's pose cache in parallel."""
        warm_cache(clips, extractor, workers, on_progress)


def left_handed(sequence: PoseSequence) -> bool:
    """Whether the left wrist travels further than the right over the clip (body landmarks, which are
    found far more often than the hands): the signer leads with the left hand."""
    travelled = []
    for name in ("LEFT_WRIST", "RIGHT_WRIST"):
        row = BODY_POINTS.index(name)
        seen = sequence.confidence[:, row] > 0
        path = sequence.data[seen, row, :2]
        travelled.append(float(np.linalg.norm(np.diff(path, axis=0), axis=1).sum()) if len(path) > 1 else 0.0)
    return travelled[0] > travelled[1]


def sequence_features(sequence: PoseSequence, config: FeatureConfig) -> tuple[np.ndarray, np.ndarray]:
    """``(frames, points, channels)`` float32 features and a ``(frames, points)`` bool presence mask of
    landmarks (normalised first unless they are)."""
    sequence = config.prepare(sequence)
    if sequence.num_frames > config.max_frames:
        sequence = resample(sequence, config.max_frames)
    rows = config.rows
    values = sequence.data[:, rows, : config.channels].astype(np.float32)
    present = sequence.confidence[:, rows] > 0
    return values, present


def padded(examples: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points, presence and frame masks of ``examples`` padded to the longest one."""
    length = max(len(values) for values, _ in examples)
    points = np.zeros((len(examples), length, *examples[0][0].shape[1:]), np.float32)
    present = np.zeros((len(examples), length, examples[0][1].shape[1]), bool)
    frames = np.zeros((len(examples), length), bool)
    for row, (values, mask) in enumerate(examples):
        points[row, : len(values)], present[row, : len(values)], frames[row, : len(values)] = values, mask, True
    return points, present, frames


def collate(items: list[tuple[np.ndarray, np.ndarray, int]]) -> Batch:
    """Pad to the longest sequence of the batch."""
    import torch  # here, not at the top: the landmark pipeline also feeds exported models without torch

    points, present, frames = padded([(values, mask) for values, mask, _ in items])
    labels = torch.tensor([label for _, _, label in items], dtype=torch.long)
    return Batch(torch.from_numpy(points), torch.from_numpy(present), torch.from_numpy(frames), labels)
