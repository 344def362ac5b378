"""Which process is which under ``torchrun`` / ``accelerate launch``, for the few things only one may do.

Training itself is distributed by ``transformers.Trainer``; medspec only needs to let one process write the run
directory's manifest and merged checkpoints, and make the others wait for it.

Example:
    >>> is_main_process()  # a plain python process is rank 0
    True
"""

from __future__ import annotations

import os

__all__ = ["barrier", "is_main_process", "rank", "world_size"]


def rank() -> int:
    """This process's global rank (0 when not launched distributed)."""
    return int(os.environ.get("RANK", "0"))


def world_size() -> int:
    """Number of processes (1 when not launched distributed)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    """True on the process that writes shared files."""
    return rank() == 0


def barrier() -> None:
    """Wait until every process gets here (no-op without an initialised process group)."""
    import torch.distributed as dist

    if world_size() > 1 and dist.is_available() and dist.is_initialized():
        dist.barrier()
