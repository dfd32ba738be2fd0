"""Raw videos into clips ready to train on, each source video decoded once (``cut_clips``):

* WLASL: every instance cut from its raw video by ``frame_start``/``frame_end`` (optionally to its
  ``bbox``) into ``<out>/videos/<video_id>.mp4``, listed in ``<out>/wlasl.csv`` with the columns of
  ``../shared/data/wlasl100/wlasl100.csv`` (``path,label,split,signer``): ``train --data csv:...``;
* How2Sign: every sentence of a realigned CSV cut from its full video by ``START_REALIGNED``/
  ``END_REALIGNED`` into ``<out>/clips/<SENTENCE_NAME>.mp4``, the CSV copied beside: ``how2sign:...``.

A clip already there is kept, so an interrupted run goes on where it stopped.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from signscribe.data.fetch.download import raw_file
from signscribe.data.fetch.sources import RawVideo
from signscribe.data.how2sign import read_how2sign
from signscribe.errors import VideoReadError
from signscribe.files import write_csv_atomic
from signscribe.io.cut import Cut, cut_clips
from signscribe.progress import ProgressCallback

TABLE_COLUMNS = ("path", "label", "split", "signer")


@dataclass
class Prepared:
    """What a run made: clips written now, kept from before, and ``missing`` (no source video) and
    ``failed`` (``{clip or video: reason}``)."""

    written: int = 0
    kept: int = 0
    missing: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    table: Path | None = None


def prepare_wlasl(
    raws: list[RawVideo],
    raw_dir: str | Path,
    out: str | Path,
    crop: bool = False,
    on_progress: ProgressCallback | None = None,
) -> Prepared:
    """Cut the instances of ``raws`` found in ``raw_dir`` (what ``download`` fetched) into ``out``."""
    raw_dir, out = Path(raw_dir), Path(out)
    result, rows = Prepared(), []
    groups: list[tuple[Path, list[Cut]]] = []
    for raw in raws:
        source = raw_file(raw_dir, raw.name)
        if source is None:
            result.missing += len(raw.instances)
            continue
        cuts = []
        for instance in raw.instances:
            clip = out / "videos" / f"{instance.video_id}.mp4"
            row = {"path": clip.relative_to(out).as_posix(), "label": instance.gloss, "split": instance.split}
            rows.append((clip, {**row, "signer": instance.signer or ""}))
            if clip.is_file():
                result.kept += 1
            else:
                cuts.append(Cut(clip, instance.frame_start, instance.frame_end, bbox=instance.bbox if crop else None))
        if cuts:
            groups.append((source, cuts))
    _cut_all(groups, result, on_progress)
    result.table = out / "wlasl.csv"
    write_csv_atomic(result.table, TABLE_COLUMNS, [row for clip, row in rows if clip.is_file()])
    return result


def prepare_how2sign(
    csv_path: str | Path, videos: str | Path, out: str | Path, on_progress: ProgressCallback | None = None
) -> Prepared:
    """Cut the sentences of a How2Sign realigned CSV from the full videos in ``videos``
    (``<VIDEO_NAME>.mp4``) into ``out/clips``, and copy the CSV into ``out``."""
    csv_path, videos, out = Path(csv_path), Path(videos), Path(out)
    result, groups, data = Prepared(), {}, read_how2sign(csv_path, videos)
    for sample in data.samples + data.missing:
        clip = out / "clips" / f"{sample.id}.mp4"
        if clip.is_file():
            result.kept += 1
        elif sample.start_time is None:  # no full video (or only its sentence clip, used as it is)
            result.missing += 1
        else:
            groups.setdefault(sample.path, []).append(Cut(clip, start_time=sample.start_time, end_time=sample.end_time))
    _cut_all(list(groups.items()), result, on_progress)
    out.mkdir(parents=True, exist_ok=True)
    result.table = out / csv_path.name
    if result.table.resolve() != csv_path.resolve():
        shutil.copyfile(csv_path, result.table)
    return result


def _cut_all(groups: list[tuple[Path, list[Cut]]], result: Prepared, on_progress: ProgressCallback | None) -> None:
    total = sum(len(cuts) for _, cuts in groups)
    done = 0
    report: Callable[[], None] = (lambda: on_progress(done, total)) if on_progress else (lambda: None)
    report()
    for source, cuts in groups:
        try:
            outside = cut_clips(source, cuts)
        except VideoReadError as error:
            result.failed[str(source)] = error.reason
            outside = {}
        else:
            result.failed.update({str(clip): reason for clip, reason in outside.items()})
        result.written += sum(cut.out.is_file() for cut in cuts)
        done += len(cuts)
        report()
