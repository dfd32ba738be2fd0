"""Landmark extraction on a real (local) Ray cluster: the same ``.pose`` files and pose-cache entries as
a local run, byte for byte; a re-run does no work; a worker killed mid-run loses and repeats nothing."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from signscribe.files import OutputFolder
from signscribe.pose.batch import JobResult, extract_poses, jobs_for_paths, run_extraction
from signscribe.pose.extract import ExtractionSettings

ray = pytest.importorskip("ray", reason="Ray is the [ray] extra")


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A Ray cluster of this machine's 2 cores, for the module."""
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield "auto"  # connect() finds this process connected already
    ray.shutdown()


@pytest.fixture(scope="module")
def clips(wlasl_dir: Path) -> list[Path]:
    return sorted((wlasl_dir / "clips").glob("0*.mp4"), key=lambda p: p.stat().st_size)[:5]


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_cluster_run_writes_what_a_local_run_writes(cluster: str, clips: list[Path], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    runs = {}
    for name, ray_address in (("local", None), ("ray", cluster)):
        monkeypatch.setenv("SIGNSCRIBE_CACHE_DIR", str(tmp_path / name / "cache"))
        summary = extract_poses(clips, tmp_path / name / "poses", workers=2, ray=ray_address)
        assert summary.done == len(clips) and not summary.failures
        runs[name] = summary
    local, on_ray = (_files(tmp_path / name / "poses") for name in ("local", "ray"))
    assert set(local) == {f"{c.stem}.pose" for c in clips} | {"extract_summary.json"}
    assert {k: v for k, v in local.items() if k.endswith(".pose")} == {
        k: v for k, v in on_ray.items() if k.endswith(".pose")
    }
    assert _files(tmp_path / "local" / "cache") == _files(tmp_path / "ray" / "cache")  # keyed by content hash
    assert runs["local"].frames == runs["ray"].frames

    again = extract_poses(clips, tmp_path / "ray" / "poses", workers=2, ray=cluster)
    assert (again.done, again.skipped) == (0, len(clips))  # a re-run does no work


def _actor_processes() -> list[int]:
    """The process ids of Ray Data's map actors (their process title is ``ray::MapWorker(...)``)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes().startswith(b"ray::MapWorker"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_a_worker_killed_mid_run_loses_and_repeats_nothing(cluster: str, clips: list[Path], tmp_path: Path) -> None:
    jobs, _ = jobs_for_paths(clips)
    results: list[JobResult] = []

    def kill_a_worker_once(result: JobResult) -> None:
        results.append(result)
        if len(results) == 1:
            os.kill(_actor_processes()[0], signal.SIGKILL)

    out = OutputFolder(tmp_path / "poses")
    summary = run_extraction(jobs, ExtractionSettings(), out, workers=2, on_result=kill_a_worker_once, ray=cluster)
    assert summary.done == len(clips) and not summary.failures
    assert sorted(r.id for r in results) == sorted(c.name for c in clips)  # each clip once
    assert sorted(p.name for p in (tmp_path / "poses").iterdir()) == sorted(f"{c.stem}.pose" for c in clips)


def test_evaluate_on_a_cluster_reports_what_a_local_run_reports(cluster: str, clips: list[Path], tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from typer.testing import CliRunner

    from signscribe.cli import app

    table = tmp_path / "clips.csv"
    table.write_text("path,label\n" + "".join(f"{clip},book\n" for clip in clips))
    reports = {}
    for name, extra in (("ray", ["--ray", cluster]), ("local", [])):
        cache = tmp_path / name / "cache"
        monkeypatch.setenv("SIGNSCRIBE_CACHE_DIR", str(cache))
        result = CliRunner().invoke(app, ["evaluate", "--model", "wlasl100", "--data", f"csv:{table}", "--strict",
                                          "--json", str(tmp_path / f"{name}.json"), *extra])  # fmt: skip
        assert result.exit_code == 0, result.output
        reports[name] = json.loads((tmp_path / f"{name}.json").read_text())
        assert len(list(cache.rglob("*.pose"))) == len(clips)
    assert reports["ray"] == reports["local"]


def test_a_cluster_writes_the_asl_signs_layout_as_a_local_run(cluster: str, clips: list[Path], tmp_path: Path) -> None:
    from signscribe.data import open_dataset

    table = tmp_path / "clips.csv"
    table.write_text("path,label,signer\n" + "".join(f"{clip},sign{i % 2},{i % 3}\n" for i, clip in enumerate(clips)))
    samples = open_dataset(f"csv:{table}").samples
    for name, ray_address in (("local", None), ("ray", cluster)):
        summary = extract_poses(samples, tmp_path / name, workers=2, ray=ray_address, output_format="asl-signs")
        assert summary.done == len(clips)
    local, on_ray = (_files(tmp_path / name) for name in ("local", "ray"))
    assert sum(name.endswith(".parquet") for name in local) == len(clips)
    assert {k: v for k, v in local.items() if k != "extract_summary.json"} == {
        k: v for k, v in on_ray.items() if k != "extract_summary.json"
    }
