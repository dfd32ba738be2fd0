"""What to download for WLASL: each raw video once, with the instances cut from it.

``WLASL_v0.3.json`` lists instances, and many share one raw video: a YouTube lesson holds dozens of
signs, and a dictionary page's file can be listed under several glosses. So the unit of download is
a URL, named as WLASL's own scripts name it: a YouTube video by its YouTube id, any other file by the
``video_id`` of its first instance in the JSON (whatever is selected, so a name never changes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from signscribe.data.wlasl import SUBSETS, load_json, read_instances
from signscribe.errors import DatasetError
from signscribe.io.inputs import VIDEO_SUFFIXES

YOUTUBE_HOSTS = ("youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be")
RAW_SUFFIXES = (*VIDEO_SUFFIXES, ".flv", ".swf")  # WLASL's aslpro videos are Flash
SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class Instance:
    """One sign in a raw video, as the JSON gives it (frames 1-based and inclusive, -1: to the end)."""

    video_id: str
    gloss: str
    split: str
    signer: str | None
    frame_start: int
    frame_end: int
    bbox: tuple[int, int, int, int] | None


@dataclass
class RawVideo:
    """One URL to fetch, the file name it gets (without suffix) and the instances cut from it."""

    name: str
    url: str
    source: str
    instances: list[Instance] = field(default_factory=list)

    @property
    def host(self) -> str:
        return urlparse(self.url).hostname or ""

    @property
    def via_site(self) -> bool:
        """Fetched by yt-dlp (a video site's page) rather than as a plain file over HTTP."""
        path = urlparse(self.url).path.lower()
        return self.host in YOUTUBE_HOSTS or not path.endswith(RAW_SUFFIXES)

    @property
    def suffix(self) -> str:
        """The raw file's suffix: the URL's for a plain file, ``.mp4`` for what yt-dlp fetches."""
        suffix = Path(urlparse(self.url).path).suffix.lower()
        return suffix if not self.via_site and suffix in RAW_SUFFIXES else ".mp4"


def youtube_id(url: str) -> str | None:
    """The id of a YouTube video URL (``watch?v=ID``, ``youtu.be/ID``, ``embed/ID``), else None."""
    parsed = urlparse(url)
    if parsed.hostname not in YOUTUBE_HOSTS:
        return None
    if parsed.hostname == "youtu.be":
        candidate = parsed.path.strip("/").split("/")[0]
    elif parsed.path.startswith(("/embed/", "/v/", "/shorts/")):
        candidate = parsed.path.split("/")[2]
    else:
        candidate = parse_qs(parsed.query).get("v", [""])[0]
    return candidate if SAFE_NAME.match(candidate or "") else None


def check_url(json_path: Path, video_id: str, url: Any) -> str:
    """An ``http(s)`` URL; anything else (``file:``, ``data:``, a script) is refused, never opened."""
    if not isinstance(url, str) or urlparse(url).scheme not in ("http", "https") or not urlparse(url).hostname:
        raise DatasetError(json_path, f"video {video_id}: not an http(s) URL: {str(url)[:80]!r}")
    return url


def raw_videos(
    json_path: str | Path,
    subset: int | None = None,
    glosses: set[str] | None = None,
    splits: set[str] | None = None,
) -> list[RawVideo]:
    """The raw videos holding the selected instances (``subset``: those of ``nslt_<subset>.json``
    with its splits; ``glosses``, ``splits``: only those), in the JSON's order."""
    json_path = Path(json_path)
    _, instances = read_instances(json_path)
    chosen = set(instances)
    split_of = {video_id: instance["split"] for video_id, (_, instance) in instances.items()}
    if subset is not None:
        chosen, split_of = _subset(json_path, subset, split_of)
    by_url: dict[str, RawVideo] = {}
    for video_id, (gloss, instance) in instances.items():
        url = check_url(json_path, video_id, instance.get("url"))
        if url not in by_url:
            name = youtube_id(url) or video_id
            if not SAFE_NAME.match(name):
                raise DatasetError(json_path, f"video {video_id}: unusable as a file name: {name!r}")
            by_url[url] = RawVideo(name, url, str(instance.get("source", "")))
        if video_id not in chosen or (glosses and gloss not in glosses):
            continue
        if splits and split_of[video_id] not in splits:
            continue
        box = instance.get("bbox")
        by_url[url].instances.append(
            Instance(
                video_id=video_id,
                gloss=gloss,
                split=split_of[video_id],
                signer=None if instance.get("signer_id") is None else str(instance["signer_id"]),
                frame_start=max(1, int(instance["frame_start"])),
                frame_end=int(instance["frame_end"]),
                bbox=tuple(int(v) for v in box) if box and len(box) == 4 else None,  # type: ignore[arg-type]
            )
        )
    return [raw for raw in by_url.values() if raw.instances]


def _subset(json_path: Path, subset: int, split_of: dict[str, str]) -> tuple[set[str], dict[str, str]]:
    if subset not in SUBSETS:
        raise ValueError(f"WLASL subset must be one of {', '.join(map(str, SUBSETS))}, got {subset}")
    entries = load_json(json_path.parent / f"nslt_{subset}.json")
    if not isinstance(entries, dict):
        raise DatasetError(json_path.parent / f"nslt_{subset}.json", "expected an object of video_id to subset")
    return set(entries), {**split_of, **{key: str(value.get("subset", "")) for key, value in entries.items()}}


def subset_members(json_path: str | Path) -> dict[int, set[str]]:
    """The video ids of each ``nslt_<N>.json`` found beside the JSON (for availability per subset)."""
    members = {}
    for subset in SUBSETS:
        path = Path(json_path).parent / f"nslt_{subset}.json"
        if path.is_file():
            entries = load_json(path)
            if isinstance(entries, dict):
                members[subset] = set(entries)
    return members
