"""Speed of the landmarks-to-English model on this CPU, on real How2Sign landmarks.

Prints training throughput (sentences/s, forward + backward with augmentation, default model size)
and decoding milliseconds per sentence, greedy and with beam search (beam 4). The end token is
disabled, so every sentence runs to ``--max-length`` tokens: the worst case, the same for both.
Run: ``.venv/bin/python benchmarks/translation_speed.py [--max-length N]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from signscribe.data import open_dataset
from signscribe.models import create_model
from signscribe.models.families.pose_to_text import GenerationConfig, generate
from signscribe.models.inputs import ExampleSet, FeatureConfig, prepare_samples
from signscribe.models.text import TextTokenizer
from signscribe.pose import HolisticExtractor, PoseCache
from signscribe.training.translation import translation_loss

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-length", type=int, default=64)
    args = parser.parse_args()
    dataset = open_dataset(f"how2sign:{DATA / 'how2sign' / 'how2sign_realigned_val.csv'}")
    features = FeatureConfig(max_frames=256)
    prepared = prepare_samples(features, dataset.samples, HolisticExtractor(cache=PoseCache()))
    sequences = prepared.items
    sentences = [sample.label or "" for sample in prepared.samples]
    tokenizer = TextTokenizer.train(sentences)
    torch.manual_seed(0)
    model = create_model("pose_to_text", tokenizer.vocab_size, pad_id=tokenizer.pad_id)
    data = ExampleSet(features, sequences, list(range(len(sequences))), features.augmenter(0.5))
    ids = [tokenizer.encode(sentence)[: args.max_length - 1] for sentence in sentences]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    batch_size, steps = 8, 6
    model.train()
    start = time.perf_counter()
    for step in range(steps):
        rows = [(step * batch_size + i) % len(data) for i in range(batch_size)]
        loss = translation_loss(model, data.batch(rows), [ids[i] for i in rows], tokenizer, 0.1)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - start
    frames = sum(s.num_frames for s in sequences) / len(sequences)
    params = sum(p.numel() for p in model.parameters())
    print(f"{len(sequences)} real How2Sign sentences, {frames:.0f} frames on average; model {params:,} parameters")
    print(f"training, batch {batch_size}: {steps * batch_size / seconds:.1f} sentences/s")
    batch = ExampleSet(features, sequences[:8], list(range(8))).batch(range(8))
    for beam in (1, 4):
        config = GenerationConfig(max_length=args.max_length, beam_size=beam)
        start = time.perf_counter()
        never = -1  # no token id: decoding never ends early
        outputs = generate(model, *batch.inputs, tokenizer.bos_id, never, config)
        seconds = time.perf_counter() - start
        assert all(len(row) == args.max_length for row in outputs)
        print(f"decoding {args.max_length} tokens, beam {beam}: {1000 * seconds / 8:.0f} ms per sentence")


if __name__ == "__main__":
    main()
