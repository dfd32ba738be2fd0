"""Video input: decode with PyAV into RGB frames with timestamps, select ranges, crop and resize."""

from signscribe.errors import VideoReadError
from signscribe.io.video import BBox, Frame, VideoInfo, check_video, crop, fit_size, probe, read_frames, resize

__all__ = [
    "BBox",
    "Frame",
    "VideoInfo",
    "VideoReadError",
    "check_video",
    "crop",
    "fit_size",
    "probe",
    "read_frames",
    "resize",
]
