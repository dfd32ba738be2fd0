"""Landmarks: MediaPipe Holistic extraction, the shared layout, ``.pose`` files, a cache, normalisation and
augmentation. See ``signscribe.pose.layout`` for the layout."""

from signscribe.errors import PoseFileError
from signscribe.pose.augment import Augmenter, drop_frames, mirror, resample, rotate, scale, shear, time_warp
from signscribe.pose.cache import PoseCache, default_cache_dir
from signscribe.pose.extract import ExtractionSettings, HolisticExtractor, HolisticStream
from signscribe.pose.layout import Layout
from signscribe.pose.normalize import fill_gaps, normalize
from signscribe.pose.posefile import from_pose, load_pose, save_pose, to_pose
from signscribe.pose.sequence import PoseSequence

__all__ = [
    "Augmenter",
    "ExtractionSettings",
    "HolisticExtractor",
    "HolisticStream",
    "Layout",
    "PoseCache",
    "PoseFileError",
    "PoseSequence",
    "default_cache_dir",
    "drop_frames",
    "fill_gaps",
    "from_pose",
    "load_pose",
    "mirror",
    "normalize",
    "resample",
    "rotate",
    "save_pose",
    "scale",
    "shear",
    "time_warp",
    "to_pose",
]
