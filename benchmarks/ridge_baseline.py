"""Linear baseline for the default model: ridge regression on pooled normalised landmarks.

Leave-one-signer-out on the traduttore MP_Data landmarks (three signers: sequences 0-29, 30-59,
60-89). Each sequence becomes the mean and standard deviation over time of its normalised
features plus the share of frames with each hand; a ridge regression onto one-hot labels picks
the class. Run: ``.venv/bin/python benchmarks/ridge_baseline.py [--alpha 1.0]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from signscribe.data import read_mp_data
from signscribe.models.inputs import FeatureConfig, sequence_features
from signscribe.pose import load_mp_sequence

ARCHIVE = Path(__file__).resolve().parents[1].parent / "shared/data/keypoints/traduttore_asl16_seq0-89.tar.gz"


def pooled(sequence_path: Path, config: FeatureConfig) -> np.ndarray:
    values, present = sequence_features(load_mp_sequence(sequence_path), config)
    flat = values.reshape(len(values), -1)
    hands = present[:, -42:].reshape(len(values), 2, 21).any(axis=2).mean(axis=0)
    return np.concatenate([flat.mean(axis=0), flat.std(axis=0), hands])


def fit_ridge(x: np.ndarray, y: np.ndarray, classes: int, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    z = np.hstack([(x - mean) / std, np.ones((len(x), 1))])
    targets = np.eye(classes)[y]
    weights = np.linalg.solve(z.T @ z + alpha * np.eye(z.shape[1]), z.T @ targets)
    return weights, mean, std


def predict_ridge(model: tuple[np.ndarray, np.ndarray, np.ndarray], x: np.ndarray) -> np.ndarray:
    weights, mean, std = model
    return np.hstack([(x - mean) / std, np.ones((len(x), 1))]) @ weights


def leave_one_signer_out(alpha: float = 1.0) -> dict[str, float]:
    """Top-1 of the ridge baseline on each held-out signer."""
    data = read_mp_data(ARCHIVE, sequences_per_signer=30)
    config = FeatureConfig()
    x = np.stack([pooled(sample.path, config) for sample in data.samples])
    y = np.array([data.labels.index(sample.label) for sample in data.samples])
    signers = np.array([sample.signer for sample in data.samples])
    accuracies = {}
    for signer in sorted(set(signers)):
        train, test = signers != signer, signers == signer
        model = fit_ridge(x[train], y[train], len(data.labels), alpha)
        accuracies[signer] = float((predict_ridge(model, x[test]).argmax(axis=1) == y[test]).mean())
    return accuracies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alpha", type=float, default=1.0)
    args = parser.parse_args()
    if not ARCHIVE.is_file():
        raise SystemExit(f"{ARCHIVE} is missing: the baseline needs ../shared/data")
    accuracies = leave_one_signer_out(args.alpha)
    for signer, accuracy in accuracies.items():
        print(f"held-out signer {signer}: top-1 {accuracy:.1%}")
    print(f"ridge baseline leave-one-signer-out top-1: {np.mean(list(accuracies.values())):.1%}")


if __name__ == "__main__":
    main()
