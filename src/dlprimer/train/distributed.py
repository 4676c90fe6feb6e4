"""Multi-process training under ``torchrun`` (数据并行, DistributedDataParallel): no launcher of our own.

``torchrun --nproc-per-node N -m dlprimer train ...`` starts N copies of ``dlprimer train``; each reads
``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK`` from its environment and :func:`session` joins the process group
(gloo on CPU, NCCL on CUDA with one GPU per local rank) and tears it down at the end and on error.

How a step is split (``--batch-size`` is the GLOBAL batch, the same number as in a one-process run):

- every rank draws the same global batch (the loader is shuffled by the generator seeded with ``(seed, epoch)``,
  augmented with the same generator) and keeps its contiguous slice ``torch.tensor_split(batch, W)[rank]`` —
  the union of the ranks' slices at each step is exactly the one-process batch, in the same order;
- the local mean loss is scaled by ``W · n_local / n_global`` before backward, so DDP's gradient *average*
  equals the gradient of the global mean loss even for a short last batch;
- train loss/accuracy are summed (weighted by samples) over ranks with ``all_reduce``; validation runs on every
  rank (same weights, same data, same numbers) so the early-stopping decision is identical everywhere.

Hence a W-process run without BatchNorm or dropout ends with the weights of a one-process run to float
rounding. BatchNorm uses each rank's slice for its batch statistics (no SyncBatchNorm) and dropout masks are drawn
per rank, so such models train correctly but not bit-identically to one process. Each rank loads (and augments)
the whole global batch and keeps its slice: simple and exact, but the data loading is not split.

Rank 0 alone decides the run name (broadcast to the others) and writes the run folder, checkpoints, plots and
summary; ``--resume`` makes every rank read the same checkpoint (the folder must be visible to all ranks).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_CURRENT: DistContext | None = None


@dataclass(frozen=True)
class DistContext:
    """The process's place in the group: ``world_size`` processes, this one ``rank`` (``local_rank`` on its node)."""

    world_size: int
    rank: int
    local_rank: int
    backend: str

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def env_world_size() -> int:
    """``WORLD_SIZE`` of the environment (1 when unset): > 1 means we were started by torchrun with N > 1."""
    value = os.environ.get("WORLD_SIZE", "1")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"WORLD_SIZE must be an integer, got {value!r}") from None


def current() -> DistContext | None:
    """The active group (inside :func:`session` with ``WORLD_SIZE`` > 1), else ``None`` (one process)."""
    return _CURRENT


def is_main() -> bool:
    """True on rank 0 and in a one-process run: the process that writes files."""
    return _CURRENT is None or _CURRENT.is_main


@contextlib.contextmanager
def session(device: str = "auto") -> Iterator[DistContext | None]:
    """Join the torchrun process group for the duration of the block (nothing happens when ``WORLD_SIZE`` ≤ 1).

    Backend: NCCL when the run is on CUDA (``device`` ``cuda``, or ``auto`` with a GPU; each process takes GPU
    ``LOCAL_RANK``), gloo otherwise. The group is destroyed when the block ends, normally or by an exception.
    """
    global _CURRENT
    world = env_world_size()
    if world <= 1 or _CURRENT is not None:
        yield _CURRENT
        return
    import torch
    import torch.distributed as dist

    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    backend = "nccl" if cuda and dist.is_nccl_available() else "gloo"
    if cuda:
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend=backend)
    _CURRENT = DistContext(world_size=world, rank=rank, local_rank=local_rank, backend=backend)
    try:
        yield _CURRENT
    finally:
        _CURRENT = None
        with contextlib.suppress(Exception):
            dist.destroy_process_group()


def device_for(ctx: DistContext | None, device: Any) -> Any:
    """On NCCL each process uses its own GPU ``cuda:LOCAL_RANK``."""
    import torch

    if ctx is not None and device.type == "cuda":
        return torch.device("cuda", ctx.local_rank)
    return device


def broadcast_object(obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank (unchanged in a one-process run)."""
    if _CURRENT is None:
        return obj
    import torch.distributed as dist

    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def all_reduce_sum(values: list[float]) -> list[float]:
    """Element-wise sum of ``values`` over the ranks (float64; unchanged in a one-process run)."""
    if _CURRENT is None:
        return list(values)
    import torch
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64)
    if _CURRENT.backend == "nccl":
        t = t.cuda()
    dist.all_reduce(t)
    return [float(v) for v in t.cpu()]


def barrier() -> None:
    if _CURRENT is not None:
        import torch.distributed as dist

        dist.barrier()


def check_global_batch(batch_size: int, world_size: int) -> None:
    """``--batch-size`` is global: it must split evenly over the processes."""
    if batch_size % world_size:
        raise ValueError(f"--batch-size is the global batch over all {world_size} processes and must be divisible "
                         f"by it; got {batch_size} (use a multiple of {world_size})")
