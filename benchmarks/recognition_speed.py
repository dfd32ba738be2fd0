"""Speed of isolated-sign recognition on this CPU.

Prints training throughput (samples/s, forward + backward with augmentation, real traduttore
landmarks), and inference milliseconds per clip for each bundled model alone (landmarks already
extracted) and for the default model end to end (decode + MediaPipe Holistic + model) on real
WLASL clips.
Run: ``.venv/bin/python benchmarks/recognition_speed.py [--clips N]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from signscribe.data import read_mp_data
from signscribe.inference import Recognizer
from signscribe.io import probe
from signscribe.models import create_model
from signscribe.models.bundled import bundled_models
from signscribe.models.inputs import ExampleSet, FeatureConfig
from signscribe.pose import HolisticExtractor, PoseCache, load_mp_sequence, normalize

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def training_throughput(model_name: str, config: dict, sequences: list, batch: int = 32, steps: int = 20) -> float:
    features = FeatureConfig()
    dataset = ExampleSet(features, sequences, [0] * len(sequences), features.augmenter(0.5))
    model = create_model(model_name, 16, num_points=features.num_points, **config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    start = time.perf_counter()
    for step in range(steps):
        items = dataset.batch([(step * batch + i) % len(dataset) for i in range(batch)])
        loss = torch.nn.functional.cross_entropy(model(*items.inputs), items.labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return steps * batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=20, help="real WLASL clips for the end-to-end timing")
    args = parser.parse_args()
    archive = DATA / "keypoints" / "traduttore_asl16_seq0-89.tar.gz"
    if not archive.is_file():
        raise SystemExit(f"{archive} is missing: the benchmark needs ../shared/data")
    torch.set_num_threads(2)
    samples = read_mp_data(archive).samples[::6]
    sequences = [normalize(load_mp_sequence(s.path)) for s in samples]
    print("training throughput (batch 32, 20-frame real sequences, augmentation on):")
    for name, config in (("pose_transformer", {"dim": 128, "depth": 2, "heads": 4}), ("stgcn", {})):
        print(f"  {name:<17} {training_throughput(name, config, sequences):8.0f} samples/s")

    recognizer = Recognizer.from_pretrained(None)
    clips = sorted((DATA / "wlasl" / "clips").glob("*.mp4"))[: args.clips]
    with tempfile.TemporaryDirectory() as cache:
        uncached = Recognizer(recognizer.loaded, HolisticExtractor(cache=PoseCache(cache)))
        end_to_end, frames = [], 0
        for clip in clips:
            frames += probe(clip).frame_count
            start = time.perf_counter()
            uncached.predict(clip)  # decode + MediaPipe (the cache is empty) + model
            end_to_end.append((time.perf_counter() - start) * 1000)
        cached = []
        for clip in clips:
            start = time.perf_counter()
            uncached.predict(clip)
            cached.append((time.perf_counter() - start) * 1000)
        landmarks = [uncached.landmarks(clip) for clip in clips]  # from the pose cache
    print(
        f"default model end to end on {len(clips)} real WLASL clips ({frames / len(clips):.0f} frames on average): "
        f"median {statistics.median(end_to_end):.0f} ms per clip; "
        f"with the pose cache warm: median {statistics.median(cached):.1f} ms"
    )
    print(f"model alone (features + forward, batch 1, median over the {len(clips)} clips' landmarks x 10):")
    for bundled in bundled_models():
        model = Recognizer.from_pretrained(bundled.name)
        model_ms = []
        with torch.no_grad():
            for sequence in landmarks * 10:
                start = time.perf_counter()
                model.scores([sequence])
                model_ms.append((time.perf_counter() - start) * 1000)
        print(f"  {bundled.name:<17} {len(model.labels):4d} labels {statistics.median(model_ms):8.2f} ms per clip")


if __name__ == "__main__":
    main()
