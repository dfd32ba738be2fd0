"""The model families side by side on one real WLASL clip, on this machine's CPU.

For each: the latency of one clip from the video file to the glosses (median of ``--runs`` after a
warm-up; for a streaming MoViNet, of one more frame of a running stream, the network alone), the
peak memory of a process that does only that (each family runs in its own process; the pose model's
graph workers counted in), the parameters,
and the GFLOPs of one forward pass (``torch.utils.flop_counter``: 2 per multiply-add). The pose
model is the bundled default end to end (MediaPipe extraction without the pose cache, the clip cut
into one part per core extracted at once on warm graphs, then the model); the RGB networks decode
and sample the clip (centre crop: no landmarks are extracted for them) at the input each was made
for (its registered defaults), with random weights and 100 classes (weights do not change the cost).
Run: ``.venv/bin/python benchmarks/model_zoo.py [--runs 3]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CLIP = DATA / "wlasl" / "clips" / "65145.mp4"  # "basketball", 47 frames (1.96 s)
POSE = "pose (wlasl100, end to end)"
# the pose model at its own extraction rate and at 12.5 fps (the card weighs the two on val)
POSE_RATES = {POSE: None, "pose (wlasl100, end to end, 12.5 fps)": 12.5}
FAMILIES = [
    *POSE_RATES,
    "i3d",
    "s3d",
    "x3d_xs",
    "x3d_s",
    "movinet_a0",
    "movinet_a2",
    "movinet_a0_stream",
    "movinet_a2_stream",
]
CORES = os.cpu_count() or 1
STREAMING = "_stream"  # these are timed per frame: one stream_step of one frame, the state carried over


def frame_settings(name: str) -> dict[str, object]:
    """The input a video family was made for: its registered defaults over the frames pipeline's."""
    from signscribe.models import model_family
    from signscribe.models.inputs import FramesConfig

    return dataclasses.asdict(FramesConfig(**model_family(name).input_defaults))


def measure(name: str, runs: int) -> dict[str, float]:
    """One family's figures, in this process (and, for the pose model, its graph workers)."""
    torch.set_num_threads(2)
    workers = 0  # graph worker processes beside this one
    settings = None if name in POSE_RATES else frame_settings(name)
    if settings is None:
        from signscribe.inference import Recognizer
        from signscribe.pose import HolisticExtractor

        recognizer = Recognizer.from_pretrained("default")
        # no cache (extract every time); the clip in parts on a pool of warm graphs, one per core
        extraction = recognizer.loaded.extraction
        if (rate := POSE_RATES[name]) is not None:
            extraction = dataclasses.replace(extraction, frame_rate=rate)
        recognizer.extractor = HolisticExtractor(extraction, workers=CORES)
        model, run = recognizer.loaded.model, lambda: recognizer.predict(CLIP)
        example = recognizer.model_batch(recognizer.prepare([CLIP])).inputs
        workers = CORES
    else:
        from signscribe.models import create_model
        from signscribe.models.inputs import FramesConfig
        from signscribe.pose import HolisticExtractor

        pipeline = FramesConfig(**{**settings, "signer_crop": False})
        model = create_model(name, 100).eval()

        def clip_tensor() -> torch.Tensor:
            return torch.from_numpy(pipeline.example(pipeline.prepare(pipeline.load(CLIP, HolisticExtractor()))))[None]

        clip, state = clip_tensor(), {}
        streaming = name.endswith(STREAMING)
        example = (clip[:, :, :1] if streaming else clip,)

        def run() -> torch.Tensor:
            with torch.no_grad():
                if streaming:  # one new frame of a running stream
                    return model.stream_step(clip[:, :, :1], state).softmax(-1)
                return model(clip_tensor()).softmax(-1)

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(*example)
    run()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    if settings is None:
        recognizer.extractor.close()  # the graph workers end, so their peak counts: the largest one's, per worker
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak += workers * resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "latency_ms": statistics.median(times) * 1000,
        "peak_mb": peak / 1024,
        "params_m": sum(p.numel() for p in model.parameters()) / 1e6,
        "gflops": counter.get_total_flops() / 1e9,
        "input": f"landmarks, {POSE_RATES[name] or 'every frame'}, {CORES} parts"
        if settings is None
        else f"1 frame of {settings['size']}² (per frame)"
        if name.endswith(STREAMING)
        else f"{settings['frames']} x {settings['size']}²",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--one", choices=list(FAMILIES), help=argparse.SUPPRESS)  # a child process's family
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.runs)))
        return
    if not CLIP.is_file():
        raise SystemExit(f"{CLIP} is missing: the benchmark needs ../shared/data")
    print(f"clip {CLIP.name}, CPU, {torch.get_num_threads()} threads\n")
    print("| model | input | latency per clip | peak memory | parameters | GFLOPs |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for name in FAMILIES:
        command = [sys.executable, __file__, "--one", name, "--runs", str(args.runs)]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        row = json.loads(output.strip().splitlines()[-1])
        print(
            f"| {name} | {row['input']} | {row['latency_ms']:.0f} ms | {row['peak_mb']:.0f} MB | "
            f"{row['params_m']:.1f} M | {row['gflops']:.1f} |"
        )


if __name__ == "__main__":
    main()
