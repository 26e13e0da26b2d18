"""Tests of the distributed-training plumbing (liveness.ddp); two real ranks: test_train.py."""

from __future__ import annotations

import random

import pytest
import torch

from liveness.ddp import seed_everything, setup_distributed, weights_digest
from liveness.model import LivenessNet

from .conftest import TINY


def test_single_process_needs_no_process_group(monkeypatch: pytest.MonkeyPatch) -> None:
    for k in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(k, raising=False)
    rank, world, device = setup_distributed()
    assert (rank, world) == (0, 1) and not torch.distributed.is_initialized()
    assert device.type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_seed_everything_repeats_python_and_torch_draws() -> None:
    seed_everything(3)
    a = (random.random(), torch.rand(3))
    seed_everything(3)
    b = (random.random(), torch.rand(3))
    assert a[0] == b[0] and torch.equal(a[1], b[1])


def test_weights_digest_covers_parameters_and_buffers() -> None:
    torch.manual_seed(0)
    m1 = LivenessNet(TINY)
    torch.manual_seed(0)
    m2 = LivenessNet(TINY)
    d = weights_digest(m1)
    assert d == weights_digest(m2) and len(d) == 64
    buf = next(b for n, b in m2.named_buffers() if n.endswith("running_mean"))
    buf.add_(1.0)  # a batch-norm statistic that one rank updated on its own
    assert weights_digest(m2) != d
