"""Training and validation samples: from ``--val``, the data's own splits, or a new split (stratified by
label, by signer, or at random)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from signscribe.data.dataset import Dataset, Sample
from signscribe.data.kinds import dataset_kind, open_dataset, parse_spec
from signscribe.errors import SignscribeError
from signscribe.training.config import DataOptions


def _group(sample: Sample, index: int) -> str:
    return f"group:{sample.group}" if sample.group is not None else f"sample:{index}"


def stratified_split(samples: list[Sample], fraction: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """About ``fraction`` of each label's samples for validation (none from a label with one sample);
    the samples of a ``group`` (one clip's variants) go to the same side."""
    rng = np.random.default_rng(seed)
    by_label: dict[str | None, list[str]] = defaultdict(list)
    for index, sample in enumerate(samples):
        if (group := _group(sample, index)) not in by_label[sample.label]:
            by_label[sample.label].append(group)
    held: set[str] = set()
    for groups in by_label.values():
        count = round(len(groups) * fraction) if len(groups) > 1 else 0
        held.update(rng.permutation(groups)[: max(count, 1 if len(groups) > 1 else 0)].tolist())
    chosen = [_group(sample, index) in held for index, sample in enumerate(samples)]
    return [s for s, c in zip(samples, chosen, strict=True) if not c], [
        s for s, c in zip(samples, chosen, strict=True) if c
    ]


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


def signer_folds(samples: list[Sample], folds: int, seed: int = 0) -> list[set[str]]:
    """``folds`` disjoint sets of signers that cover them all, each holding about a ``folds``-th of the
    samples, for signer-disjoint k-fold cross-validation: the signers with the most samples first (ties
    in a seeded random order), each to the fold that holds the fewest samples so far."""
    counts: dict[str, int] = defaultdict(int)
    for sample in samples:
        if sample.signer is None:
            raise ValueError(f"signer folds need a signer for every sample; {sample.path} has none")
        counts[sample.signer] += 1
    if not 2 <= folds <= len(counts):
        raise ValueError(f"{folds} signer folds need between 2 and {len(counts)} (the signers) folds")
    order = sorted(np.random.default_rng(seed).permutation(sorted(counts)).tolist(), key=lambda s: -counts[s])
    held: list[set[str]] = [set() for _ in range(folds)]
    sizes = [0] * folds
    for signer in order:
        lightest = sizes.index(min(sizes))
        held[lightest].add(signer)
        sizes[lightest] += counts[signer]
    return held


def random_split(samples: list[Sample], fraction: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """A seeded random ``fraction`` of the samples (at least one) for validation, in their order."""
    order = np.random.default_rng(seed).permutation(len(samples))
    held = set(order[: max(1, round(fraction * len(order)))].tolist())
    return [s for i, s in enumerate(samples) if i not in held], [s for i, s in enumerate(samples) if i in held]


def open_part(spec: str, config: DataOptions, videos: str | None, only_accepted: bool = False) -> Dataset:
    """A dataset of the run, with the dataset options of ``config`` and ``videos`` (with
    ``only_accepted``, those its kind takes, so that options meant for ``--data`` do not trouble a
    ``--val`` of another kind); a dataset without media is an error."""
    given = {**config.dataset_options(), "videos": videos}
    if only_accepted:
        taken = (*dataset_kind(parse_spec(spec)[0]).options, "glosses")
        given = {name: value for name, value in given.items() if name in taken}
    dataset = open_dataset(spec, **given)
    if not dataset.samples:
        raise SignscribeError(f"{spec}: the dataset has no samples with media ({len(dataset.missing)} missing)")
    return dataset


def split_samples(config: DataOptions, stratify: bool) -> tuple[list[str], list[Sample], list[Sample]]:
    """The data's labels and its training and validation samples: ``--val``, else the data's own
    train and val (or test) splits, else a new split (by signer with ``split_by=signer``, otherwise
    at random, stratified by label when ``stratify``)."""
    dataset = open_part(config.data, config, config.videos)
    if config.val:
        val = open_part(config.val, config, config.val_videos or config.videos, only_accepted=True)
        return dataset.labels, dataset.samples, val.samples
    splits = dataset.split_counts()
    if config.split_by == "random" and "train" in splits and ("val" in splits or "test" in splits):
        held = "val" if "val" in splits else "test"
        return dataset.labels, dataset.select("train").samples, dataset.select(held).samples
    seed = config.seed if config.split_seed is None else config.split_seed
    if config.split_by == "signer":
        train, val = signer_split(dataset.samples, config.val_fraction, seed, config.holdout_signer)
    elif stratify:
        train, val = stratified_split(dataset.samples, config.val_fraction, seed)
    elif len(dataset.samples) < 2:
        raise SignscribeError(f"{config.data}: one sample cannot be split; give --val")
    else:
        train, val = random_split(dataset.samples, config.val_fraction, seed)
    if not val:
        raise SignscribeError(f"{config.data}: no validation samples; give --val or data with more per label")
    return dataset.labels, train, val
