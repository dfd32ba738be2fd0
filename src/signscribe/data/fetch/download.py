"""``signscribe download wlasl``: every selected raw video fetched once, checked, and named as WLASL's
scripts name it; what cannot be fetched goes to ``download_report.csv`` with its reason.

A file reaches its name only once PyAV has decoded every frame of it: until then it lives in
``.partial/`` beside, where the next run continues it (``Range`` for plain files, yt-dlp's own
``.part`` for pages). A link found dead (404, 410, an HTML page, not a video) is not asked again on
the next run unless ``retry_dead``; one that failed for a reason that may pass (a timeout, 5xx) is.
"""

from __future__ import annotations

import csv
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from signscribe.data.fetch.http import DeadLink, HostGate, RetryPolicy, Unreachable, client, fetch_file
from signscribe.data.fetch.sites import fetch_page_video
from signscribe.data.fetch.sources import RAW_SUFFIXES, RawVideo
from signscribe.errors import VideoReadError
from signscribe.files import write_csv_atomic
from signscribe.io import check_video, read_frames
from signscribe.io.encode import video_writer
from signscribe.progress import ProgressCallback

REPORT = "download_report.csv"
REPORT_COLUMNS = ("video_id", "gloss", "url", "source", "status", "reason", "bytes", "seconds")
PARTIAL = ".partial"
HTML_STARTS = (b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")


@dataclass(frozen=True)
class DownloadSettings:
    """``jobs`` transfers at once, at most ``per_host`` to one host with starts ``host_interval`` s
    apart; ``retry_dead`` asks again the links an earlier run found dead."""

    jobs: int = 4
    per_host: int = 2
    host_interval: float = 0.5
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    retry_dead: bool = False


@dataclass(frozen=True)
class Outcome:
    """What became of one raw video: ``downloaded``, ``present`` (an earlier run's), ``dead`` or
    ``failed`` (may pass: a later run tries again)."""

    raw: RawVideo
    status: str
    reason: str = ""
    bytes: int = 0
    seconds: float = 0.0

    @property
    def usable(self) -> bool:
        return self.status in ("downloaded", "present")


def raw_file(out: Path, name: str) -> Path | None:
    """The complete raw video named ``name`` in ``out``, whatever its suffix, or None."""
    for suffix in RAW_SUFFIXES:
        if (out / f"{name}{suffix}").is_file():
            return out / f"{name}{suffix}"
    return None


def download(
    raws: list[RawVideo],
    out: str | Path,
    settings: DownloadSettings = DownloadSettings(),
    on_progress: ProgressCallback | None = None,
) -> list[Outcome]:
    """Fetch ``raws`` into ``out`` (see the module) and write ``out/download_report.csv``: one row an
    instance whose video is not there, this run's and earlier runs' dead links alike."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    dead_before = {} if settings.retry_dead else _dead_links(out / REPORT)
    gate = HostGate(settings.per_host, settings.host_interval)
    outcomes: list[Outcome] = []
    with client(settings.policy) as session, ThreadPoolExecutor(max(1, settings.jobs)) as pool:
        fetch = _Fetcher(out, session, gate, settings.policy)
        futures = []
        for raw in raws:
            if raw_file(out, raw.name):
                outcomes.append(Outcome(raw, "present"))
            elif raw.url in dead_before:
                outcomes.append(Outcome(raw, "dead", dead_before[raw.url]))
            else:
                futures.append(pool.submit(fetch, raw))
        done = len(outcomes)
        if on_progress:
            on_progress(done, len(raws))
        for future in as_completed(futures):
            outcomes.append(future.result())
            done += 1
            if on_progress:
                on_progress(done, len(raws))
    _write_report(out / REPORT, outcomes)
    _remove_empty(out / PARTIAL)
    order = {raw.url: index for index, raw in enumerate(raws)}
    return sorted(outcomes, key=lambda outcome: order[outcome.raw.url])


@dataclass
class _Fetcher:
    out: Path
    session: httpx.Client
    gate: HostGate
    policy: RetryPolicy

    def __call__(self, raw: RawVideo) -> Outcome:
        started = time.monotonic()
        received = 0

        def count(chunk: int) -> None:
            nonlocal received
            received += chunk

        partial = self.out / PARTIAL / f"{raw.name}.partial{raw.suffix}"
        try:
            with self.gate.enter(raw.host):
                if raw.via_site:
                    partial = fetch_page_video(raw.url, self.out / PARTIAL, raw.name, self.policy)
                else:
                    fetch_file(self.session, raw.url, partial, self.policy, count)
            size = partial.stat().st_size
            _finish(partial, self.out, raw.name)
            return Outcome(raw, "downloaded", bytes=size, seconds=time.monotonic() - started)
        except (DeadLink, Unreachable) as error:
            self._discard(raw, partial)
            status = "dead" if isinstance(error, DeadLink) else "failed"
            return Outcome(raw, status, str(error), received, time.monotonic() - started)

    def _discard(self, raw: RawVideo, partial: Path) -> None:
        """A link that gave no video leaves nothing behind."""
        partial.unlink(missing_ok=True)
        for leftover in (self.out / PARTIAL).glob(f"{raw.name}.*"):
            leftover.unlink(missing_ok=True)


def _finish(partial: Path, out: Path, name: str) -> Path:
    """Check the downloaded file and give it its name (a Flash ``.swf`` becomes an ``.mp4``)."""
    with partial.open("rb") as file:
        head = file.read(512).lstrip().lower()
    if head.startswith(HTML_STARTS):
        raise DeadLink("not a video: an HTML page")
    try:
        info = check_video(partial)
    except VideoReadError as error:
        if partial.suffix == ".swf":
            raise DeadLink(f"a Flash .swf without video FFmpeg can read (unsupported): {error.reason}") from error
        raise DeadLink(f"not a usable video: {error.reason}") from error
    if info.frame_count == 0:
        raise DeadLink("not a usable video: no video frames")
    if partial.suffix == ".swf":
        final = out / f"{name}.mp4"
        with video_writer(final, info.fps, info.width - info.width % 2, info.height - info.height % 2) as write:
            for frame in read_frames(partial):
                write(frame.image[: info.height - info.height % 2, : info.width - info.width % 2])
        partial.unlink()
        return final
    final = out / f"{name}{partial.suffix}"
    os.replace(partial, final)
    return final


def _dead_links(report: Path) -> dict[str, str]:
    """``url -> reason`` of the links an earlier run's report calls dead."""
    if not report.is_file():
        return {}
    with report.open(newline="", encoding="utf-8") as file:
        return {row["url"]: row["reason"] for row in csv.DictReader(file) if row.get("status") == "dead"}


def _write_report(path: Path, outcomes: list[Outcome]) -> None:
    rows = [
        {
            **{"video_id": instance.video_id, "gloss": instance.gloss, "url": o.raw.url, "source": o.raw.source},
            **{"status": o.status, "reason": o.reason, "bytes": o.bytes, "seconds": f"{o.seconds:.1f}"},
        }
        for o in outcomes
        if not o.usable
        for instance in o.raw.instances
    ]
    write_csv_atomic(path, REPORT_COLUMNS, sorted(rows, key=lambda row: (row["gloss"], row["video_id"])))


def _remove_empty(folder: Path) -> None:
    if folder.is_dir() and not any(folder.iterdir()):
        shutil.rmtree(folder, ignore_errors=True)


def availability(members: dict[int, set[str]], raws: list[RawVideo], out: Path) -> dict[int, tuple[int, int]]:
    """For each subset, ``(usable, listed)`` instances: those whose raw video is now in ``out``."""
    present = {i.video_id for raw in raws if raw_file(out, raw.name) for i in raw.instances}
    return {subset: (len(ids & present), len(ids)) for subset, ids in members.items()}


def count_statuses(outcomes: list[Outcome]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    return counts
