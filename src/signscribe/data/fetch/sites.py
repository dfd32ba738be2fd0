"""A video on a site's page (YouTube, or any page with a ``<video>``) through yt-dlp as a library:
one file of the best single format (no merging, so no ffmpeg binary), its partial download
continued on the next run, no playlist expanded, nothing run or unpacked but yt-dlp's own code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from signscribe.data.fetch.http import DeadLink, RetryPolicy, Unreachable

# yt-dlp's messages for what retrying cannot fix, against those that may pass
_PASSING = ("timed out", "timeout", "http error 5", "http error 429", "connection", "reset by peer",
            "temporary failure", "incompleteread", "unable to download webpage")  # fmt: skip


class _Quiet:
    """yt-dlp's logger: its messages go nowhere (the errors reach us as exceptions)."""

    def debug(self, message: str) -> None: ...

    def info(self, message: str) -> None: ...

    def warning(self, message: str) -> None: ...

    def error(self, message: str) -> None: ...


def fetch_page_video(url: str, folder: Path, name: str, policy: RetryPolicy) -> Path:
    """Download the video of the page at ``url`` into ``folder/name.<ext>``; returns the file.
    Raises ``DeadLink`` (unavailable, private, removed, no video on the page) or ``Unreachable``."""
    import yt_dlp
    from yt_dlp.utils import DownloadError

    folder.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {
        "outtmpl": str(folder / f"{name}.%(ext)s"),
        "format": "best[ext=mp4]/best",
        "noplaylist": True,
        "playlist_items": "1",
        "continuedl": True,
        "overwrites": False,
        "retries": policy.attempts,
        "fragment_retries": policy.attempts,
        "socket_timeout": policy.timeout,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "logger": _Quiet(),
        "color": {"stderr": "no_color", "stdout": "no_color"},
    }
    try:
        with yt_dlp.YoutubeDL(options) as downloader:
            info = downloader.extract_info(url, download=True)
            if info is None:
                raise DeadLink("yt-dlp found no video on the page")
            return Path(downloader.prepare_filename(info))
    except DownloadError as error:
        message = _plain(str(error))
        if _may_pass(message.lower()):
            raise Unreachable(message) from error
        raise DeadLink(message) from error


def _may_pass(message: str) -> bool:
    """Whether a later try may succeed: not for a 4xx other than 429 (not found, gone, forbidden)."""
    if re.search(r"http error 4(?!29)\d\d", message):
        return False
    return any(words in message for words in _PASSING)


def _plain(message: str) -> str:
    """yt-dlp's error without its ``ERROR:`` prefix and extractor tag."""
    message = message.removeprefix("ERROR: ").strip()
    if message.startswith("[") and "] " in message:
        message = message.split("] ", 1)[1]
    return message[:300]
