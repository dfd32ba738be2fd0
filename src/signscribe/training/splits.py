"""Train/validation splits when the data has none: stratified by label, or by signer."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from signscribe.data.dataset import Sample


def stratified_split(samples: list[Sample], fraction: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """About ``fraction`` of each label's samples for validation (none from a label with one sample)."""
    rng = np.random.default_rng(seed)
    by_label: dict[str | None, list[int]] = defaultdict(list)
    for index, sample in enumerate(samples):
        by_label[sample.label].append(index)
    held: set[int] = set()
    for indices in by_label.values():
        count = round(len(indices) * fraction) if len(indices) > 1 else 0
        held.update(rng.permutation(indices)[: max(count, 1 if len(indices) > 1 else 0)].tolist())
    return [s for i, s in enumerate(samples) if i not in held], [s for i, s in enumerate(samples) if i in held]


def signer_split(
    samples: list[Sample], fraction: float, seed: int, holdout: str | None = None
) -> tuple[list[Sample], list[Sample]]:
    """Signer-independent: no signer is in both parts. ``holdout`` names the validation signer;
    otherwise signers are drawn at random until about ``fraction`` of the samples are held out."""
    signers = sorted({s.signer for s in samples if s.signer is not None})
    if any(s.signer is None for s in samples) or len(signers) < 2:
        raise ValueError("a signer split needs a signer for every sample and at least two signers")
    if holdout is not None:
        if holdout not in signers:
            raise ValueError(f"signer {holdout!r} is not in the data; signers: {', '.join(signers)}")
        held = {holdout}
    else:
        held = set()
        for signer in np.random.default_rng(seed).permutation(signers).tolist():
            if sum(s.signer in held for s in samples) >= fraction * len(samples) or len(held) == len(signers) - 1:
                break
            held.add(signer)
    return [s for s in samples if s.signer not in held], [s for s in samples if s.signer in held]
