"""Data-parallel training on torch.distributed, as ``torchrun`` (or ``accelerate launch``) starts it.

Each rank is a process with its own copy of the policy and its own envs. Per update:

* **rollouts** — every rank draws the same tasks (the task sampler is seeded alike), plays its contiguous
  share of the update's episodes, and the trajectories are gathered to every rank in episode order
  (``all_gather_object``). So advantages are computed on whole groups, identically everywhere, and an
  episode is the one a single process would have played (it depends only on its seed);
* **the update** — each rank scores its share of every minibatch. Gradients are synchronised by
  `torch.nn.parallel.DistributedDataParallel` (one all-reduce per optimizer step, ``no_sync`` for the
  micro-batches before the last), the loss being scaled so that the average DDP takes is the sum over
  the whole minibatch a single process would take. Every rank then clips and steps the same gradient;
* **files** — rank 0 writes the run directory, the checkpoints, the logs and the evaluations; the other
  ranks read the checkpoint they resume from and write nothing.

CPU: ``torchrun --standalone --nproc-per-node 2 -m serl_bench run ...`` (gloo). GPUs: the same with
``--nproc-per-node N`` on a machine with N GPUs (NCCL, one GPU per rank, ``cuda:LOCAL_RANK``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import torch
from torch import nn

T = TypeVar("T")
TIMEOUT = timedelta(hours=6)  #: ranks wait this long for rank 0 (its evaluation of the starting model, say)


@dataclass(frozen=True)
class Ranks:
    """This process's place among the ranks of a run (one rank when nothing launched several)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1

    def share(self, items: Sequence[T]) -> list[T]:
        """This rank's contiguous share of ``items`` (shares differ in length by at most one)."""
        n, k = len(items), self.world
        start, stop = self.rank * n // k, (self.rank + 1) * n // k
        return list(items[start:stop])


def ranks_from_env() -> Ranks:
    """The ranks torchrun (or accelerate) describes in ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Ranks()
    return Ranks(rank=int(os.environ.get("RANK", "0")), world=world, local_rank=int(os.environ.get("LOCAL_RANK", "0")))


def start(ranks: Ranks, device: str) -> None:
    """Join the process group (gloo on CPUs, NCCL on GPUs) once per process."""
    import torch.distributed as dist

    if ranks.distributed and not dist.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        dist.init_process_group(backend, timeout=TIMEOUT)


def gather(local: list[T], ranks: Ranks) -> list[T]:
    """Every rank's ``local`` list, concatenated in rank order (the inverse of `Ranks.share`)."""
    if not ranks.distributed:
        return local
    import torch.distributed as dist

    parts: list[Any] = [None] * ranks.world
    dist.all_gather_object(parts, local)
    return [item for part in parts for item in part]


def broadcast(value: T, ranks: Ranks) -> T:
    """Rank 0's ``value``, on every rank (a run directory's name, say)."""
    if not ranks.distributed:
        return value
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(ranks: Ranks) -> None:
    if ranks.distributed:
        import torch.distributed as dist

        dist.barrier()


class Scorer(nn.Module):
    """The policy (and value head) behind one ``forward`` that scores responses, so that DDP sees every
    training pass: `serl_bench.training._policy.score` runs the backbone and the output layer apart."""

    def __init__(self, model: nn.Module, value_head: nn.Module | None) -> None:
        super().__init__()
        self.model, self.value_head = model, value_head

    def forward(self, prompts: Sequence[Sequence[int]], responses: Sequence[Sequence[int]], **kwargs: Any) -> Any:
        from ._policy import score

        return score(self.model, prompts, responses, value_head=self.value_head, **kwargs)


def data_parallel(model: nn.Module, value_head: nn.Module | None, device: str) -> nn.Module:
    """The scorer wrapped in DDP (built after layers are frozen: only trainable weights are synchronised)."""
    wrapped = Scorer(model, value_head)
    ids = [torch.device(device).index] if device.startswith("cuda") else None
    return nn.parallel.DistributedDataParallel(wrapped, device_ids=ids, broadcast_buffers=False)
