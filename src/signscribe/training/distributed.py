"""Data-parallel training with torch.distributed (DDP): gloo on CPU, nccl on GPU.

``signscribe train --nproc N`` starts N processes on this machine through torchrun
(``torch.distributed.run``); ``torchrun ... -m signscribe train`` (or Slurm's ``srun`` with the same
variables) starts them on several. Each process is told its place by ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK``. Every process builds the same model and walks the same epoch plan; each global batch
(``--batch``) is dealt out among the processes, so N processes take the steps one process takes with
the same global batch, and DDP averages their gradients. Every process measures validation (the same
weights give the same figures, so every process takes the same early-stopping decisions); only the
first (rank 0) writes the checkpoint, the model folder and the logs. Landmarks are extracted once:
rank 0 fills the pose cache, the others read it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist

from signscribe.devices import device_of


@dataclass(frozen=True)
class Distributed:
    """This process's place among the training processes (one process: rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @classmethod
    def from_environment(cls) -> Distributed:
        return cls(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                   int(os.environ.get("LOCAL_RANK", 0)))  # fmt: skip

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def main(self) -> bool:
        """The process that writes files and logs."""
        return self.rank == 0

    def start(self, device: torch.device) -> torch.device:
        """Join the process group (gloo on CPU, nccl on CUDA); on CUDA each process takes the GPU of
        its ``LOCAL_RANK``. Returns the device this process trains on."""
        if not self.active:
            return device
        if device.type == "cuda":
            device = torch.device("cuda", self.local_rank)
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        return device

    def stop(self) -> None:
        if self.active and dist.is_initialized():
            dist.destroy_process_group()

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """The model as the training step calls it: under DDP when there are several processes."""
        if not self.active:
            return model
        devices = [device_of(model)] if device_of(model).type == "cuda" else None
        return torch.nn.parallel.DistributedDataParallel(model, device_ids=devices)

    def share(self, indices: Sequence[int]) -> list[int]:
        """This process's part of a global batch: every ``world_size``-th index from its rank. A batch
        smaller than the processes gives the short ones its first index again (every process must
        take part in every step)."""
        part = list(indices[self.rank :: self.world_size])
        return part or list(indices[:1])

    def sum(self, values: dict[str, float]) -> dict[str, float]:
        """``values`` summed over the processes (the same keys in each)."""
        if not self.active:
            return values
        names = sorted(values)
        totals = torch.tensor([values[name] for name in names], dtype=torch.float64)
        dist.all_reduce(totals)
        return dict(zip(names, totals.tolist(), strict=True))

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    @contextmanager
    def first_main(self) -> Iterator[None]:
        """Rank 0 runs the block, then the others (they find its work done: the pose cache)."""
        if not self.main:
            self.barrier()
        yield
        if self.main:
            self.barrier()


def unwrapped(model: torch.nn.Module) -> torch.nn.Module:
    """The model inside a DDP wrapper (for validation, which needs no gradient exchange), or the model."""
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model


def without_option(arguments: list[str], name: str) -> list[str]:
    """``arguments`` without the option ``name`` and its value (``--nproc 2`` or ``--nproc=2``)."""
    kept, skip = [], False
    for argument in arguments:
        if skip:
            skip = False
        elif argument == name:
            skip = True
        elif not argument.startswith(f"{name}="):
            kept.append(argument)
    return kept


def launch(nproc: int, arguments: list[str]) -> int:
    """Run ``signscribe <arguments>`` in ``nproc`` processes on this machine with torchrun; returns
    its exit code (0 when every process succeeded)."""
    from torch.distributed import run

    command = ["--standalone", "--nnodes", "1", "--nproc-per-node", str(nproc), "-m", "signscribe", *arguments]
    try:
        run.main(command)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    except Exception as error:  # torchrun's ChildFailedError: each failure is already printed
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
