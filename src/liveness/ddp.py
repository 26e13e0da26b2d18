"""Distributed-training plumbing: process group, seeding, and rank-identical weights at the end."""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn


def setup_distributed() -> tuple[int, int, torch.device]:
    """(rank, world size, device). Under torchrun, joins the process group (gloo on CPU)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return rank, world, torch.device("cuda", local)
    return rank, world, torch.device("cpu")


def seed_everything(seed: int) -> None:
    # numpy randomness in this project always comes from explicit Generators, never the
    # global state; Python's and torch's global generators are seeded here.
    random.seed(seed)
    torch.manual_seed(seed)


def weights_digest(model: nn.Module) -> str:
    """sha256 over all parameters and buffers: equal on every DDP rank after a step."""
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def finish_ranks(model: nn.Module, out: Path, rank: int) -> None:
    """End of a DDP run: every rank takes rank 0's weights and writes their digest.

    DDP keeps parameters in step; batch-norm running statistics are updated by each rank's
    own last forward, so rank 0's (the ones it saved) are broadcast to all. Each rank writes
    out/weights_rank{rank}.sha256, then waits for the others.
    """
    for buf in model.buffers():
        dist.broadcast(buf, src=0)
    (out / f"weights_rank{rank}.sha256").write_text(weights_digest(model) + "\n")
    dist.barrier()
