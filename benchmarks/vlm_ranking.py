"""How fast a video language model ranks labels: signscribe's ranking (the prompt and clip run once,
their key/value cache reused for every label, labels 64 to a batch) against scoring each label as a
whole sequence (prompt, clip and label, the obvious way: the prompt runs once per label, 8 labels a
batch), on a real WLASL clip, with the WLASL100 glosses as labels. Both give the same scores (to
1e-4, checked here; ``tests/models/test_vlm.py`` checks it per architecture).

No checkpoint can be downloaded here, so the model is a random Video-LLaVA built from a config:
``--hidden`` wide (default 256), 2 layers, 64-pixel frames in 8-pixel patches (65 tokens a frame, 520
a clip of 8 frames), with the tests' offline tokenizer. The figures are this CPU's; a real 7B model
on a GPU is far slower per pass, and the prompt-once saving grows with the prompt's share of the work.

Run from the repository root: ``.venv/bin/python benchmarks/vlm_ranking.py [--hidden 256] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

from signscribe.data.gloss_subset import read_glosses
from signscribe.inference import Recognizer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "models"))
from tiny_vlms import build_tiny_vlm  # the tests' model builder, found through the line above

CLIP = Path(__file__).resolve().parents[2] / "shared" / "data" / "wlasl" / "clips" / "01586.mp4"
WHOLE_BATCH = 8


@torch.no_grad()
def whole_sequences(model, video: torch.Tensor, labels: list[str]) -> torch.Tensor:
    """Each label's log-likelihood from a pass over prompt, clip and label together."""
    prompt = model.prompt_ids()
    scores = []
    for start in range(0, len(labels), WHOLE_BATCH):
        answers = [model.answer_ids(label) for label in labels[start : start + WHOLE_BATCH]]
        width = max(map(len, answers))
        ids = torch.full((len(answers), len(prompt) + width), model.tokenizer.eos_token_id)
        mask = torch.zeros_like(ids)
        for row, answer in enumerate(answers):
            ids[row, : len(prompt) + len(answer)] = torch.tensor(prompt + answer)
            mask[row, : len(prompt) + len(answer)] = 1
        pixels = model.pixel_inputs(video.expand(len(answers), *video.shape[1:]))
        logits = model.network(input_ids=ids, attention_mask=mask, **pixels).logits.float().log_softmax(-1)
        for row, answer in enumerate(answers):
            steps = logits[row, len(prompt) - 1 : len(prompt) - 1 + len(answer)]
            scores.append(steps.gather(-1, torch.tensor(answer)[:, None]).sum())
    return torch.stack(scores)


def timed(function, repeats: int) -> tuple[float, torch.Tensor]:
    result = function()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        result = function()
    return (time.perf_counter() - start) / repeats, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(2)
    labels = read_glosses("wlasl100")
    with tempfile.TemporaryDirectory() as folder:
        base = build_tiny_vlm("video_llava", Path(folder) / "model", labels, hidden=args.hidden, image_size=64)
        recognizer = Recognizer.from_pretrained(f"vlm:{base}", device="cpu", vlm={"labels": "wlasl100"})
        model = recognizer.loaded.model
        (video,) = recognizer.model_inputs(recognizer.prepare([CLIP]))
        print(f"prompt {len(model.prompt_ids())} tokens, {len(labels)} labels, hidden {args.hidden}")
        cached_seconds, cached = timed(lambda: model(video)[0], args.repeats)
        whole_seconds, whole = timed(lambda: whole_sequences(model, video, labels), args.repeats)
    assert torch.allclose(cached, whole, atol=1e-4), (cached - whole).abs().max()
    print("| ranking 100 labels, one clip | seconds |\n| --- | ---: |")
    print(f"| prompt once, cache reused (signscribe) | {cached_seconds:.2f} |")
    print(f"| each label a whole sequence | {whole_seconds:.2f} |")
    print(f"speed-up: {whole_seconds / cached_seconds:.1f}x")


if __name__ == "__main__":
    main()
