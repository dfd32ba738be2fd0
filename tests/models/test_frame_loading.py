"""Feeding RGB models at scale: decoded clips cached on disk and read memory-mapped (``--frame-cache``),
filled by parallel processes, and batches built by DataLoader workers (``--loader-workers``), all on
real WLASL clips, without changing a single number of a run."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import numpy as np
import pytest

from signscribe.models.inputs import FramesConfig
from signscribe.pose import HolisticExtractor
from signscribe.training import TrainConfig, train

TINY = {"frames": 8, "size": 112, "resize": 128}


def test_the_frame_cache_decodes_a_clip_once_and_reads_it_memory_mapped(
    both_hands_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = FramesConfig(**TINY)
    cached = FramesConfig(**TINY, frame_cache=str(tmp_path / "frames"))
    extractor = HolisticExtractor()
    expected = plain.prepare(plain.load(both_hands_clip, extractor))
    first = cached.prepare(cached.load(both_hands_clip, extractor))
    assert isinstance(first.frames, np.memmap) and np.array_equal(first.frames, expected.frames)
    assert first.fps == pytest.approx(expected.fps) and first.duration == pytest.approx(expected.duration)
    assert "frame_cache" not in cached.to_dict()  # where a run keeps its clips is not part of the model
    wider = FramesConfig(**{**TINY, "resize": 144}, frame_cache=cached.frame_cache)
    assert min(wider.load(both_hands_clip, extractor).frames.shape[1:3]) == 144  # other settings, other entry
    assert len(list((tmp_path / "frames").rglob("*.npy"))) == 2

    with monkeypatch.context() as patched:
        patched.setattr(FramesConfig, "_decode", lambda *_: pytest.fail("a cached clip was decoded again"))
        again = cached.load(both_hands_clip, extractor)
        assert np.array_equal(again.frames, first.frames)
    shipped = pickle.dumps(again)  # what a DataLoader worker receives: the path, not the pixels
    assert len(shipped) < 2_000 < again.frames.nbytes
    arrived = pickle.loads(shipped)
    assert isinstance(arrived.frames, np.memmap) and np.array_equal(arrived.frames, first.frames)

    entry = Path(again.cache_file)
    entry.write_bytes(entry.read_bytes()[:1000])  # a damaged entry is a miss, decoded and written again
    assert np.array_equal(cached.load(both_hands_clip, extractor).frames, expected.frames)

    blocked = tmp_path / "a_file"
    blocked.write_text("not a folder")
    with pytest.raises(ValueError, match=r"a_file/frames: cannot write the cache"):
        FramesConfig(**TINY, frame_cache=str(blocked / "frames")).load(both_hands_clip, extractor)


def test_a_frame_cache_and_loader_workers_change_nothing_in_a_run(wlasl_dir: Path, tmp_path: Path) -> None:
    data = {"data": f"wlasl:{wlasl_dir / 'WLASL_v0.3.json'}", "videos": str(wlasl_dir / "clips"), "subset": 100}
    options = {**data, "model": "x3d_xs", "features": TINY, "epochs": 2, "batch": 4, "warmup_epochs": 0}
    plain = train(TrainConfig(**options), tmp_path / "plain")
    cache = tmp_path / "frames"
    fast = train(TrainConfig(**options, frame_cache=str(cache), loader_workers=2), tmp_path / "fast", workers=2)
    assert fast.history == plain.history  # every loss and score, to the last bit
    card = (tmp_path / "fast" / "model_card.md").read_text()
    used = re.search(r"training sequences (\d+), validation sequences (\d+)", card)
    assert used is not None and len(list(cache.rglob("*.json"))) == int(used[1]) + int(used[2])
