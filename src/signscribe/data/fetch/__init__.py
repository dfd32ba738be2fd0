"""Getting the data: WLASL's raw videos fetched (``download``) and cut, with How2Sign's full videos,
into clips that ``train`` reads (``prepare``). See ``docs/getting-data.md``."""

from signscribe.data.fetch.download import DownloadSettings, Outcome, download
from signscribe.data.fetch.http import RetryPolicy
from signscribe.data.fetch.prepare import Prepared, prepare_how2sign, prepare_wlasl
from signscribe.data.fetch.sources import RawVideo, raw_videos

__all__ = [
    "DownloadSettings",
    "Outcome",
    "Prepared",
    "RawVideo",
    "RetryPolicy",
    "download",
    "prepare_how2sign",
    "prepare_wlasl",
    "raw_videos",
]
