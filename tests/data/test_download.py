"""``download wlasl`` against a local mirror of real WLASL100 clips that misbehaves as real hosts do:
every kind of failure ends in the report with its reason, every video fetched is the served file
byte for byte, nothing partial is left, and a killed run resumes."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mirror import clips_of, digest, leftovers, serving, wlasl_json

from signscribe.data.fetch.download import REPORT, DownloadSettings, download
from signscribe.data.fetch.http import RetryPolicy
from signscribe.data.fetch.sources import raw_videos, youtube_id
from signscribe.errors import DatasetError

FAST = DownloadSettings(jobs=8, per_host=8, host_interval=0.0, policy=RetryPolicy(attempts=2, backoff=0.05, timeout=1))
# Each failure the report must name, and the words of its reason
FAILURES = {
    "404": "HTTP 404",
    "410": "HTTP 410",
    "html": "not a video",
    "loop": "redirect loop",
    "slow": "timed out",
    "notvideo": "not a usable video",
    "empty": "0 bytes",
    "truncated": "not a usable video",
}
RECOVERING = ("ok", "norange", "flaky", "limited", "cut", "page")


def test_raw_videos_are_fetched_once_and_named_as_wlasl_names_them(tmp_path: Path) -> None:
    lesson = "https://www.youtube.com/watch?v=abcDEF12345&t=3"
    json_path = wlasl_json(tmp_path, [
        {"gloss": "book", "video_id": "00001", "url": lesson, "frame_start": 10, "frame_end": 40},
        {"gloss": "read", "video_id": "00002", "url": lesson, "frame_start": 50, "frame_end": 90},
        {"gloss": "read", "video_id": "00003", "url": "https://media.example.org/read.mp4", "split": "val"},
        {"gloss": "drink", "video_id": "00004", "url": "https://media.example.org/read.mp4"},
        {"gloss": "drink", "video_id": "00005", "url": "http://www.aslpro.com/main/d/drink.swf"},
    ])  # fmt: skip
    raws = raw_videos(json_path)
    assert [(raw.name, len(raw.instances), raw.via_site, raw.suffix) for raw in raws] == [
        ("abcDEF12345", 2, True, ".mp4"), ("00003", 2, False, ".mp4"), ("00005", 1, False, ".swf")]  # fmt: skip
    assert [raw.name for raw in raw_videos(json_path, glosses={"drink"})] == ["00003", "00005"]
    assert [i.video_id for raw in raw_videos(json_path, splits={"val"}) for i in raw.instances] == ["00003"]
    assert youtube_id("https://youtu.be/abcDEF12345") == "abcDEF12345" and youtube_id("https://example.org/x") is None
    for bad in ("file:///etc/passwd", "javascript:alert(1)", "ftp://host/x.mp4"):
        path = wlasl_json(tmp_path, [{"gloss": "x", "video_id": "1", "url": bad}], "bad.json")
        with pytest.raises(DatasetError, match="not an http\\(s\\) URL"):
            raw_videos(path)


def test_each_misbehaving_host_ends_complete_or_reported(tmp_path: Path, wlasl100_csv: Path) -> None:
    behaviours = [*RECOVERING, *FAILURES]
    clips = clips_of(wlasl100_csv, len(behaviours))
    files = {Path(c["file"]).name: Path(c["file"]) for c in clips}
    with serving(files) as mirror:
        instances = [{"gloss": c["label"], "video_id": Path(c["file"]).stem, "url": mirror.url(b, Path(c["file"]).name)}
                     for b, c in zip(behaviours, clips, strict=True)]  # fmt: skip
        json_path = wlasl_json(tmp_path, instances)
        out = tmp_path / "raw"
        outcomes = download(raw_videos(json_path), out, FAST)
        by_behaviour = {o.raw.url.split("/")[3]: o for o in outcomes}
        for behaviour in RECOVERING:
            outcome = by_behaviour[behaviour]
            assert outcome.status == "downloaded", (behaviour, outcome.reason)
            assert digest(out / f"{outcome.raw.name}.mp4") == digest(files[outcome.raw.name + ".mp4"]), behaviour
        with (out / REPORT).open(newline="") as file:
            report = {row["url"].split("/")[3]: row for row in csv.DictReader(file)}
        assert set(report) == set(FAILURES)
        for behaviour, words in FAILURES.items():
            assert words in report[behaviour]["reason"], (behaviour, report[behaviour])
            assert report[behaviour]["status"] == ("failed" if behaviour == "slow" else "dead")
        assert sorted(p.name for p in out.glob("*.mp4")) == sorted(f"{o.raw.name}.mp4" for o in outcomes if o.usable)
        assert leftovers(out) == []
        assert mirror.requests["/cut/" + Path(clips[4]["file"]).name] == 2  # cut, then resumed

        asked = sum(mirror.requests.values())
        again = download(raw_videos(json_path), out, FAST)
        assert {o.status for o in again if o.usable} == {"present"}
        # only the link that may recover (the slow host) is asked again; the dead ones are not
        assert sum(mirror.requests.values()) - asked == FAST.policy.attempts


def test_a_hundred_videos_with_ten_failures_end_with_ninety_files(tmp_path: Path, wlasl100_csv: Path) -> None:
    clips = clips_of(wlasl100_csv, 100)
    failing = [*FAILURES, "404", "410"]
    kinds = failing + [RECOVERING[i % len(RECOVERING)] for i in range(90)]
    files = {Path(c["file"]).name: Path(c["file"]) for c in clips}
    with serving(files) as mirror:
        instances = [{"gloss": c["label"], "video_id": Path(c["file"]).stem, "url": mirror.url(k, Path(c["file"]).name)}
                     for k, c in zip(kinds, clips, strict=True)]  # fmt: skip
        out = tmp_path / "raw"
        outcomes = download(raw_videos(wlasl_json(tmp_path, instances)), out, FAST)
    assert len(list(out.glob("*.mp4"))) == 90 and sum(o.usable for o in outcomes) == 90
    with (out / REPORT).open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 10 and all(row["reason"] for row in rows)
    assert list(rows[0]) == ["video_id", "gloss", "url", "source", "status", "reason", "bytes", "seconds"]
    assert leftovers(out) == []
    for path in out.glob("*.mp4"):
        assert digest(path) == digest(files[path.name])


def test_a_killed_download_resumes_to_identical_files(tmp_path: Path, wlasl100_csv: Path) -> None:
    """The CLI killed mid-transfer leaves partial files; the next run continues them with ``Range``."""
    clips = clips_of(wlasl100_csv, 4)
    files = {Path(c["file"]).name: Path(c["file"]) for c in clips}
    with serving(files) as mirror:
        instances = [{"gloss": c["label"], "video_id": Path(c["file"]).stem,
                      "url": mirror.url("trickle", Path(c["file"]).name)} for c in clips]  # fmt: skip
        json_path = wlasl_json(tmp_path, instances)
        out = tmp_path / "raw"
        command = [sys.executable, "-m", "signscribe", "download", "wlasl", "--json", str(json_path), "--out", str(out),
                   "--host-interval", "0", "--per-host", "4", "--timeout", "5"]  # fmt: skip
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        process = subprocess.Popen(command, **quiet, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not leftovers(out):
            time.sleep(0.05)
        time.sleep(0.7)  # a few chunks in: a file takes 1-2 s
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        partial = leftovers(out)
        assert any(path.stat().st_size > 0 for path in partial), "the run should have been killed mid-transfer"
        resumed = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert resumed.returncode == 0, resumed.stderr
        summary = resumed.stdout.splitlines()[0]  # "3 downloaded, 1 present": the one finished before the kill
        assert "dead" not in summary and "failed" not in summary and "C-UDA" in resumed.stderr
    for name, source in files.items():
        assert digest(out / name) == digest(source)
    assert leftovers(out) == [] and not (out / ".partial").exists()
    assert sum(count == 2 for count in mirror.requests.values()) == len(partial)  # each continued where it stopped


@pytest.mark.parametrize(("behaviour", "held"), [("norange", 0.5), ("ok", 1.0)])
def test_a_partial_file_is_finished_whatever_the_server_does_with_range(
    tmp_path: Path, wlasl100_csv: Path, behaviour: str, held: float
) -> None:
    """Half a file and a server that ignores ``Range``: it starts over. The whole file, killed before
    its rename: the server's 416 says it is complete, and nothing is fetched again."""
    source = Path(clips_of(wlasl100_csv, 1)[0]["file"])
    data = source.read_bytes()
    partial = tmp_path / "raw" / ".partial" / f"{source.stem}.partial.mp4"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(data[: int(len(data) * held)])
    with serving({source.name: source}) as mirror:
        json_path = wlasl_json(
            tmp_path, [{"gloss": "x", "video_id": source.stem, "url": mirror.url(behaviour, source.name)}]
        )
        [outcome] = download(raw_videos(json_path), tmp_path / "raw", FAST)
    assert outcome.status == "downloaded" and digest(tmp_path / "raw" / source.name) == digest(source)
    assert leftovers(tmp_path / "raw") == []
