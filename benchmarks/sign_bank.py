"""The sign bank, and fine-tuning from a model's encoder, on WLASL100 glosses the encoder never saw.

1. Hold out 20 of WLASL100's 100 glosses (seeded) and train the pose encoder on the train split of the
   other 80 with the bundled members' recipe (``configs/wlasl100.json``), into
   ``runs/sign_bank/encoder80`` (kept for the next run; ``--retrain`` trains again).
2. Embed every clip of the 20 held-out glosses (train and val splits) as the bank does.
3. Few-shot episodes, ``--episodes`` per k (k = 1 and 5): 10 of the 20 held-out glosses go into a bank
   with k examples each, drawn from their train clips. Queries are the val clips of those 10 (known)
   and of the other 10 (unknown: to be rejected). The rejection threshold is chosen on the same kind of
   episodes whose queries are other train clips (the best mean of known-correct and unknown-rejected),
   then used on the val episodes. Printed: accuracy without rejection (closed set), accuracy of known
   queries with rejection (a rejected known clip counts as wrong), and the share of unknown clips
   rejected.
4. Fine-tuning: ``train --init-from encoder80`` (frozen encoder, and the whole model) with n = 1, 5 and
   10 train clips of each of the 20 held-out glosses, measured on their val clips, against the bank
   taught the same clips (closed set over the 20 glosses).

Landmarks come from the pose cache (``signscribe extract --data csv:../shared/data/wlasl100/wlasl100.csv``
fills it). Run from the repository root: ``.venv/bin/python benchmarks/sign_bank.py [--episodes 200]``.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import time
from pathlib import Path

import numpy as np

from signscribe.data import open_dataset
from signscribe.data.dataset import Sample
from signscribe.inference.bank import DEFAULT_THRESHOLD, clip_embedder
from signscribe.training import TrainConfig, train

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "wlasl100" / "wlasl100.csv"
RUNS = ROOT / "runs" / "sign_bank"
HELD_OUT, BANK_SIZE, SEED = 20, 10, 0


def _write_csv(samples: list[Sample], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["path", "label", "split", "signer"])
        writer.writerows([str(s.path.resolve()), s.label, s.split, s.signer or ""] for s in samples)
    return path


def _encoder(seen: list[Sample], retrain: bool) -> Path:
    out = RUNS / "encoder80"
    if (out / "model.safetensors").is_file() and not retrain:
        return out
    data = _write_csv(seen, RUNS / "wlasl80.csv")
    config = TrainConfig.from_file(ROOT / "configs" / "wlasl100.json", data=f"csv:{data}")
    started = time.perf_counter()
    result = train(config, out, log=print)
    print(f"encoder: {result.summary} ({(time.perf_counter() - started) / 60:.0f} min)")
    return out


def _prototypes(vectors: np.ndarray) -> np.ndarray:
    mean = vectors.mean(axis=0)
    return mean / np.linalg.norm(mean)


def _episodes(
    vectors: dict[str, np.ndarray], samples: dict[str, list[Sample]], k: int, queries: str, episodes: int
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per episode: the similarities of each query to the bank's prototypes, the query's true index
    in the bank (-1: unknown), for queries from ``queries`` (train: other train clips; val)."""
    rng = np.random.default_rng(SEED + k + (0 if queries == "train" else 1000))
    glosses = sorted(samples)
    results = []
    for _ in range(episodes):
        chosen = list(rng.permutation(glosses))
        known, unknown = chosen[:BANK_SIZE], chosen[BANK_SIZE:]
        bank, query_ids, truth = [], [], []
        for index, gloss in enumerate(known):
            train_ids = [s.id for s in samples[gloss] if s.split == "train"]
            support = list(rng.choice(train_ids, size=min(k, len(train_ids)), replace=False))
            bank.append(_prototypes(np.stack([vectors[i] for i in support])))
            pool = [s.id for s in samples[gloss] if s.split == queries and s.id not in support]
            query_ids += pool
            truth += [index] * len(pool)
        for gloss in unknown:
            pool = [s.id for s in samples[gloss] if s.split == queries]
            query_ids += pool
            truth += [-1] * len(pool)
        similarity = np.stack([vectors[i] for i in query_ids]) @ np.stack(bank).T
        results.append((similarity, np.array(truth), np.arange(len(known))))
    return results


def _scores(episodes: list[tuple[np.ndarray, np.ndarray, np.ndarray]], threshold: float) -> dict[str, float]:
    closed, accepted, rejected = [], [], []
    for similarity, truth, _ in episodes:
        best, score = similarity.argmax(axis=1), similarity.max(axis=1)
        known = truth >= 0
        closed.append(np.mean(best[known] == truth[known]))
        accepted.append(np.mean((best[known] == truth[known]) & (score[known] >= threshold)))
        rejected.append(np.mean(score[~known] < threshold))
    return {"closed": float(np.mean(closed)), "known": float(np.mean(accepted)), "rejected": float(np.mean(rejected))}


def _threshold(episodes: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> float:
    candidates = np.round(np.arange(0.0, 1.0, 0.01), 2)
    balanced = [(_scores(episodes, t)["known"] + _scores(episodes, t)["rejected"]) / 2 for t in candidates]
    return float(candidates[int(np.argmax(balanced))])


def _fine_tuning(encoder: Path, held: dict[str, list[Sample]], vectors: dict[str, np.ndarray]) -> None:
    print("\n| examples per sign | bank (closed set) | fine-tuned head, encoder frozen | fine-tuned whole model |")
    print("| ---: | ---: | ---: | ---: |")
    rng = np.random.default_rng(SEED)
    val = [s for gloss in sorted(held) for s in held[gloss] if s.split == "val"]
    glosses = sorted(held)
    for n in (1, 5, 10):
        chosen = []
        for gloss in glosses:
            train_clips = [s for s in held[gloss] if s.split == "train"]
            chosen += [train_clips[i] for i in rng.permutation(len(train_clips))[:n]]
        bank = np.stack([_prototypes(np.stack([vectors[s.id] for s in chosen if s.label == g])) for g in glosses])
        truth = np.array([glosses.index(s.label) for s in val])
        bank_accuracy = float(np.mean((np.stack([vectors[s.id] for s in val]) @ bank.T).argmax(axis=1) == truth))
        data = _write_csv(chosen + val, RUNS / f"held_{n}.csv")
        row = [f"{bank_accuracy:.1%}"]
        for frozen in (True, False):
            options = {"epochs": 40, "batch": 16, "patience": 0, "seed": SEED, "select_best": False}
            config = TrainConfig(data=f"csv:{data}", init_from=str(encoder), freeze_encoder=frozen, **options)
            out = RUNS / f"tuned_{n}_{'frozen' if frozen else 'whole'}"
            shutil.rmtree(out, ignore_errors=True)  # a fresh run each time
            result = train(config, out)
            row.append(f"{result.history[-1]['val_top1']:.1%}")
        print(f"| {n} | {' | '.join(row)} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--retrain", action="store_true", help="train the 80-gloss encoder again")
    args = parser.parse_args()
    if not DATA.is_file():
        raise SystemExit(f"{DATA} is missing: the benchmark needs ../shared/data")
    dataset = open_dataset(f"csv:{DATA}")
    held_out = sorted(np.random.default_rng(SEED).permutation(dataset.labels)[:HELD_OUT].tolist())
    seen = [s for s in dataset.samples if s.label not in held_out]
    encoder = _encoder(seen, args.retrain)
    held = {gloss: [s for s in dataset.samples if s.label == gloss] for gloss in held_out}
    embed = clip_embedder(str(encoder))
    clips = [s for gloss in held_out for s in held[gloss]]
    vectors = {s.id: embed(s.clip) for s in clips}
    counts = {split: sum(s.split == split for s in clips) for split in ("train", "val")}
    print(f"held-out glosses ({HELD_OUT}): {', '.join(held_out)}; clips: {counts['train']} train, {counts['val']} val")
    print(f"\n{args.episodes} episodes per k; a bank of {BANK_SIZE} signs; queries: val clips of those "
          f"{BANK_SIZE} (known) and of the other {HELD_OUT - BANK_SIZE} (unknown)\n")  # fmt: skip
    print("| k | threshold | closed-set accuracy | known: right and accepted | unknown: rejected |")
    print("| ---: | --- | ---: | ---: | ---: |")
    for k in (1, 5):
        chosen = _threshold(_episodes(vectors, held, k, "train", args.episodes))
        val_episodes = _episodes(vectors, held, k, "val", args.episodes)
        for name, threshold in ((f"{chosen:.2f} (chosen on train episodes)", chosen),
                                (f"{DEFAULT_THRESHOLD:.2f} (the bank's default)", DEFAULT_THRESHOLD)):  # fmt: skip
            scores = _scores(val_episodes, threshold)
            print(f"| {k} | {name} | {scores['closed']:.1%} | {scores['known']:.1%} | {scores['rejected']:.1%} |")
    _fine_tuning(encoder, held, vectors)


if __name__ == "__main__":
    main()
