"""Landmarks: one way from any clip to them (``load_landmarks``, ``stream_landmarks``), MediaPipe
Holistic extraction alone or in parallel batches, the shared layout, ``.pose`` files, a cache,
normalisation and augmentation. See ``signscribe.pose.layout`` for the layout."""

from signscribe.errors import PoseFileError
from signscribe.pose.augment import Augmenter, drop_frames, mirror, resample, rotate, scale, shear, time_warp
from signscribe.pose.batch import ExtractionSummary, extract_poses, warm_cache
from signscribe.pose.cache import PoseCache, default_cache_dir
from signscribe.pose.extract import HolisticExtractor
from signscribe.pose.holistic_graph import ExtractionSettings, HolisticStream
from signscribe.pose.layout import Layout
from signscribe.pose.mp_data import load_mp_sequence
from signscribe.pose.normalize import fill_gaps, normalize
from signscribe.pose.posefile import POSE_SUFFIX, from_pose, load_pose, save_pose, to_pose
from signscribe.pose.sequence import PoseSequence
from signscribe.pose.source import (
    Clip,
    ClipSource,
    LandmarkFrame,
    LandmarkStream,
    load_landmarks,
    media_kind,
    stream_landmarks,
)

__all__ = [
    "POSE_SUFFIX",
    "Augmenter",
    "Clip",
    "ClipSource",
    "ExtractionSettings",
    "ExtractionSummary",
    "HolisticExtractor",
    "HolisticStream",
    "LandmarkFrame",
    "LandmarkStream",
    "Layout",
    "PoseCache",
    "PoseFileError",
    "PoseSequence",
    "default_cache_dir",
    "drop_frames",
    "extract_poses",
    "fill_gaps",
    "from_pose",
    "load_landmarks",
    "load_mp_sequence",
    "load_pose",
    "media_kind",
    "mirror",
    "normalize",
    "resample",
    "rotate",
    "save_pose",
    "scale",
    "shear",
    "stream_landmarks",
    "time_warp",
    "to_pose",
    "warm_cache",
]
